namespace Dataflow.Mqtt.Protocol;

/// <summary>Hands out unused packet identifiers 1..65535 round-robin, so a recently freed id is not reused at once.</summary>
internal sealed class MqttPacketIdPool
{
    private readonly bool[] _inUse = new bool[65_536];
    private readonly Lock _lock = new();
    private int _next = 1;
    private int _count;

    public ushort Allocate()
    {
        lock (_lock)
        {
            if (_count == 65_535)
            {
                throw new InvalidOperationException("All 65535 MQTT packet identifiers are in use.");
            }

            while (_inUse[_next])
            {
                _next = _next == 65_535 ? 1 : _next + 1;
            }

            var id = (ushort)_next;
            _inUse[id] = true;
            _count++;
            _next = _next == 65_535 ? 1 : _next + 1;
            return id;
        }
    }

    public void Release(ushort id)
    {
        lock (_lock)
        {
            if (_inUse[id])
            {
                _inUse[id] = false;
                _count--;
            }
        }
    }
}

/// <summary>An async counting gate whose limit can change (the broker's Receive Maximum differs per connection).</summary>
internal sealed class MqttInflightGate(int limit)
{
    private readonly Lock _lock = new();
    private readonly Queue<TaskCompletionSource> _waiters = new();
    private int _limit = limit;
    private int _count;

    public ValueTask WaitAsync(CancellationToken cancellationToken)
    {
        TaskCompletionSource waiter;
        lock (_lock)
        {
            if (_count < _limit && _waiters.Count == 0)
            {
                _count++;
                return ValueTask.CompletedTask;
            }

            waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Enqueue(waiter);
        }

        return WaitSlowAsync(waiter, cancellationToken);
    }

    private static async ValueTask WaitSlowAsync(TaskCompletionSource waiter, CancellationToken cancellationToken)
    {
        await using (cancellationToken.Register(() => waiter.TrySetCanceled(cancellationToken)))
        {
            await waiter.Task;
        }
    }

    public void SetLimit(int limit)
    {
        lock (_lock)
        {
            _limit = limit;
            Grant();
        }
    }

    public void Release()
    {
        lock (_lock)
        {
            _count--;
            Grant();
        }
    }

    private void Grant()
    {
        while (_count < _limit && _waiters.TryDequeue(out var waiter))
        {
            // A cancelled waiter gives its turn to the next one.
            if (waiter.TrySetResult())
            {
                _count++;
            }
        }
    }
}
