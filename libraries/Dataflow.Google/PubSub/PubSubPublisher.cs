using System.Collections.Concurrent;
using System.Threading.Channels;
using Dataflow.Google.Core;

namespace Dataflow.Google.PubSub;

public sealed record PublisherSettings
{
    /// <summary>A batch is sent when it holds this many messages (Pub/Sub allows at most 1000 per request).</summary>
    public int MaxMessagesPerBatch { get; init; } = 100;

    /// <summary>A batch is sent when it reaches this many bytes (Pub/Sub allows at most 10 MB per request).</summary>
    public long MaxBytesPerBatch { get; init; } = 1_000_000;

    /// <summary>A non-full batch is sent this long after its first message arrived.</summary>
    public TimeSpan DelayThreshold { get; init; } = TimeSpan.FromMilliseconds(10);

    /// <summary>Publish requests in flight at once.</summary>
    public int MaxConcurrentRequests { get; init; } = 32;

    /// <summary>Flow control: <see cref="PubSubPublisher.PublishAsync(PubSubMessage, CancellationToken)"/> waits while this many messages are unpublished.</summary>
    public long MaxOutstandingMessages { get; init; } = 10_000;

    /// <summary>Flow control: <see cref="PubSubPublisher.PublishAsync(PubSubMessage, CancellationToken)"/> waits while this many bytes are unpublished.</summary>
    public long MaxOutstandingBytes { get; init; } = 100 * 1024 * 1024;

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxMessagesPerBatch, 1, nameof(MaxMessagesPerBatch));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxMessagesPerBatch, 1000, nameof(MaxMessagesPerBatch));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxBytesPerBatch, 1, nameof(MaxBytesPerBatch));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxBytesPerBatch, MaxRequestBytes, nameof(MaxBytesPerBatch));
        ArgumentOutOfRangeException.ThrowIfLessThan(DelayThreshold, TimeSpan.Zero, nameof(DelayThreshold));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxConcurrentRequests, 1, nameof(MaxConcurrentRequests));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxOutstandingMessages, 1, nameof(MaxOutstandingMessages));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxOutstandingBytes, 1, nameof(MaxOutstandingBytes));
    }

    internal const long MaxRequestBytes = 10_000_000;
}

/// <summary>Publishing for an ordering key is paused because an earlier publish with that key failed.</summary>
public sealed class OrderingKeyPausedException(string orderingKey, Exception? cause)
    : Exception($"publishing with ordering key '{orderingKey}' is paused after a failed publish; call ResumePublish to continue", cause)
{
    public string OrderingKey { get; } = orderingKey;
}

/// <summary>
/// Batching publisher for one topic. Messages are grouped per ordering key and sent when a batch reaches
/// <see cref="PublisherSettings.MaxMessagesPerBatch"/> messages, <see cref="PublisherSettings.MaxBytesPerBatch"/>
/// bytes or <see cref="PublisherSettings.DelayThreshold"/> age. Unordered batches go out concurrently; batches
/// of one ordering key go out one after another, and a failure pauses that key (as Google's clients do) until
/// <see cref="ResumePublish"/>. Transient errors are retried by the transport. Disposal flushes.
/// </summary>
public sealed class PubSubPublisher : IAsyncDisposable
{
    private readonly PubSubClient _client;
    private readonly PublisherSettings _settings;
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly FlowController _flow;
    private readonly SemaphoreSlim _requests;
    private readonly ConcurrentDictionary<string, Exception> _pausedKeys = new(StringComparer.Ordinal);
    private readonly HashSet<Task> _inFlight = [];
    private readonly Dictionary<string, Task> _keyTails = new(StringComparer.Ordinal);
    private readonly Task _loop;

    internal PubSubPublisher(PubSubClient client, string topic, PublisherSettings settings)
    {
        settings.Validate();
        _client = client;
        _settings = settings;
        TopicName = client.TopicName(topic);
        _flow = new FlowController(settings.MaxOutstandingMessages, settings.MaxOutstandingBytes);
        _requests = new SemaphoreSlim(settings.MaxConcurrentRequests);
        _loop = Task.Run(BatchLoopAsync);
    }

    public string TopicName { get; }

    /// <summary>
    /// Queues the message and completes with its server-assigned id once its batch is published. Waits first
    /// while flow-control limits are reached. Cancelling stops the wait, not a publish already queued.
    /// </summary>
    /// <remarks>
    /// The returned tasks of one batch complete one after another on the thread that received the response, running
    /// their awaiters' continuations there: one thread-pool hop per batch instead of one per message. A continuation
    /// that blocks delays the rest of its batch, not other batches.
    /// </remarks>
    public Task<string> PublishAsync(PubSubMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.Data.IsEmpty && (message.Attributes is null || message.Attributes.Count == 0))
        {
            throw new ArgumentException("a Pub/Sub message needs data or at least one attribute", nameof(message));
        }

        var size = message.Size;
        if (size > PublisherSettings.MaxRequestBytes)
        {
            throw new ArgumentException($"the message is {size} bytes; Pub/Sub accepts at most {PublisherSettings.MaxRequestBytes}", nameof(message));
        }

        var key = message.OrderingKey ?? "";
        if (key.Length > 0 && _pausedKeys.TryGetValue(key, out var cause))
        {
            return Task.FromException<string>(new OrderingKeyPausedException(key, cause));
        }

        var acquire = _flow.AcquireAsync(size, cancellationToken);
        if (!acquire.IsCompletedSuccessfully)
        {
            return EnqueueAfterAcquireAsync(acquire, message, size, cancellationToken);
        }

        acquire.GetAwaiter().GetResult();
        return Enqueue(message, size, cancellationToken);
    }

    private async Task<string> EnqueueAfterAcquireAsync(ValueTask acquire, PubSubMessage message, int size, CancellationToken cancellationToken)
    {
        await acquire;
        return await Enqueue(message, size, cancellationToken);
    }

    private Task<string> Enqueue(PubSubMessage message, int size, CancellationToken cancellationToken)
    {
        var pending = new Pending(message, size);
        // Registered before the batch loop can see the message, so a completion always finds it to dispose.
        pending.CancelWaitOn(cancellationToken);
        if (!_queue.Writer.TryWrite(pending))
        {
            _flow.Release(size);
            pending.Fail(new InvalidOperationException($"the publisher for {TopicName} is shut down"));
        }

        return pending.Task;
    }

    public Task<string> PublishAsync(ReadOnlyMemory<byte> data, IReadOnlyDictionary<string, string>? attributes = null, string? orderingKey = null, CancellationToken cancellationToken = default) =>
        PublishAsync(new PubSubMessage { Data = data, Attributes = attributes, OrderingKey = orderingKey }, cancellationToken);

    /// <summary>Lets publishing with <paramref name="orderingKey"/> continue after a failure paused it.</summary>
    public void ResumePublish(string orderingKey) => _pausedKeys.TryRemove(orderingKey, out _);

    /// <summary>Sends every queued message now and waits until all publishes in flight have finished.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        var marker = new Pending(null, 0);
        if (!_queue.Writer.TryWrite(marker))
        {
            await _loop.WaitAsync(cancellationToken);
            await WhenInFlightDone().WaitAsync(cancellationToken);
            return;
        }

        await marker.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Stops accepting messages, publishes everything queued and waits for it (or for cancellation).</summary>
    public async Task ShutdownAsync(CancellationToken cancellationToken = default)
    {
        _queue.Writer.TryComplete();
        await _loop.WaitAsync(cancellationToken);
        await WhenInFlightDone().WaitAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await ShutdownAsync(CancellationToken.None);
        _requests.Dispose();
    }

    private async Task BatchLoopAsync()
    {
        var reader = _queue.Reader;
        var batches = new Dictionary<string, Batch>(StringComparer.Ordinal);
        Task<bool>? waitForMore = null;
        while (true)
        {
            while (reader.TryRead(out var pending))
            {
                if (pending.Message is null)
                {
                    DispatchAll(batches);
                    var flushed = pending;
                    _ = WhenInFlightDone().ContinueWith(_ => flushed.Complete(""), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                    continue;
                }

                var key = pending.Message.OrderingKey ?? "";
                if (!batches.TryGetValue(key, out var batch))
                {
                    batch = new Batch(key, DateTime.UtcNow + _settings.DelayThreshold);
                    batches[key] = batch;
                }
                else if (batch.Bytes + pending.Size > _settings.MaxBytesPerBatch)
                {
                    Dispatch(batch);
                    batch = new Batch(key, DateTime.UtcNow + _settings.DelayThreshold);
                    batches[key] = batch;
                }

                batch.Add(pending);
                if (batch.Items.Count >= _settings.MaxMessagesPerBatch || batch.Bytes >= _settings.MaxBytesPerBatch)
                {
                    Dispatch(batch);
                    batches.Remove(key);
                }
            }

            waitForMore ??= reader.WaitToReadAsync().AsTask();
            if (batches.Count > 0)
            {
                var now = DateTime.UtcNow;
                var due = batches.Values.Min(b => b.Deadline);
                if (due <= now)
                {
                    foreach (var batch in batches.Values.Where(b => b.Deadline <= now).ToList())
                    {
                        Dispatch(batch);
                        batches.Remove(batch.Key);
                    }

                    continue;
                }

                await Task.WhenAny(waitForMore, Task.Delay(due - now));
                if (!waitForMore.IsCompleted)
                {
                    continue;
                }
            }

            var more = await waitForMore;
            waitForMore = null;
            if (!more)
            {
                DispatchAll(batches);
                return;
            }
        }
    }

    private void DispatchAll(Dictionary<string, Batch> batches)
    {
        foreach (var batch in batches.Values)
        {
            Dispatch(batch);
        }

        batches.Clear();
    }

    private void Dispatch(Batch batch)
    {
        Task send;
        if (batch.Key.Length == 0)
        {
            send = SendAsync(batch, previous: null);
        }
        else
        {
            _keyTails.TryGetValue(batch.Key, out var previous);
            send = SendAsync(batch, previous is { IsCompleted: false } ? previous : null);
            _keyTails[batch.Key] = send;
            if (_keyTails.Count > 1024)
            {
                foreach (var done in _keyTails.Where(p => p.Value.IsCompleted).Select(p => p.Key).ToList())
                {
                    _keyTails.Remove(done);
                }
            }
        }

        lock (_inFlight)
        {
            _inFlight.Add(send);
        }

        _ = send.ContinueWith(
            t =>
            {
                lock (_inFlight)
                {
                    _inFlight.Remove(t);
                }
            },
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private Task WhenInFlightDone()
    {
        lock (_inFlight)
        {
            return Task.WhenAll(_inFlight.ToArray());
        }
    }

    // Never throws: every outcome is delivered through the messages' tasks.
    private async Task SendAsync(Batch batch, Task? previous)
    {
        if (previous is not null)
        {
            await previous;
        }

        if (batch.Key.Length > 0 && _pausedKeys.TryGetValue(batch.Key, out var cause))
        {
            ReleaseFlow(batch);
            Fail(batch, new OrderingKeyPausedException(batch.Key, cause));
            return;
        }

        IReadOnlyList<string> ids;
        await _requests.WaitAsync();
        try
        {
            var messages = new PubSubMessage[batch.Items.Count];
            for (var i = 0; i < messages.Length; i++)
            {
                messages[i] = batch.Items[i].Message!;
            }

            ids = await _client.PublishAsync(TopicName, messages, CancellationToken.None);
        }
        catch (Exception ex)
        {
            if (batch.Key.Length > 0)
            {
                _pausedKeys.TryAdd(batch.Key, ex);
            }

            ReleaseFlow(batch);
            Fail(batch, ex);
            return;
        }
        finally
        {
            _requests.Release();
        }

        // Room first, so continuations that publish again do not wait for it.
        ReleaseFlow(batch);
        for (var i = 0; i < ids.Count; i++)
        {
            batch.Items[i].Complete(ids[i]);
        }
    }

    private void ReleaseFlow(Batch batch)
    {
        foreach (var item in batch.Items)
        {
            _flow.Release(item.Size);
        }
    }

    private static void Fail(Batch batch, Exception exception)
    {
        foreach (var item in batch.Items)
        {
            item.Fail(exception);
        }
    }

    /// <summary>One queued message and its caller's task (continuations run synchronously, see <see cref="PublishAsync(PubSubMessage, CancellationToken)"/>).</summary>
    private sealed class Pending(PubSubMessage? message, int size) : TaskCompletionSource<string>
    {
        private CancellationTokenRegistration _cancelWait;

        public PubSubMessage? Message { get; } = message;

        public int Size { get; } = size;

        /// <summary>Cancellation ends the caller's wait; the message stays queued and is published regardless.</summary>
        public void CancelWaitOn(CancellationToken cancellationToken)
        {
            if (cancellationToken.CanBeCanceled)
            {
                _cancelWait = cancellationToken.UnsafeRegister(static (state, token) => ((Pending)state!).TrySetCanceled(token), this);
            }
        }

        public void Complete(string id)
        {
            _cancelWait.Dispose();
            TrySetResult(id);
        }

        public void Fail(Exception exception)
        {
            _cancelWait.Dispose();
            TrySetException(exception);
        }
    }

    private sealed class Batch(string key, DateTime deadline)
    {
        public string Key { get; } = key;

        public DateTime Deadline { get; } = deadline;

        public List<Pending> Items { get; } = [];

        public long Bytes { get; private set; }

        public void Add(Pending pending)
        {
            Items.Add(pending);
            Bytes += pending.Size + 16; // per-message framing in the request
        }
    }
}
