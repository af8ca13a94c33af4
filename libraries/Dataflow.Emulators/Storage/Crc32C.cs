using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Dataflow.Emulators.Storage;

/// <summary>Incremental CRC-32C (Castagnoli), hardware-accelerated where the CPU offers it.</summary>
internal struct Crc32C
{
    private const uint Polynomial = 0x82F63B78; // reflected Castagnoli polynomial
    private static readonly uint[] Table = BuildTable();
    private uint _state;

    public Crc32C() => _state = 0xFFFFFFFF;

    public void Append(ReadOnlySpan<byte> data)
    {
        var crc = _state;
        if (Sse42.X64.IsSupported)
        {
            var words = MemoryMarshal.Cast<byte, ulong>(data);
            ulong wide = crc;
            foreach (var word in words)
            {
                wide = Sse42.X64.Crc32(wide, word);
            }

            crc = (uint)wide;
            data = data[(words.Length * sizeof(ulong))..];
            foreach (var b in data)
            {
                crc = Sse42.Crc32(crc, b);
            }
        }
        else if (Crc32.Arm64.IsSupported)
        {
            var words = MemoryMarshal.Cast<byte, ulong>(data);
            foreach (var word in words)
            {
                crc = Crc32.Arm64.ComputeCrc32C(crc, word);
            }

            data = data[(words.Length * sizeof(ulong))..];
            foreach (var b in data)
            {
                crc = Crc32.ComputeCrc32C(crc, b);
            }
        }
        else
        {
            foreach (var b in data)
            {
                crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
            }
        }

        _state = crc;
    }

    public readonly uint Value => ~_state;

    /// <summary>The checksum as Cloud Storage reports it: base64 of the big-endian 32-bit value.</summary>
    public readonly string ToBase64()
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, Value);
        return Convert.ToBase64String(bytes);
    }

    public static uint Compute(ReadOnlySpan<byte> data)
    {
        var crc = new Crc32C();
        crc.Append(data);
        return crc.Value;
    }

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            var entry = i;
            for (var bit = 0; bit < 8; bit++)
            {
                entry = (entry & 1) != 0 ? (entry >> 1) ^ Polynomial : entry >> 1;
            }

            table[i] = entry;
        }

        return table;
    }
}
