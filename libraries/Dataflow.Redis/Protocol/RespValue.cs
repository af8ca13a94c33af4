using System.Globalization;
using System.Numerics;
using System.Text;

namespace Dataflow.Redis.Protocol;

/// <summary>
/// An immutable RESP2/RESP3 value. Strings, errors, big numbers and verbatim strings keep their raw bytes;
/// maps and attributes are stored as flat key/value sequences (<c>k1, v1, k2, v2, …</c>).
/// </summary>
public sealed class RespValue : IEquatable<RespValue>
{
    private static readonly RespValue[] SmallIntegers = CreateSmallIntegers();
    private readonly ReadOnlyMemory<byte> _bytes;
    private readonly long _integer;
    private readonly double _double;
    private readonly RespValue[]? _items;

    private RespValue(RespType type, ReadOnlyMemory<byte> bytes = default, long integer = 0, double @double = 0,
        RespValue[]? items = null, string? format = null, RespValue[]? attributes = null)
    {
        Type = type;
        _bytes = bytes;
        _integer = integer;
        _double = @double;
        _items = items;
        VerbatimFormat = format;
        Attributes = attributes;
    }

    public static RespValue Null { get; } = new(RespType.Null);

    public static RespValue True { get; } = new(RespType.Boolean, integer: 1);

    public static RespValue False { get; } = new(RespType.Boolean, integer: 0);

    public static RespValue Ok { get; } = new(RespType.SimpleString, "OK"u8.ToArray());

    public RespType Type { get; }

    /// <summary>The three-letter format of a verbatim string (<c>txt</c>, <c>mkd</c>); null for other types.</summary>
    public string? VerbatimFormat { get; }

    /// <summary>RESP3 attributes sent before this value, as flat key/value pairs; null when there were none.</summary>
    public IReadOnlyList<RespValue>? Attributes { get; }

    public bool IsNull => Type == RespType.Null;

    public bool IsError => Type is RespType.SimpleError or RespType.BulkError;

    /// <summary>True for arrays, sets, maps and pushes.</summary>
    public bool IsAggregate => _items is not null;

    /// <summary>The elements of an array, set or push; the flat key/value pairs of a map.</summary>
    public IReadOnlyList<RespValue> Items => _items ?? throw WrongType("an aggregate");

    public static RespValue SimpleString(string value) => SimpleString(Encoding.UTF8.GetBytes(value));

    public static RespValue SimpleString(ReadOnlyMemory<byte> value) => new(RespType.SimpleString, RequireLine(value));

    public static RespValue SimpleError(string message) => new(RespType.SimpleError, RequireLine(Encoding.UTF8.GetBytes(message)));

    public static RespValue BulkError(string message) => new(RespType.BulkError, Encoding.UTF8.GetBytes(message));

    public static RespValue BulkString(string value) => new(RespType.BulkString, Encoding.UTF8.GetBytes(value));

    public static RespValue BulkString(ReadOnlyMemory<byte> value) => new(RespType.BulkString, value);

    public static RespValue Integer(long value) =>
        value is >= -1 and < 255 ? SmallIntegers[value + 1] : new(RespType.Integer, integer: value);

    public static RespValue Double(double value) => new(RespType.Double, @double: value);

    public static RespValue Boolean(bool value) => value ? True : False;

    public static RespValue BigNumber(BigInteger value) =>
        new(RespType.BigNumber, Encoding.ASCII.GetBytes(value.ToString(CultureInfo.InvariantCulture)));

    public static RespValue Verbatim(string format, string text)
    {
        ArgumentNullException.ThrowIfNull(format);
        if (format.Length != 3 || !Ascii.IsValid(format) || format.Contains(':', StringComparison.Ordinal))
        {
            throw new ArgumentException("A verbatim string's format is exactly three ASCII characters, e.g. 'txt'.", nameof(format));
        }
        return new(RespType.VerbatimString, Encoding.UTF8.GetBytes(text), format: format);
    }

    public static RespValue Array(params RespValue[] items) => new(RespType.Array, items: items);

    public static RespValue Set(params RespValue[] items) => new(RespType.Set, items: items);

    public static RespValue Push(params RespValue[] items) => new(RespType.Push, items: items);

    /// <summary>A map from flat key/value pairs.</summary>
    public static RespValue Map(params RespValue[] keysAndValues)
    {
        if (keysAndValues.Length % 2 != 0)
        {
            throw new ArgumentException("A map needs an even number of items (key, value, key, value, …).", nameof(keysAndValues));
        }
        return new(RespType.Map, items: keysAndValues);
    }

    /// <summary>This value with RESP3 attributes (flat key/value pairs) attached.</summary>
    public RespValue WithAttributes(params RespValue[] keysAndValues)
    {
        if (keysAndValues.Length % 2 != 0)
        {
            throw new ArgumentException("Attributes need an even number of items.", nameof(keysAndValues));
        }
        return new(Type, _bytes, _integer, _double, _items, VerbatimFormat, keysAndValues);
    }

    /// <summary>The raw bytes of a string, error, big number or verbatim string (without its format prefix).</summary>
    public ReadOnlyMemory<byte> AsBytes() => Type switch
    {
        RespType.SimpleString or RespType.BulkString or RespType.SimpleError or RespType.BulkError
            or RespType.VerbatimString or RespType.BigNumber => _bytes,
        RespType.Integer => Encoding.ASCII.GetBytes(_integer.ToString(CultureInfo.InvariantCulture)),
        _ => throw WrongType("a string"),
    };

    /// <summary>The value as text (UTF-8 decoded); null for <see cref="RespType.Null"/>.</summary>
    public string? AsString() => Type switch
    {
        RespType.Null => null,
        RespType.Integer => _integer.ToString(CultureInfo.InvariantCulture),
        RespType.Double => FormatDouble(_double),
        RespType.Boolean => _integer != 0 ? "true" : "false",
        _ => Encoding.UTF8.GetString(AsBytes().Span),
    };

    public long AsInt64()
    {
        switch (Type)
        {
            case RespType.Integer:
                return _integer;
            case RespType.SimpleString or RespType.BulkString or RespType.BigNumber:
                if (long.TryParse(_bytes.Span, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var parsed))
                {
                    return parsed;
                }
                throw new InvalidCastException($"The {Type} value is not a 64-bit integer.");
            default:
                throw WrongType("an integer");
        }
    }

    public double AsDouble()
    {
        switch (Type)
        {
            case RespType.Double:
                return _double;
            case RespType.Integer:
                return _integer;
            case RespType.SimpleString or RespType.BulkString:
                if (RespReader.TryParseDouble(_bytes.Span, out var parsed))
                {
                    return parsed;
                }
                throw new InvalidCastException($"The {Type} value is not a number.");
            default:
                throw WrongType("a double");
        }
    }

    public bool AsBoolean() => Type switch
    {
        RespType.Boolean or RespType.Integer => _integer != 0,
        _ => throw WrongType("a boolean"),
    };

    public BigInteger AsBigInteger() => Type switch
    {
        RespType.Integer => _integer,
        RespType.BigNumber => BigInteger.Parse(Encoding.ASCII.GetString(_bytes.Span), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture),
        _ => throw WrongType("a big number"),
    };

    public bool Equals(RespValue? other)
    {
        if (ReferenceEquals(this, other))
        {
            return true;
        }
        if (other is null || other.Type != Type || other.VerbatimFormat != VerbatimFormat
            || !SequenceEquals(Attributes, other.Attributes))
        {
            return false;
        }
        return Type switch
        {
            RespType.Null => true,
            RespType.Integer or RespType.Boolean => _integer == other._integer,
            RespType.Double => _double.Equals(other._double),
            RespType.Array or RespType.Set or RespType.Map or RespType.Push => SequenceEquals(_items, other._items),
            _ => _bytes.Span.SequenceEqual(other._bytes.Span),
        };
    }

    public override bool Equals(object? obj) => Equals(obj as RespValue);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Type);
        switch (Type)
        {
            case RespType.Integer or RespType.Boolean:
                hash.Add(_integer);
                break;
            case RespType.Double:
                hash.Add(_double);
                break;
            case RespType.Array or RespType.Set or RespType.Map or RespType.Push:
                hash.Add(_items!.Length);
                break;
            case RespType.Null:
                break;
            default:
                hash.AddBytes(_bytes.Span);
                break;
        }
        return hash.ToHashCode();
    }

    public override string ToString() => Type switch
    {
        RespType.Null => "(null)",
        RespType.Array or RespType.Set or RespType.Push => $"{Type}[{string.Join(", ", _items!.Select(i => i.ToString()))}]",
        RespType.Map => $"Map{{{string.Join(", ", _items!.Chunk(2).Select(p => $"{p[0]}: {p[1]}"))}}}",
        RespType.VerbatimString => $"{VerbatimFormat}:{AsString()}",
        _ => $"{Type}({AsString()})",
    };

    internal static RespValue Create(RespType type, ReadOnlyMemory<byte> bytes, string? format = null) => new(type, bytes, format: format);

    internal static RespValue CreateDouble(double value) => new(RespType.Double, @double: value);

    internal static RespValue CreateAggregate(RespType type, RespValue[] items) => new(type, items: items);

    internal RespValue AttachAttributes(RespValue[] keysAndValues) =>
        new(Type, _bytes, _integer, _double, _items, VerbatimFormat, keysAndValues);

    internal static string FormatDouble(double value) => value switch
    {
        double.PositiveInfinity => "inf",
        double.NegativeInfinity => "-inf",
        _ when double.IsNaN(value) => "nan",
        _ => value.ToString("R", CultureInfo.InvariantCulture),
    };

    private static RespValue[] CreateSmallIntegers()
    {
        var values = new RespValue[256];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = new RespValue(RespType.Integer, integer: i - 1);
        }
        return values;
    }

    private static ReadOnlyMemory<byte> RequireLine(ReadOnlyMemory<byte> value) =>
        value.Span.IndexOfAny((byte)'\r', (byte)'\n') >= 0
            ? throw new ArgumentException("Simple strings and simple errors cannot contain CR or LF.", nameof(value))
            : value;

    private static bool SequenceEquals(IReadOnlyList<RespValue>? left, IReadOnlyList<RespValue>? right)
    {
        if (left is null || right is null)
        {
            return left is null && right is null;
        }
        if (left.Count != right.Count)
        {
            return false;
        }
        for (var i = 0; i < left.Count; i++)
        {
            if (!left[i].Equals(right[i]))
            {
                return false;
            }
        }
        return true;
    }

    private InvalidCastException WrongType(string wanted) => new($"The RESP value is {Type}, not {wanted}.");
}
