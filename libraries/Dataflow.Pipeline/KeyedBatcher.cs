using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Dataflow.Pipeline;

/// <summary>
/// Groups transformed messages into one batch per key and writes each batch to an <see cref="IBatchSink{T}"/>
/// when it reaches <see cref="BatchingOptions.BatchSize"/> or when <see cref="BatchingOptions.FlushInterval"/> has
/// passed since the batch's first message — per key, so a hot key never postpones a cold key's flush. After a
/// write the batch's messages are acked; failed items are dead-lettered (or nacked); a failed write nacks all.
/// </summary>
public sealed class KeyedBatcher<T> : IAsyncDisposable
{
    private readonly IBatchSink<T> _sink;
    private readonly IDeadLetterSink? _deadLetters;
    private readonly BatchingOptions _options;
    private readonly PipelineMetrics _metrics;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, PendingBatch> _pending = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _firstPending = new(0, 1);
    private readonly CancellationTokenSource _stopTimer = new();
    private readonly CancellationToken _flushToken;
    private readonly Task _timerLoop;
    private bool _stopped;

    /// <param name="flushToken">Cancels writes in progress (the pipeline's hard stop).</param>
    public KeyedBatcher(
        IBatchSink<T> sink,
        BatchingOptions options,
        PipelineMetrics metrics,
        ILogger logger,
        IDeadLetterSink? deadLetters = null,
        TimeProvider? timeProvider = null,
        CancellationToken flushToken = default)
    {
        ArgumentNullException.ThrowIfNull(sink);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(logger);
        var errors = options.Validate("Batching").ToList();
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", errors), nameof(options));
        }

        _sink = sink;
        _options = options;
        _metrics = metrics;
        _logger = logger;
        _deadLetters = deadLetters;
        _time = timeProvider ?? TimeProvider.System;
        _flushToken = flushToken;
        _timerLoop = Task.Run(RunTimerAsync, CancellationToken.None);
    }

    /// <summary>Messages waiting in batches.</summary>
    public int PendingCount
    {
        get
        {
            lock (_lock)
            {
                return _pending.Values.Sum(b => b.Items.Count);
            }
        }
    }

    /// <summary>Adds a message; when its key's batch is full, writes that batch before returning.</summary>
    public async ValueTask AddAsync(string key, Message message, T value, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(message);
        List<BatchItem<T>>? full = null;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_stopped, this);
            if (!_pending.TryGetValue(key, out var batch))
            {
                batch = new PendingBatch(_time.GetUtcNow() + _options.FlushInterval, _options.BatchSize);
                _pending.Add(key, batch);
                if (_pending.Count == 1 && _firstPending.CurrentCount == 0)
                {
                    _firstPending.Release();
                }
            }

            batch.Items.Add(new BatchItem<T>(message, value));
            if (batch.Items.Count >= _options.BatchSize)
            {
                _pending.Remove(key);
                full = batch.Items;
            }
        }

        if (full is not null)
        {
            await FlushAsync(key, full, cancellationToken);
        }
    }

    /// <summary>Stops the age timer and writes every pending batch (the shutdown flush).</summary>
    public async Task FlushAllAsync(CancellationToken cancellationToken)
    {
        await StopTimerAsync();
        List<(string Key, List<BatchItem<T>> Items)> all;
        lock (_lock)
        {
            _stopped = true;
            all = _pending.Select(p => (p.Key, p.Value.Items)).ToList();
            _pending.Clear();
        }

        await Task.WhenAll(all.Select(b => FlushAsync(b.Key, b.Items, cancellationToken)));
    }

    public async ValueTask DisposeAsync()
    {
        await FlushAllAsync(_flushToken);
        _stopTimer.Dispose();
        _firstPending.Dispose();
    }

    private async Task StopTimerAsync()
    {
        if (!_stopTimer.IsCancellationRequested)
        {
            await _stopTimer.CancelAsync();
        }

        await _timerLoop;
    }

    private async Task RunTimerAsync()
    {
        var stop = _stopTimer.Token;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                DateTimeOffset? earliest = null;
                lock (_lock)
                {
                    foreach (var batch in _pending.Values)
                    {
                        if (earliest is null || batch.Deadline < earliest)
                        {
                            earliest = batch.Deadline;
                        }
                    }
                }

                if (earliest is null)
                {
                    await _firstPending.WaitAsync(stop);
                    continue;
                }

                var delay = earliest.Value - _time.GetUtcNow();
                if (delay > TimeSpan.Zero)
                {
                    await Task.Delay(delay, _time, stop);
                }

                var now = _time.GetUtcNow();
                List<(string Key, List<BatchItem<T>> Items)> due = [];
                lock (_lock)
                {
                    foreach (var (key, batch) in _pending)
                    {
                        if (batch.Deadline <= now)
                        {
                            due.Add((key, batch.Items));
                        }
                    }

                    foreach (var (key, _) in due)
                    {
                        _pending.Remove(key);
                    }
                }

                await Task.WhenAll(due.Select(b => FlushAsync(b.Key, b.Items, _flushToken)));
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private async Task FlushAsync(string key, List<BatchItem<T>> items, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        BatchWriteResult result;
        try
        {
            result = await _sink.WriteBatchAsync(key, items, cancellationToken);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            _logger.LogWarning(ex, "Writing batch {BatchKey} of {Count} messages failed; nacking them", key, items.Count);
            await Task.WhenAll(items.Select(item => SettleAsync(item.Message, ack: false)));
            return;
        }

        _metrics.BatchFlushed(items.Count, Stopwatch.GetElapsedTime(started));
        var failed = result.Failures.Count == 0 ? null : new Dictionary<int, string>();
        foreach (var failure in result.Failures)
        {
            failed![failure.Index] = failure.Reason;
        }

        // Settled concurrently: a source may batch its acknowledgements, so one at a time would wait per message.
        await Task.WhenAll(items.Select((item, i) => failed is not null && failed.TryGetValue(i, out var reason)
            ? DeadLetterAsync(item.Message, reason, cancellationToken)
            : SettleAsync(item.Message, ack: true)));
    }

    private async Task DeadLetterAsync(Message message, string reason, CancellationToken cancellationToken)
    {
        if (_deadLetters is null)
        {
            _logger.LogWarning("Message {MessageId} was rejected by the sink ({Reason}); nacking (no dead-letter destination)", message.Id, reason);
            await SettleAsync(message, ack: false);
            return;
        }

        try
        {
            await _deadLetters.DeadLetterAsync(message, reason, cancellationToken);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            _logger.LogWarning(ex, "Dead-lettering message {MessageId} failed; nacking", message.Id);
            await SettleAsync(message, ack: false);
            return;
        }

        _metrics.DeadLettered();
        await SettleAsync(message, ack: true);
    }

    private async Task SettleAsync(Message message, bool ack)
    {
        try
        {
            _ = ack ? await message.AckAsync(CancellationToken.None) : await message.NackAsync(CancellationToken.None);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            _logger.LogWarning(ex, "Settling message {MessageId} failed; the source redelivers it", message.Id);
        }
    }

    private sealed class PendingBatch(DateTimeOffset deadline, int capacity)
    {
        public DateTimeOffset Deadline { get; } = deadline;

        public List<BatchItem<T>> Items { get; } = new(capacity);
    }
}
