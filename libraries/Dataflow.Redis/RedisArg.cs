using System.Globalization;
using System.Text;

namespace Dataflow.Redis;

/// <summary>
/// One argument of a Redis command: text (sent as UTF-8), bytes, an integer or a double. Converts implicitly
/// from <see cref="string"/>, <see cref="byte"/> arrays, <see cref="ReadOnlyMemory{T}"/>, <see cref="long"/>,
/// <see cref="int"/> and <see cref="double"/>. Nothing is encoded until the command is written to the socket.
/// </summary>
public readonly struct RedisArg : IEquatable<RedisArg>
{
    private readonly string? _text;
    private readonly string? _prefix;
    private readonly ReadOnlyMemory<byte> _bytes;
    private readonly long _number;
    private readonly Kind _kind;

    private RedisArg(Kind kind, string? text = null, string? prefix = null, ReadOnlyMemory<byte> bytes = default, long number = 0)
    {
        _kind = kind;
        _text = text;
        _prefix = prefix;
        _bytes = bytes;
        _number = number;
    }

    private enum Kind : byte
    {
        Empty,
        Text,
        Bytes,
        Integer,
        Double,
    }

    public static implicit operator RedisArg(string value) => FromString(value);

    public static implicit operator RedisArg(byte[] value) => FromBytes(value);

    public static implicit operator RedisArg(ReadOnlyMemory<byte> value) => FromBytes(value);

    public static implicit operator RedisArg(long value) => FromInt64(value);

    public static implicit operator RedisArg(int value) => FromInt64(value);

    public static implicit operator RedisArg(double value) => FromDouble(value);

    public static bool operator ==(RedisArg left, RedisArg right) => left.Equals(right);

    public static bool operator !=(RedisArg left, RedisArg right) => !left.Equals(right);

    public static RedisArg FromString(string value) => new(Kind.Text, text: value ?? throw new ArgumentNullException(nameof(value)));

    public static RedisArg FromBytes(ReadOnlyMemory<byte> value) => new(Kind.Bytes, bytes: value);

    public static RedisArg FromInt64(long value) => new(Kind.Integer, number: value);

    public static RedisArg FromDouble(double value) =>
        double.IsNaN(value) ? throw new ArgumentException("Redis does not accept NaN.", nameof(value)) : new(Kind.Double, number: BitConverter.DoubleToInt64Bits(value));

    /// <summary>A key with a prefix, written as one argument without concatenating strings.</summary>
    internal static RedisArg Key(string? prefix, string key) =>
        new(Kind.Text, text: key ?? throw new ArgumentNullException(nameof(key)), prefix: string.IsNullOrEmpty(prefix) ? null : prefix);

    /// <summary>False for <c>default(RedisArg)</c>, which carries no value.</summary>
    internal bool HasValue => _kind != Kind.Empty;

    /// <summary>The number of bytes the argument's payload takes on the wire.</summary>
    internal int ByteCount => _kind switch
    {
        Kind.Text => Encoding.UTF8.GetByteCount(_text!) + (_prefix is null ? 0 : Encoding.UTF8.GetByteCount(_prefix)),
        Kind.Bytes => _bytes.Length,
        Kind.Empty => throw new ArgumentException("A default(RedisArg) is not a valid command argument."),
        _ => FormatNumber(stackalloc byte[32]),
    };

    /// <summary>Writes the payload; <paramref name="destination"/> is at least <see cref="ByteCount"/> long.</summary>
    internal int WriteTo(Span<byte> destination)
    {
        switch (_kind)
        {
            case Kind.Text:
                var written = _prefix is null ? 0 : Encoding.UTF8.GetBytes(_prefix, destination);
                return written + Encoding.UTF8.GetBytes(_text, destination[written..]);
            case Kind.Bytes:
                _bytes.Span.CopyTo(destination);
                return _bytes.Length;
            default:
                return FormatNumber(destination);
        }
    }

    public bool Equals(RedisArg other) =>
        _kind == other._kind && _text == other._text && _prefix == other._prefix && _number == other._number
        && _bytes.Span.SequenceEqual(other._bytes.Span);

    public override bool Equals(object? obj) => obj is RedisArg other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(_kind, _text, _prefix, _number, _bytes.Length);

    public override string ToString() => _kind switch
    {
        Kind.Text => _prefix + _text,
        Kind.Bytes => Encoding.UTF8.GetString(_bytes.Span),
        Kind.Integer => _number.ToString(CultureInfo.InvariantCulture),
        Kind.Double => FormatDouble(BitConverter.Int64BitsToDouble(_number)),
        _ => "",
    };

    private int FormatNumber(Span<byte> destination)
    {
        if (_kind == Kind.Integer)
        {
            _number.TryFormat(destination, out var integerLength, default, CultureInfo.InvariantCulture);
            return integerLength;
        }
        var text = FormatDouble(BitConverter.Int64BitsToDouble(_number));
        return Encoding.ASCII.GetBytes(text, destination);
    }

    private static string FormatDouble(double value) => value switch
    {
        double.PositiveInfinity => "+inf",
        double.NegativeInfinity => "-inf",
        _ => value.ToString("R", CultureInfo.InvariantCulture),
    };
}
