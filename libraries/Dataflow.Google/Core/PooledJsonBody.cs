using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Dataflow.Google.Core;

/// <summary>
/// A request body serialized into pooled memory: a 1000-message publish request is close to a megabyte, and
/// serializing it into a fresh array each time put it on the large-object heap, which only full collections reclaim.
/// The same bytes serve every retry; disposal returns the memory.
/// </summary>
internal sealed class PooledJsonBody : IBufferWriter<byte>, IDisposable
{
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(4096);
    private int _written;

    private PooledJsonBody()
    {
    }

    public ReadOnlyMemory<byte> Memory => _buffer.AsMemory(0, _written);

    public static PooledJsonBody Serialize<T>(T body, JsonTypeInfo<T> type)
    {
        var result = new PooledJsonBody();
        try
        {
            using var writer = new Utf8JsonWriter(result);
            JsonSerializer.Serialize(writer, body, type);
            return result;
        }
        catch
        {
            result.Dispose();
            throw;
        }
    }

    public void Advance(int count) => _written += count;

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Reserve(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Reserve(sizeHint);
        return _buffer.AsSpan(_written);
    }

    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, []);
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void Reserve(int sizeHint)
    {
        var needed = _written + Math.Max(sizeHint, 1);
        if (needed <= _buffer.Length)
        {
            return;
        }

        var larger = ArrayPool<byte>.Shared.Rent(Math.Max(needed, _buffer.Length * 2));
        _buffer.AsSpan(0, _written).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = larger;
    }
}
