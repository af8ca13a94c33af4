using System.Collections.Concurrent;
using System.Threading.Channels;
using Dataflow.Pipeline;

namespace Dataflow.Tests.Unit.Pipeline;

/// <summary>Records how a message was settled.</summary>
internal sealed class RecordingAckHandle : IAckHandle
{
    private readonly TaskCompletionSource<MessageOutcome> _outcome = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<MessageOutcome> Outcome => _outcome.Task;

    public int Settlements { get; private set; }

    public ValueTask AckAsync(CancellationToken cancellationToken)
    {
        Settlements++;
        _outcome.TrySetResult(MessageOutcome.Acked);
        return ValueTask.CompletedTask;
    }

    public ValueTask NackAsync(CancellationToken cancellationToken)
    {
        Settlements++;
        _outcome.TrySetResult(MessageOutcome.Nacked);
        return ValueTask.CompletedTask;
    }
}

internal static class TestMessages
{
    public static (Message Message, RecordingAckHandle Handle) Create(string id, string data = "x", IReadOnlyDictionary<string, string>? attributes = null)
    {
        var handle = new RecordingAckHandle();
        var message = new Message(id, System.Text.Encoding.UTF8.GetBytes(data), attributes ?? new Dictionary<string, string>(), DateTimeOffset.UnixEpoch, handle);
        return (message, handle);
    }
}

/// <summary>A consumer fed by the test; it records what it delivered and what the pipeline refused.</summary>
internal sealed class QueueConsumer : IMessageConsumer
{
    private readonly Channel<Message> _input = Channel.CreateUnbounded<Message>();

    public int Delivered;

    public void Enqueue(Message message) => _input.Writer.TryWrite(message);

    public async Task RunAsync(MessageDelivery deliver, CancellationToken stoppingToken)
    {
        await foreach (var message in _input.Reader.ReadAllAsync(stoppingToken))
        {
            await deliver(message, stoppingToken);
            Interlocked.Increment(ref Delivered);
        }
    }
}

internal sealed class DelegateTransformer<T>(Func<Message, TransformResult<T>> transform) : IMessageTransformer<T>
{
    public ValueTask<TransformResult<T>> TransformAsync(Message message, CancellationToken cancellationToken) =>
        ValueTask.FromResult(transform(message));
}

internal sealed class DelegateProcessor<T>(Func<Message, T, CancellationToken, Task<ProcessOutcome>> process) : IMessageProcessor<T>
{
    public async ValueTask<ProcessOutcome> ProcessAsync(Message message, T value, CancellationToken cancellationToken) =>
        await process(message, value, cancellationToken);
}

/// <summary>A batch sink that records every write and lets the test decide each write's result.</summary>
internal sealed class RecordingSink<T> : IBatchSink<T>
{
    private readonly Channel<(string Key, IReadOnlyList<BatchItem<T>> Items)> _writes = Channel.CreateUnbounded<(string, IReadOnlyList<BatchItem<T>>)>();

    public Func<string, IReadOnlyList<BatchItem<T>>, BatchWriteResult> Result { get; set; } = (_, _) => BatchWriteResult.Success;

    public ConcurrentQueue<(string Key, IReadOnlyList<BatchItem<T>> Items)> Writes { get; } = new();

    public Task<BatchWriteResult> WriteBatchAsync(string batchKey, IReadOnlyList<BatchItem<T>> items, CancellationToken cancellationToken)
    {
        var copy = items.ToList();
        Writes.Enqueue((batchKey, copy));
        try
        {
            return Task.FromResult(Result(batchKey, copy));
        }
        finally
        {
            _writes.Writer.TryWrite((batchKey, copy));
        }
    }

    public async Task<(string Key, IReadOnlyList<BatchItem<T>> Items)> NextWriteAsync() =>
        await _writes.Reader.ReadAsync(TestContext.Current.CancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
}

internal sealed class RecordingDeadLetters : IDeadLetterSink
{
    public ConcurrentQueue<(string MessageId, string Reason)> Received { get; } = new();

    public Task DeadLetterAsync(Message message, string reason, CancellationToken cancellationToken)
    {
        Received.Enqueue((message.Id, reason));
        return Task.CompletedTask;
    }
}

/// <summary>A clock the test advances by hand; timers fire during <see cref="Advance"/>.</summary>
internal sealed class ManualTimeProvider(DateTimeOffset start) : TimeProvider
{
    private readonly Lock _lock = new();
    private readonly List<ManualTimer> _timers = [];
    private DateTimeOffset _now = start;

    public int ActiveTimers
    {
        get
        {
            lock (_lock)
            {
                return _timers.Count(t => t.Due is not null);
            }
        }
    }

    public override DateTimeOffset GetUtcNow()
    {
        lock (_lock)
        {
            return _now;
        }
    }

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => GetUtcNow().UtcTicks;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ManualTimer(this, callback, state);
        lock (_lock)
        {
            _timers.Add(timer);
        }

        timer.Change(dueTime, period);
        return timer;
    }

    public void Advance(TimeSpan by)
    {
        List<ManualTimer> due;
        lock (_lock)
        {
            _now += by;
            due = _timers.Where(t => t.Due <= _now).ToList();
            foreach (var timer in due)
            {
                timer.Due = timer.Period > TimeSpan.Zero && timer.Period != Timeout.InfiniteTimeSpan ? _now + timer.Period : null;
            }
        }

        foreach (var timer in due)
        {
            timer.Fire();
        }
    }

    /// <summary>Waits until the code under test has armed <paramref name="count"/> timers.</summary>
    public async Task WaitForActiveTimersAsync(int count)
    {
        var ct = TestContext.Current.CancellationToken;
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(TimeSpan.FromSeconds(10));
        while (ActiveTimers < count)
        {
            await Task.Delay(5, limit.Token);
        }
    }

    private sealed class ManualTimer(ManualTimeProvider owner, TimerCallback callback, object? state) : ITimer
    {
        public DateTimeOffset? Due { get; set; }

        public TimeSpan Period { get; private set; }

        public void Fire() => callback(state);

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (owner._lock)
            {
                Due = dueTime == Timeout.InfiniteTimeSpan ? null : owner._now + dueTime;
                Period = period;
            }

            return true;
        }

        public void Dispose()
        {
            lock (owner._lock)
            {
                Due = null;
                owner._timers.Remove(this);
            }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
