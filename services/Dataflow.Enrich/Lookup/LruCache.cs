namespace Dataflow.Enrich.Lookup;

/// <summary>A thread-safe least-recently-used map with a per-entry expiry.</summary>
public sealed class LruCache<TValue>
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, LinkedListNode<Entry>> _map;
    private readonly LinkedList<Entry> _order = new();
    private readonly TimeProvider _time;

    public LruCache(int capacity, TimeProvider? timeProvider = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
        _map = new Dictionary<string, LinkedListNode<Entry>>(capacity, StringComparer.Ordinal);
        _time = timeProvider ?? TimeProvider.System;
    }

    public int Capacity { get; }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _map.Count;
            }
        }
    }

    public bool TryGet(string key, out TValue value)
    {
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            if (_map.TryGetValue(key, out var node))
            {
                if (node.Value.Expires > now)
                {
                    _order.Remove(node);
                    _order.AddFirst(node);
                    value = node.Value.Value;
                    return true;
                }

                _order.Remove(node);
                _map.Remove(key);
            }
        }

        value = default!;
        return false;
    }

    public void Set(string key, TValue value, TimeSpan timeToLive)
    {
        var entry = new Entry(key, value, _time.GetUtcNow() + timeToLive);
        lock (_lock)
        {
            if (_map.TryGetValue(key, out var existing))
            {
                _order.Remove(existing);
            }
            else if (_map.Count >= Capacity && _order.Last is { } oldest)
            {
                _order.RemoveLast();
                _map.Remove(oldest.Value.Key);
            }

            _map[key] = _order.AddFirst(entry);
        }
    }

    private sealed record Entry(string Key, TValue Value, DateTimeOffset Expires);
}
