namespace Dataflow.Google.Core;

/// <summary>
/// Bounds outstanding work by count and bytes. Waiters are admitted in FIFO order; a single item larger than
/// the byte limit is admitted when nothing else is outstanding, so it cannot block forever. Thread-safe.
/// </summary>
public sealed class FlowController
{
    private readonly object _gate = new();
    private readonly LinkedList<Waiter> _waiters = new();
    private long _count;
    private long _bytes;

    public FlowController(long maxCount, long maxBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBytes, 1);
        MaxCount = maxCount;
        MaxBytes = maxBytes;
    }

    public long MaxCount { get; }

    public long MaxBytes { get; }

    public long OutstandingCount
    {
        get
        {
            lock (_gate)
            {
                return _count;
            }
        }
    }

    public long OutstandingBytes
    {
        get
        {
            lock (_gate)
            {
                return _bytes;
            }
        }
    }

    /// <summary>Waits until one item of <paramref name="bytes"/> fits, then counts it as outstanding.</summary>
    public ValueTask AcquireAsync(long bytes, CancellationToken cancellationToken) => EnqueueAsync(bytes, probe: false, cancellationToken);

    /// <summary>Waits until there is room below both limits, without taking any; used before pulling.</summary>
    public ValueTask WaitForRoomAsync(CancellationToken cancellationToken) => EnqueueAsync(0, probe: true, cancellationToken);

    /// <summary>
    /// Reserves up to <paramref name="max"/> count slots (none when full), so concurrent pullers cannot all
    /// ask for the same free room. Turn the reservation into real items with <see cref="CompleteReservation"/>.
    /// </summary>
    public int TryReserve(int max)
    {
        lock (_gate)
        {
            if (_waiters.Count > 0 || _count >= MaxCount || _bytes >= MaxBytes)
            {
                return 0;
            }

            var reserved = (int)Math.Min(max, MaxCount - _count);
            _count += reserved;
            return reserved;
        }
    }

    /// <summary>Keeps <paramref name="usedCount"/> of <paramref name="reserved"/> slots with their bytes; frees the rest
    /// (a surplus beyond the reservation is counted too: it has already arrived).</summary>
    public void CompleteReservation(int reserved, int usedCount, long usedBytes)
    {
        lock (_gate)
        {
            _bytes += usedBytes;
            _count += Math.Max(0, usedCount - reserved);
        }

        // Freeing the unused slots goes through Release so that waiters are woken.
        for (var i = usedCount; i < reserved; i++)
        {
            Release(0);
        }
    }

    public void Release(long bytes)
    {
        List<Waiter>? admitted = null;
        lock (_gate)
        {
            _count--;
            _bytes -= bytes;
            while (_waiters.First is { } first && Fits(first.Value.Bytes, first.Value.Probe))
            {
                _waiters.RemoveFirst();
                Admit(first.Value.Bytes, first.Value.Probe);
                (admitted ??= []).Add(first.Value);
            }
        }

        if (admitted is not null)
        {
            foreach (var waiter in admitted)
            {
                waiter.Registration.Dispose();
                waiter.Completion.TrySetResult();
            }
        }
    }

    private ValueTask EnqueueAsync(long bytes, bool probe, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        cancellationToken.ThrowIfCancellationRequested();
        Waiter waiter;
        lock (_gate)
        {
            if (_waiters.Count == 0 && Fits(bytes, probe))
            {
                Admit(bytes, probe);
                return ValueTask.CompletedTask;
            }

            // The fast path above allocates nothing: the cancellation callback is static and gets the waiter as state
            // (a lambda capturing the token would put a closure on every call, admitted or not).
            waiter = new Waiter(this, bytes, probe, cancellationToken);
            waiter.Node = _waiters.AddLast(waiter);
            waiter.Registration = cancellationToken.Register(static state => ((Waiter)state!).Cancel(), waiter);
        }

        return new ValueTask(waiter.Completion.Task);
    }

    private void Cancel(Waiter waiter)
    {
        lock (_gate)
        {
            if (waiter.Node?.List is null)
            {
                return;
            }

            _waiters.Remove(waiter.Node);
        }

        waiter.Completion.TrySetCanceled(waiter.CancellationToken);
    }

    private bool Fits(long bytes, bool probe) => probe
        ? _count < MaxCount && _bytes < MaxBytes
        : _count == 0 || (_count + 1 <= MaxCount && _bytes + bytes <= MaxBytes);

    private void Admit(long bytes, bool probe)
    {
        if (!probe)
        {
            _count++;
            _bytes += bytes;
        }
    }

    private sealed class Waiter(FlowController owner, long bytes, bool probe, CancellationToken cancellationToken)
    {
        public long Bytes { get; } = bytes;

        public bool Probe { get; } = probe;

        public CancellationToken CancellationToken { get; } = cancellationToken;

        public LinkedListNode<Waiter>? Node { get; set; }

        public TaskCompletionSource Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public CancellationTokenRegistration Registration { get; set; }

        public void Cancel() => owner.Cancel(this);
    }
}
