using System.Collections.Concurrent;
using System.Threading.Channels;
using Dataflow.Google.Core;
using Microsoft.Extensions.Logging;

namespace Dataflow.Google.PubSub;

public sealed record SubscriberSettings
{
    /// <summary>Pull requests kept open at once.</summary>
    public int ConcurrentPulls { get; init; } = 2;

    /// <summary>Messages asked for per pull (Pub/Sub returns at most 1000).</summary>
    public int MaxMessagesPerPull { get; init; } = 1000;

    /// <summary>Flow control: no pull is made while this many messages are unacknowledged.</summary>
    public long MaxOutstandingMessages { get; init; } = 1000;

    /// <summary>Flow control: no pull is made while this many bytes are unacknowledged.</summary>
    public long MaxOutstandingBytes { get; init; } = 100 * 1024 * 1024;

    /// <summary>The ack deadline set by each renewal while a message is being handled (10–600 s).</summary>
    public TimeSpan LeaseDeadline { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Leases are not renewed beyond this age; the message is then redelivered.</summary>
    public TimeSpan MaxTotalLeaseDuration { get; init; } = TimeSpan.FromMinutes(60);

    /// <summary>Acks, nacks and lease renewals are gathered this long into one request per kind.</summary>
    public TimeSpan AckBatchDelay { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Long-polling pulls (the server holds an empty pull open until messages arrive). Null means: on for
    /// Google Cloud, off for the emulator, which keeps handing messages to a pull its client has abandoned
    /// (so a stopped subscriber would swallow messages until their deadline); without long polling, idle
    /// pulls back off up to <see cref="MaxIdlePollInterval"/>.
    /// </summary>
    public bool? LongPolling { get; init; }

    /// <summary>Longest wait between empty pulls when not long-polling.</summary>
    public TimeSpan MaxIdlePollInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>On stop, in-flight handlers get this long to finish; what is left is nacked.</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(30);

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(ConcurrentPulls, 1, nameof(ConcurrentPulls));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxMessagesPerPull, 1, nameof(MaxMessagesPerPull));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxMessagesPerPull, 1000, nameof(MaxMessagesPerPull));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxOutstandingMessages, 1, nameof(MaxOutstandingMessages));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxOutstandingBytes, 1, nameof(MaxOutstandingBytes));
        ArgumentOutOfRangeException.ThrowIfLessThan(LeaseDeadline, TimeSpan.FromSeconds(10), nameof(LeaseDeadline));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(LeaseDeadline, TimeSpan.FromSeconds(600), nameof(LeaseDeadline));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxTotalLeaseDuration, LeaseDeadline, nameof(MaxTotalLeaseDuration));
        ArgumentOutOfRangeException.ThrowIfLessThan(AckBatchDelay, TimeSpan.Zero, nameof(AckBatchDelay));
        ArgumentOutOfRangeException.ThrowIfLessThan(ShutdownTimeout, TimeSpan.Zero, nameof(ShutdownTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxIdlePollInterval, TimeSpan.FromMilliseconds(1), nameof(MaxIdlePollInterval));
    }
}

public enum AckReply
{
    Ack,
    Nack,
}

/// <summary>A pulled message leased to this process until it is acked or nacked (first call wins; later calls are no-ops).</summary>
public sealed class PubSubReceivedMessage
{
    private readonly PubSubSubscriber _owner;
    private int _settled;

    internal PubSubReceivedMessage(PubSubSubscriber owner, PubSubPulledMessage pulled, long receivedAt)
    {
        _owner = owner;
        AckId = pulled.AckId;
        Message = pulled.Message;
        DeliveryAttempt = pulled.DeliveryAttempt;
        Size = pulled.Message.Size;
        ReceivedAt = receivedAt;
    }

    public PubSubMessage Message { get; }

    public string AckId { get; }

    /// <summary>Set when the subscription has a dead-letter policy: 1 on first delivery.</summary>
    public int? DeliveryAttempt { get; }

    internal int Size { get; }

    internal long ReceivedAt { get; }

    /// <summary>When the lease loop last renewed this message (Environment.TickCount64), touched by that loop only.</summary>
    internal long? LastRenewedAt { get; set; }

    internal bool IsSettled => Volatile.Read(ref _settled) != 0;

    /// <summary>Acknowledges the message; completes once the (batched) acknowledge request has been sent.</summary>
    public Task AckAsync(CancellationToken cancellationToken = default) =>
        TrySettle() ? _owner.EnqueueAsync(AckKind.Ack, this, cancellationToken) : Task.CompletedTask;

    /// <summary>Returns the message for redelivery (ack deadline 0); completes once the request has been sent.</summary>
    public Task NackAsync(CancellationToken cancellationToken = default) =>
        TrySettle() ? _owner.EnqueueAsync(AckKind.Nack, this, cancellationToken) : Task.CompletedTask;

    internal bool TrySettle()
    {
        if (Interlocked.Exchange(ref _settled, 1) != 0)
        {
            return false;
        }

        _owner.OnSettled(this);
        return true;
    }
}

internal enum AckKind
{
    Ack,
    Nack,
    Extend,
}

/// <summary>
/// Pulls one subscription with several concurrent pulls under flow control, keeps every unsettled message's
/// lease alive with modifyAckDeadline, and batches acks and nacks. Consume <see cref="Messages"/> (a pipeline
/// reads it like any channel and settles each message) or call <see cref="RunAsync"/> with a handler.
/// <see cref="StopAsync"/> stops pulling, lets handlers finish within <see cref="SubscriberSettings.ShutdownTimeout"/>,
/// nacks what is left and flushes pending acks.
/// </summary>
public sealed class PubSubSubscriber : IAsyncDisposable
{
    private readonly PubSubClient _client;
    private readonly SubscriberSettings _settings;
    private readonly ILogger _logger;
    private readonly FlowController _flow;
    private readonly Channel<PubSubReceivedMessage> _messages = Channel.CreateUnbounded<PubSubReceivedMessage>();
    private readonly Channel<AckOperation> _acks = Channel.CreateUnbounded<AckOperation>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<string, PubSubReceivedMessage> _outstanding = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopPulling = new();
    private readonly CancellationTokenSource _stopLeasing = new();
    private readonly CancellationTokenSource _abortHandlers = new();
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly object _lifecycle = new();
    private Task[] _pullers = [];
    private Task _leaseLoop = Task.CompletedTask;
    private Task _ackLoop = Task.CompletedTask;
    private Task? _stopTask;
    private bool _started;

    internal PubSubSubscriber(PubSubClient client, string subscription, SubscriberSettings settings)
    {
        settings.Validate();
        _client = client;
        _settings = settings;
        SubscriptionName = client.SubscriptionName(subscription);
        _logger = client.LoggerFactory.CreateLogger<PubSubSubscriber>();
        _flow = new FlowController(settings.MaxOutstandingMessages, settings.MaxOutstandingBytes);
    }

    public string SubscriptionName { get; }

    /// <summary>Received messages; completes after <see cref="StopAsync"/>, or faults when pulling fails permanently.</summary>
    public ChannelReader<PubSubReceivedMessage> Messages => _messages.Reader;

    /// <summary>Completes when the subscriber has stopped; faults with the error that stopped it.</summary>
    public Task Completion => _completion.Task;

    /// <summary>Messages received and not yet acked or nacked.</summary>
    public int OutstandingCount => _outstanding.Count;

    /// <summary>Starts pulling in the background; returns at once.</summary>
    public void Start()
    {
        lock (_lifecycle)
        {
            if (_started)
            {
                throw new InvalidOperationException("the subscriber has already been started");
            }

            _started = true;
            _ackLoop = Task.Run(AckLoopAsync);
            _leaseLoop = Task.Run(LeaseLoopAsync);
            _pullers = [.. Enumerable.Range(0, _settings.ConcurrentPulls).Select(_ => Task.Run(PullLoopAsync))];
        }
    }

    /// <summary>
    /// Starts the subscriber and hands every message to <paramref name="handler"/> on up to
    /// <paramref name="maxConcurrentHandlers"/> concurrent calls until <paramref name="cancellationToken"/> fires,
    /// then stops gracefully. A handler that throws nacks its message. The token given to the handler fires
    /// when the shutdown timeout expires.
    /// </summary>
    public async Task RunAsync(Func<PubSubReceivedMessage, CancellationToken, Task<AckReply>> handler, int maxConcurrentHandlers, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(handler);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxConcurrentHandlers, 1);
        Start();
        var workers = Enumerable.Range(0, maxConcurrentHandlers).Select(_ => Task.Run(() => HandleLoopAsync(handler))).ToArray();
        try
        {
            await Completion.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Normal shutdown request.
        }
        finally
        {
            await StopAsync(CancellationToken.None);
            await Task.WhenAll(workers);
        }

        await Completion;
    }

    /// <summary>Stops gracefully (idempotent): stop pulling, wait for handlers, nack the rest, flush acks.</summary>
    public Task StopAsync(CancellationToken cancellationToken = default)
    {
        lock (_lifecycle)
        {
            _stopTask ??= StopCoreAsync();
        }

        return _stopTask.WaitAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None);
        try
        {
            await Completion;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Already observed through Completion/Messages by the owner; disposal must not throw.
        }

        _stopPulling.Dispose();
        _stopLeasing.Dispose();
        _abortHandlers.Dispose();
    }

    internal void OnSettled(PubSubReceivedMessage message)
    {
        if (_outstanding.TryRemove(message.AckId, out _))
        {
            _flow.Release(message.Size);
        }
    }

    internal Task EnqueueAsync(AckKind kind, PubSubReceivedMessage message, CancellationToken cancellationToken)
    {
        var operation = new AckOperation(kind, message.AckId, kind == AckKind.Extend ? null : new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!_acks.Writer.TryWrite(operation))
        {
            // Acks after the final flush cannot be sent; the message will be redelivered.
            return Task.FromException(new InvalidOperationException($"the subscriber for {SubscriptionName} has stopped; the message will be redelivered"));
        }

        return operation.Sent?.Task.WaitAsync(cancellationToken) ?? Task.CompletedTask;
    }

    private async Task StopCoreAsync()
    {
        bool started;
        lock (_lifecycle)
        {
            started = _started;
            _started = true;
        }

        await _stopPulling.CancelAsync();
        await Task.WhenAll(_pullers);
        _messages.Writer.TryComplete();

        if (started)
        {
            var deadline = DateTime.UtcNow + _settings.ShutdownTimeout;
            while (!_outstanding.IsEmpty && DateTime.UtcNow < deadline)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(20));
            }

            await _abortHandlers.CancelAsync();
            foreach (var message in _outstanding.Values)
            {
                if (message.TrySettle())
                {
                    _acks.Writer.TryWrite(new AckOperation(AckKind.Nack, message.AckId, null));
                }
            }
        }

        _acks.Writer.TryComplete();
        await _stopLeasing.CancelAsync();
        await Task.WhenAll(_ackLoop, _leaseLoop);
        _completion.TrySetResult();
    }

    private async Task HandleLoopAsync(Func<PubSubReceivedMessage, CancellationToken, Task<AckReply>> handler)
    {
        while (true)
        {
            PubSubReceivedMessage? message;
            try
            {
                if (!await _messages.Reader.WaitToReadAsync())
                {
                    return;
                }

                if (!_messages.Reader.TryRead(out message))
                {
                    continue;
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The channel faulted: pulling failed permanently, which Completion reports.
                return;
            }

            AckReply reply;
            try
            {
                reply = await handler(message, _abortHandlers.Token);
            }
            catch (Exception ex)
            {
                _logger.LogWarning(ex, "Handler failed for message {MessageId} from {Subscription}; nacking", message.Message.MessageId, SubscriptionName);
                reply = AckReply.Nack;
            }

            try
            {
                await (reply == AckReply.Ack ? message.AckAsync() : message.NackAsync());
            }
            catch (Exception ex)
            {
                _logger.LogWarning(ex, "Could not settle message {MessageId} from {Subscription}; it will be redelivered", message.Message.MessageId, SubscriptionName);
            }
        }
    }

    private async Task PullLoopAsync()
    {
        var stop = _stopPulling.Token;
        var longPolling = _settings.LongPolling ?? !_client.Transport.Endpoint.IsEmulator;
        var failures = 0;
        var idle = TimeSpan.Zero;
        while (!stop.IsCancellationRequested)
        {
            IReadOnlyList<PubSubPulledMessage> pulled;
            var reserved = 0;
            try
            {
                if (idle > TimeSpan.Zero)
                {
                    await Task.Delay(idle, stop);
                }

                while ((reserved = _flow.TryReserve(_settings.MaxMessagesPerPull)) == 0)
                {
                    await _flow.WaitForRoomAsync(stop);
                }

                pulled = await _client.PullAsync(SubscriptionName, reserved, stop, returnImmediately: !longPolling);
                failures = 0;
                idle = longPolling || pulled.Count > 0
                    ? TimeSpan.Zero
                    : TimeSpan.FromTicks(Math.Min(_settings.MaxIdlePollInterval.Ticks, Math.Max(TimeSpan.TicksPerMillisecond * 5, idle.Ticks * 2)));
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                _flow.CompleteReservation(reserved, 0, 0);
                return;
            }
            catch (Exception ex) when (TransientErrors.IsTransient(ex))
            {
                _flow.CompleteReservation(reserved, 0, 0);
                failures++;
                idle = _client.Transport.Retry.GetDelay(failures, Random.Shared.NextDouble());
                _logger.LogWarning(ex, "Pull from {Subscription} failed ({Failures} in a row); retrying in {Delay}", SubscriptionName, failures, idle);
                continue;
            }
            catch (Exception ex)
            {
                _flow.CompleteReservation(reserved, 0, 0);
                _logger.LogError(ex, "Pull from {Subscription} failed permanently; stopping the subscriber", SubscriptionName);
                _completion.TrySetException(ex);
                _messages.Writer.TryComplete(ex);
                _ = StopAsync(CancellationToken.None);
                return;
            }

            long bytes = 0;
            foreach (var item in pulled)
            {
                bytes += item.Message.Size;
            }

            _flow.CompleteReservation(reserved, pulled.Count, bytes);

            var now = Environment.TickCount64;
            foreach (var item in pulled)
            {
                var message = new PubSubReceivedMessage(this, item, now);
                _outstanding[message.AckId] = message;
                if (!_messages.Writer.TryWrite(message))
                {
                    // Stopping: hand it back at once rather than letting it wait for its deadline.
                    if (message.TrySettle())
                    {
                        _acks.Writer.TryWrite(new AckOperation(AckKind.Nack, message.AckId, null));
                    }
                }
            }
        }
    }

    private async Task LeaseLoopAsync()
    {
        // A pulled message starts with the subscription's deadline, which is unknown here but at least 10 s:
        // the first renewal comes within 5 s of receipt (messages settled sooner cost no request at all),
        // later ones at a third of our own lease so that two renewals may fail before a deadline passes.
        var firstRenewal = (long)Math.Min(_settings.LeaseDeadline.TotalMilliseconds, 10_000) / 2;
        var renewal = (long)_settings.LeaseDeadline.TotalMilliseconds / 3;
        var maxAge = (long)_settings.MaxTotalLeaseDuration.TotalMilliseconds;
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(Math.Min(1000, firstRenewal / 2)));
        try
        {
            while (await timer.WaitForNextTickAsync(_stopLeasing.Token))
            {
                var now = Environment.TickCount64;
                foreach (var message in _outstanding.Values)
                {
                    var due = message.LastRenewedAt is { } renewed ? renewed + renewal : message.ReceivedAt + firstRenewal;
                    if (!message.IsSettled && now >= due && now - message.ReceivedAt < maxAge)
                    {
                        message.LastRenewedAt = now;
                        _acks.Writer.TryWrite(new AckOperation(AckKind.Extend, message.AckId, null));
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }
    }

    private async Task AckLoopAsync()
    {
        const int maxIdsPerRequest = 1000;
        var reader = _acks.Reader;
        var acks = new List<AckOperation>();
        var nacks = new List<AckOperation>();
        var extends = new HashSet<string>(StringComparer.Ordinal);
        var leaseSeconds = (int)_settings.LeaseDeadline.TotalSeconds;
        while (await reader.WaitToReadAsync())
        {
            if (_settings.AckBatchDelay > TimeSpan.Zero && !_stopPulling.IsCancellationRequested)
            {
                await Task.Delay(_settings.AckBatchDelay);
            }

            while (reader.TryRead(out var operation))
            {
                switch (operation.Kind)
                {
                    case AckKind.Ack:
                        acks.Add(operation);
                        break;
                    case AckKind.Nack:
                        nacks.Add(operation);
                        break;
                    default:
                        extends.Add(operation.AckId);
                        break;
                }
            }

            // A renewal for a message settled meanwhile would be wasted (or, for a nack, undo it).
            extends.RemoveWhere(id => !_outstanding.ContainsKey(id));
            var sends = new List<Task>();
            foreach (var chunk in acks.Chunk(maxIdsPerRequest))
            {
                sends.Add(SendAsync(chunk, ids => _client.AcknowledgeAsync(SubscriptionName, ids, CancellationToken.None), "acknowledge"));
            }

            foreach (var chunk in nacks.Chunk(maxIdsPerRequest))
            {
                sends.Add(SendAsync(chunk, ids => _client.ModifyAckDeadlineAsync(SubscriptionName, ids, 0, CancellationToken.None), "nack"));
            }

            foreach (var chunk in extends.Chunk(maxIdsPerRequest))
            {
                sends.Add(SendAsync(
                    [.. chunk.Select(id => new AckOperation(AckKind.Extend, id, null))],
                    ids => _client.ModifyAckDeadlineAsync(SubscriptionName, ids, leaseSeconds, CancellationToken.None),
                    "lease extension"));
            }

            await Task.WhenAll(sends);
            acks.Clear();
            nacks.Clear();
            extends.Clear();
        }
    }

    private async Task SendAsync(AckOperation[] operations, Func<IReadOnlyList<string>, Task> send, string what)
    {
        var ids = new string[operations.Length];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = operations[i].AckId;
        }

        try
        {
            await send(ids);
            foreach (var operation in operations)
            {
                operation.Sent?.TrySetResult();
            }
        }
        catch (Exception ex)
        {
            _logger.LogWarning(ex, "Pub/Sub {What} for {Count} messages of {Subscription} failed", what, ids.Length, SubscriptionName);
            foreach (var operation in operations)
            {
                operation.Sent?.TrySetException(ex);
            }
        }
    }

    private sealed record AckOperation(AckKind Kind, string AckId, TaskCompletionSource? Sent);
}
