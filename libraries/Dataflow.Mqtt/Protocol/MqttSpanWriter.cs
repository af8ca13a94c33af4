using System.Buffers.Binary;
using System.Text;

namespace Dataflow.Mqtt.Protocol;

/// <summary>
/// Writes MQTT data types. In measuring mode nothing is written and only <see cref="Position"/> advances, so the
/// same encoding code computes lengths (remaining length, property length) and writes the bytes.
/// </summary>
internal ref struct MqttSpanWriter
{
    private readonly Span<byte> _span;
    private readonly bool _measuring;

    public MqttSpanWriter(Span<byte> span)
    {
        _span = span;
        _measuring = false;
        Position = 0;
    }

    private MqttSpanWriter(bool measuring)
    {
        _span = default;
        _measuring = measuring;
        Position = 0;
    }

    public static MqttSpanWriter Measuring() => new(measuring: true);

    public int Position { get; private set; }

    public void WriteByte(byte value)
    {
        if (!_measuring)
        {
            _span[Position] = value;
        }

        Position++;
    }

    public void WriteUInt16(ushort value)
    {
        if (!_measuring)
        {
            BinaryPrimitives.WriteUInt16BigEndian(_span[Position..], value);
        }

        Position += 2;
    }

    public void WriteUInt32(uint value)
    {
        if (!_measuring)
        {
            BinaryPrimitives.WriteUInt32BigEndian(_span[Position..], value);
        }

        Position += 4;
    }

    public void WriteVariableByteInteger(int value)
    {
        if ((uint)value > MqttPacketDecoder.MaxRemainingLength)
        {
            throw new ArgumentOutOfRangeException(nameof(value), value, "Variable byte integers hold 0..268435455.");
        }

        do
        {
            var b = (byte)(value & 0x7F);
            value >>= 7;
            WriteByte(value > 0 ? (byte)(b | 0x80) : b);
        }
        while (value > 0);
    }

    public void WriteBytes(ReadOnlySpan<byte> bytes)
    {
        if (!_measuring)
        {
            bytes.CopyTo(_span[Position..]);
        }

        Position += bytes.Length;
    }

    public void WriteString(string value)
    {
        var length = Encoding.UTF8.GetByteCount(value);
        if (length > ushort.MaxValue)
        {
            throw new ArgumentException("An MQTT string holds at most 65535 UTF-8 bytes.", nameof(value));
        }

        WriteUInt16((ushort)length);
        if (!_measuring)
        {
            Encoding.UTF8.GetBytes(value, _span[Position..]);
        }

        Position += length;
    }

    public void WriteBinary(ReadOnlySpan<byte> value)
    {
        if (value.Length > ushort.MaxValue)
        {
            throw new ArgumentException("MQTT binary data holds at most 65535 bytes.", nameof(value));
        }

        WriteUInt16((ushort)value.Length);
        WriteBytes(value);
    }

    public static int VariableByteIntegerSize(int value) => value switch
    {
        < 128 => 1,
        < 16_384 => 2,
        < 2_097_152 => 3,
        _ => 4,
    };
}
