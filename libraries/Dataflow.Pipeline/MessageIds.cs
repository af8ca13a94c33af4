using System.Buffers.Binary;

namespace Dataflow.Pipeline;

/// <summary>Ids for messages whose source has none that is unique (MQTT packet ids are reused).</summary>
public static class MessageIds
{
    /// <summary>
    /// A UUID version 7 (RFC 9562) as 32 lowercase hex digits: 48 bits of Unix milliseconds, then 74 random bits.
    /// The random bits come from <see cref="Random.Shared"/>, not the operating system's generator that
    /// <see cref="Guid.CreateVersion7()"/> calls each time (a system call per message); these ids need to be unique,
    /// not unpredictable.
    /// </summary>
    public static string NewVersion7(TimeProvider? timeProvider = null)
    {
        Span<byte> bytes = stackalloc byte[16];
        var milliseconds = (timeProvider ?? TimeProvider.System).GetUtcNow().ToUnixTimeMilliseconds();
        // The low 48 bits of the milliseconds, big-endian, in bytes 0-5; the random bits then fill 6-15.
        BinaryPrimitives.WriteInt64BigEndian(bytes, milliseconds << 16);
        Random.Shared.NextBytes(bytes[6..]);
        bytes[6] = (byte)(0x70 | (bytes[6] & 0x0F));
        bytes[8] = (byte)(0x80 | (bytes[8] & 0x3F));
        return new Guid(bytes, bigEndian: true).ToString("N");
    }
}
