using System.Buffers.Binary;
using System.Text;
using System.Text.Unicode;

namespace Dataflow.Mqtt.Protocol;

/// <summary>Reads MQTT data types from one packet body; any overrun is a malformed packet.</summary>
internal ref struct MqttSpanReader(ReadOnlySpan<byte> span)
{
    private readonly ReadOnlySpan<byte> _span = span;
    private int _position;

    public readonly int Remaining => _span.Length - _position;

    public readonly bool End => _position == _span.Length;

    public byte ReadByte()
    {
        if (_position >= _span.Length)
        {
            throw Truncated();
        }

        return _span[_position++];
    }

    public ushort ReadUInt16() => BinaryPrimitives.ReadUInt16BigEndian(ReadSpan(2));

    public uint ReadUInt32() => BinaryPrimitives.ReadUInt32BigEndian(ReadSpan(4));

    public int ReadVariableByteInteger()
    {
        var value = 0;
        for (var i = 0; i < 4; i++)
        {
            var b = ReadByte();
            if (i > 0 && b == 0)
            {
                throw MqttProtocolException.Malformed("Variable byte integer is not minimally encoded.");
            }

            value |= (b & 0x7F) << (7 * i);
            if ((b & 0x80) == 0)
            {
                return value;
            }
        }

        throw MqttProtocolException.Malformed("Variable byte integer is longer than 4 bytes.");
    }

    public ReadOnlySpan<byte> ReadSpan(int length)
    {
        if (length < 0 || length > Remaining)
        {
            throw Truncated();
        }

        var result = _span.Slice(_position, length);
        _position += length;
        return result;
    }

    public ReadOnlySpan<byte> ReadRest() => ReadSpan(Remaining);

    public string ReadString()
    {
        var bytes = ReadSpan(ReadUInt16());
        if (!Utf8.IsValid(bytes) || bytes.IndexOf((byte)0) >= 0)
        {
            throw MqttProtocolException.Malformed("UTF-8 string is not well-formed or contains U+0000.");
        }

        return Encoding.UTF8.GetString(bytes);
    }

    public byte[] ReadBinary() => ReadSpan(ReadUInt16()).ToArray();

    private static MqttProtocolException Truncated() => MqttProtocolException.Malformed("Packet is shorter than its content requires.");
}
