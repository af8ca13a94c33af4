namespace Dataflow.Mqtt.Protocol;

/// <summary>Hands out unused packet identifiers 1..65535 round-robin, so a recently freed id is not reused at once.</summary>
internal sealed class MqttPacketIdPool
{
    private readonly bool[] _inUse = new bool[65_536];
    private readonly Lock _lock = new();
    private int _next = 1;
    private int _count;

    public ushort Allocate() => TryAllocate(out var id)
        ? id
        : throw new InvalidOperationException("All 65535 MQTT packet identifiers are in use.");

    /// <summary>False when all 65535 identifiers are in use.</summary>
    public bool TryAllocate(out ushort id)
    {
        lock (_lock)
        {
            if (_count == 65_535)
            {
                id = 0;
                return false;
            }

            while (_inUse[_next])
            {
                _next = _next == 65_535 ? 1 : _next + 1;
            }

            id = (ushort)_next;
            _inUse[id] = true;
            _count++;
            _next = _next == 65_535 ? 1 : _next + 1;
            return true;
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
