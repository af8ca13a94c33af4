namespace Dataflow.Pipeline;

/// <summary>
/// Limits outstanding (received, not yet settled) messages and bytes. Waiters are admitted first come, first
/// served; a message larger than the byte limit is admitted alone so it cannot block forever.
/// </summary>
public sealed class FlowController
{
    private readonly Lock _lock = new();
    private readonly LinkedList<Waiter> _waiters = new();
    private readonly long _maxMessages;
    private readonly long _maxBytes;
    private long _messages;
    private long _bytes;

    public FlowController(long maxMessages, long maxBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessages, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBytes, 1);
        _maxMessages = maxMessages;
        _maxBytes = maxBytes;
    }

    public long OutstandingMessages { get { lock (_lock) { return _messages; } } }

    public long OutstandingBytes { get { lock (_lock) { return _bytes; } } }

    public ValueTask AcquireAsync(long bytes, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        cancellationToken.ThrowIfCancellationRequested();
        Waiter waiter;
        lock (_lock)
        {
            if (_waiters.Count == 0 && Fits(bytes))
            {
                _messages++;
                _bytes += bytes;
                return ValueTask.CompletedTask;
            }

            waiter = new Waiter(bytes);
            waiter.Node = _waiters.AddLast(waiter);
        }

        return new ValueTask(WaitAsync(waiter, cancellationToken));
    }

    public void Release(long bytes)
    {
        lock (_lock)
        {
            _messages--;
            _bytes -= bytes;
            while (_waiters.First is { } first && Fits(first.Value.Bytes))
            {
                _waiters.RemoveFirst();
                _messages++;
                _bytes += first.Value.Bytes;
                first.Value.Completion.TrySetResult();
            }
        }
    }

    private bool Fits(long bytes) => _messages < _maxMessages && (_messages == 0 || _bytes + bytes <= _maxBytes);

    private async Task WaitAsync(Waiter waiter, CancellationToken cancellationToken)
    {
        await using var registration = cancellationToken.Register(() =>
        {
            lock (_lock)
            {
                if (waiter.Node?.List is null)
                {
                    return;
                }

                _waiters.Remove(waiter.Node);
            }

            waiter.Completion.TrySetCanceled(cancellationToken);
        });
        await waiter.Completion.Task;
    }

    private sealed class Waiter(long bytes)
    {
        public long Bytes { get; } = bytes;

        public TaskCompletionSource Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public LinkedListNode<Waiter>? Node { get; set; }
    }
}
