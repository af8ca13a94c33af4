using System.Buffers;
using System.Buffers.Text;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;

namespace Dataflow.Redis.Protocol;

/// <summary>
/// Incremental RESP2/RESP3 parser. <see cref="TryRead(ref SequenceReader{byte}, out RespValue?)"/> returns false
/// (consuming nothing) while a value is incomplete and throws <see cref="RedisProtocolException"/> — and nothing
/// else — for malformed input. Memory use is bounded by the input: aggregate headers never allocate more
/// than the bytes already received can fill.
/// </summary>
public static class RespReader
{
    /// <summary>Deepest nesting of aggregates (and attributes) accepted.</summary>
    public const int MaxDepth = 128;

    /// <summary>Largest bulk string accepted (Redis' default <c>proto-max-bulk-len</c>).</summary>
    public const long MaxBulkLength = 512L * 1024 * 1024;

    /// <summary>Longest line (simple string, simple error, number) accepted.</summary>
    public const int MaxLineLength = 1024 * 1024;

    // The smallest encoded value is three bytes ("_\r\n", "+\r\n"), so an aggregate of n elements needs at least 3n bytes.
    private const int MinEncodedValueLength = 3;

    /// <summary>Reads one complete value, advancing <paramref name="reader"/> past it; false when more bytes are needed.</summary>
    public static bool TryRead(ref SequenceReader<byte> reader, [NotNullWhen(true)] out RespValue? value)
    {
        var attempt = reader;
        if (TryReadValue(ref attempt, 0, out value) && value is not null)
        {
            reader = attempt;
            return true;
        }
        return false;
    }

    /// <summary>Reads one complete value from the start of <paramref name="buffer"/>.</summary>
    public static bool TryRead(ReadOnlySequence<byte> buffer, [NotNullWhen(true)] out RespValue? value, out SequencePosition consumed)
    {
        var reader = new SequenceReader<byte>(buffer);
        var complete = TryRead(ref reader, out value);
        consumed = complete ? reader.Position : buffer.Start;
        return complete;
    }

    /// <summary>Parses a whole buffer holding exactly one value (for tests and tools).</summary>
    public static RespValue Parse(ReadOnlySpan<byte> encoded)
    {
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(encoded.ToArray()));
        if (!TryRead(ref reader, out var value))
        {
            throw new RedisProtocolException("The input ends before the value is complete.");
        }
        if (!reader.End)
        {
            throw new RedisProtocolException($"{reader.Remaining} unexpected bytes follow the value.");
        }
        return value;
    }

    internal static bool TryParseDouble(ReadOnlySpan<byte> text, out double value)
    {
        if (text.SequenceEqual("inf"u8) || text.SequenceEqual("+inf"u8))
        {
            value = double.PositiveInfinity;
            return true;
        }
        if (text.SequenceEqual("-inf"u8))
        {
            value = double.NegativeInfinity;
            return true;
        }
        if (text.SequenceEqual("nan"u8) || text.SequenceEqual("-nan"u8))
        {
            value = double.NaN;
            return true;
        }
        return double.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent,
            CultureInfo.InvariantCulture, out value) && double.IsFinite(value);
    }

    private static bool TryReadValue(ref SequenceReader<byte> reader, int depth, out RespValue? value)
    {
        value = null;
        if (depth > MaxDepth)
        {
            throw new RedisProtocolException($"Values nested deeper than {MaxDepth} levels are not accepted.");
        }
        if (!reader.TryRead(out var prefix))
        {
            return false;
        }
        ReadOnlySequence<byte> lineBytes;
        ReadOnlySpan<byte> line;
        switch (prefix)
        {
            case (byte)'+':
                if (!TryReadLine(ref reader, out lineBytes))
                {
                    return false;
                }
                line = AsSpan(lineBytes);
                value = line.SequenceEqual("OK"u8) ? RespValue.Ok : RespValue.Create(RespType.SimpleString, line.ToArray());
                return true;
            case (byte)'-':
                if (!TryReadLine(ref reader, out lineBytes))
                {
                    return false;
                }
                line = AsSpan(lineBytes);
                value = RespValue.Create(RespType.SimpleError, line.ToArray());
                return true;
            case (byte)':':
                if (!TryReadLine(ref reader, out lineBytes))
                {
                    return false;
                }
                line = AsSpan(lineBytes);
                value = RespValue.Integer(ParseInteger(line, "integer"));
                return true;
            case (byte)'_':
                if (!TryReadLine(ref reader, out lineBytes))
                {
                    return false;
                }
                line = AsSpan(lineBytes);
                if (!line.IsEmpty)
                {
                    throw new RedisProtocolException("A null ('_') carries no data.");
                }
                value = RespValue.Null;
                return true;
            case (byte)'#':
                if (!TryReadLine(ref reader, out lineBytes))
                {
                    return false;
                }
                line = AsSpan(lineBytes);
                value = line.SequenceEqual("t"u8) ? RespValue.True
                    : line.SequenceEqual("f"u8) ? RespValue.False
                    : throw new RedisProtocolException("A boolean is '#t' or '#f'.");
                return true;
            case (byte)',':
                if (!TryReadLine(ref reader, out lineBytes))
                {
                    return false;
                }
                line = AsSpan(lineBytes);
                value = TryParseDouble(line, out var number)
                    ? RespValue.CreateDouble(number)
                    : throw new RedisProtocolException($"'{Printable(line)}' is not a RESP3 double.");
                return true;
            case (byte)'(':
                if (!TryReadLine(ref reader, out lineBytes))
                {
                    return false;
                }
                line = AsSpan(lineBytes);
                ValidateBigNumber(line);
                value = RespValue.Create(RespType.BigNumber, line.ToArray());
                return true;
            case (byte)'$':
                return TryReadBlob(ref reader, RespType.BulkString, allowNull: true, allowStreamed: true, out value);
            case (byte)'!':
                return TryReadBlob(ref reader, RespType.BulkError, allowNull: false, allowStreamed: false, out value);
            case (byte)'=':
                return TryReadBlob(ref reader, RespType.VerbatimString, allowNull: false, allowStreamed: false, out value);
            case (byte)'*':
                return TryReadAggregate(ref reader, RespType.Array, depth, out value);
            case (byte)'~':
                return TryReadAggregate(ref reader, RespType.Set, depth, out value);
            case (byte)'>':
                return TryReadAggregate(ref reader, RespType.Push, depth, out value);
            case (byte)'%':
                return TryReadAggregate(ref reader, RespType.Map, depth, out value);
            case (byte)'|':
                return TryReadAttributed(ref reader, depth, out value);
            default:
                throw new RedisProtocolException($"Unknown RESP type byte 0x{prefix:X2}.");
        }
    }

    private static bool TryReadBlob(ref SequenceReader<byte> reader, RespType type, bool allowNull, bool allowStreamed, out RespValue? value)
    {
        value = null;
        if (!TryReadLine(ref reader, out var lineBytes))
        {
            return false;
        }
        var line = AsSpan(lineBytes);
        if (allowStreamed && line.SequenceEqual("?"u8))
        {
            return TryReadStreamedString(ref reader, out value);
        }
        var length = ParseInteger(line, "length");
        if (length == -1 && allowNull)
        {
            value = RespValue.Null;
            return true;
        }
        if (length < 0 || length > MaxBulkLength)
        {
            throw new RedisProtocolException($"Invalid {type} length {length}.");
        }
        if (reader.Remaining < length + 2)
        {
            return false;
        }
        var bytes = length == 0 ? [] : GC.AllocateUninitializedArray<byte>((int)length);
        reader.TryCopyTo(bytes);
        reader.Advance(length);
        ExpectCrLf(ref reader, type);
        if (type != RespType.VerbatimString)
        {
            value = RespValue.Create(type, bytes);
            return true;
        }
        if (length < 4 || bytes[3] != (byte)':' || !Ascii.IsValid(bytes.AsSpan(0, 3)))
        {
            throw new RedisProtocolException("A verbatim string starts with a three-character format and ':'.");
        }
        value = RespValue.Create(type, bytes.AsMemory(4), Encoding.ASCII.GetString(bytes, 0, 3));
        return true;
    }

    private static bool TryReadStreamedString(ref SequenceReader<byte> reader, out RespValue? value)
    {
        value = null;
        var content = new ArrayBufferWriter<byte>();
        while (true)
        {
            if (!reader.TryRead(out var prefix))
            {
                return false;
            }
            if (prefix != (byte)';')
            {
                throw new RedisProtocolException("A streamed string chunk starts with ';'.");
            }
            if (!TryReadLine(ref reader, out var lineBytes))
            {
                return false;
            }
            var line = AsSpan(lineBytes);
            var length = ParseInteger(line, "chunk length");
            if (length < 0 || content.WrittenCount + length > MaxBulkLength)
            {
                throw new RedisProtocolException($"Invalid streamed string chunk length {length}.");
            }
            if (length == 0)
            {
                value = RespValue.Create(RespType.BulkString, content.WrittenMemory);
                return true;
            }
            if (reader.Remaining < length + 2)
            {
                return false;
            }
            var chunk = content.GetSpan((int)length)[..(int)length];
            reader.TryCopyTo(chunk);
            content.Advance((int)length);
            reader.Advance(length);
            ExpectCrLf(ref reader, RespType.BulkString);
        }
    }

    private static bool TryReadAggregate(ref SequenceReader<byte> reader, RespType type, int depth, out RespValue? value)
    {
        value = null;
        if (!TryReadLine(ref reader, out var lineBytes))
        {
            return false;
        }
        var line = AsSpan(lineBytes);
        if (line.SequenceEqual("?"u8))
        {
            return TryReadStreamedAggregate(ref reader, type, depth, out value);
        }
        var count = ParseInteger(line, "aggregate length");
        if (count == -1 && type == RespType.Array)
        {
            value = RespValue.Null;
            return true;
        }
        var itemCount = type == RespType.Map ? count * 2 : count;
        if (count < 0 || itemCount > int.MaxValue / 2)
        {
            throw new RedisProtocolException($"Invalid {type} length {count}.");
        }
        if (itemCount * MinEncodedValueLength > reader.Remaining)
        {
            return false;
        }
        if (!TryReadItems(ref reader, (int)itemCount, depth, out var items))
        {
            return false;
        }
        value = RespValue.CreateAggregate(type, items);
        return true;
    }

    private static bool TryReadItems(ref SequenceReader<byte> reader, int count, int depth, [NotNullWhen(true)] out RespValue[]? items)
    {
        items = count == 0 ? [] : new RespValue[count];
        for (var i = 0; i < count; i++)
        {
            if (!TryReadValue(ref reader, depth + 1, out var item))
            {
                items = null;
                return false;
            }
            items[i] = item!;
        }
        return true;
    }

    private static bool TryReadStreamedAggregate(ref SequenceReader<byte> reader, RespType type, int depth, out RespValue? value)
    {
        value = null;
        var items = new List<RespValue>();
        while (true)
        {
            if (!reader.TryPeek(out var next))
            {
                return false;
            }
            if (next == (byte)'.')
            {
                reader.Advance(1);
                if (!TryReadLine(ref reader, out var end))
                {
                    return false;
                }
                if (!end.IsEmpty || (type == RespType.Map && items.Count % 2 != 0))
                {
                    throw new RedisProtocolException($"Invalid end of a streamed {type}.");
                }
                value = RespValue.CreateAggregate(type, [.. items]);
                return true;
            }
            if (!TryReadValue(ref reader, depth + 1, out var item))
            {
                return false;
            }
            items.Add(item!);
        }
    }

    private static bool TryReadAttributed(ref SequenceReader<byte> reader, int depth, out RespValue? value)
    {
        value = null;
        if (!TryReadLine(ref reader, out var lineBytes))
        {
            return false;
        }
        var line = AsSpan(lineBytes);
        var count = ParseInteger(line, "attribute count");
        if (count < 0 || count > int.MaxValue / 4)
        {
            throw new RedisProtocolException($"Invalid attribute count {count}.");
        }
        if (count * 2 * MinEncodedValueLength > reader.Remaining)
        {
            return false;
        }
        if (!TryReadItems(ref reader, (int)count * 2, depth, out var attributes))
        {
            return false;
        }
        // The attribute describes the value that follows it.
        if (!TryReadValue(ref reader, depth + 1, out var described))
        {
            return false;
        }
        value = described!.Attributes is { } earlier ? described.AttachAttributes([.. attributes, .. earlier]) : described.AttachAttributes(attributes);
        return true;
    }

    private static bool TryReadLine(ref SequenceReader<byte> reader, out ReadOnlySequence<byte> line)
    {
        if (!reader.TryReadTo(out ReadOnlySequence<byte> withCr, (byte)'\n'))
        {
            if (reader.Remaining > MaxLineLength)
            {
                throw new RedisProtocolException($"A line is longer than {MaxLineLength} bytes.");
            }
            line = default;
            return false;
        }
        var length = withCr.Length;
        if (length == 0 || withCr.Slice(length - 1).FirstSpan[0] != (byte)'\r')
        {
            throw new RedisProtocolException("A line ends with LF that is not preceded by CR.");
        }
        line = withCr.Slice(0, length - 1);
        if (line.PositionOf((byte)'\r') is not null)
        {
            throw new RedisProtocolException("A line contains a bare CR.");
        }
        return true;
    }

    private static ReadOnlySpan<byte> AsSpan(ReadOnlySequence<byte> sequence) =>
        sequence.IsSingleSegment ? sequence.FirstSpan : sequence.ToArray();

    private static void ExpectCrLf(ref SequenceReader<byte> reader, RespType type)
    {
        if (!reader.IsNext("\r\n"u8, advancePast: true))
        {
            throw new RedisProtocolException($"A {type} is not followed by CRLF where its length says it ends.");
        }
    }

    private static long ParseInteger(ReadOnlySpan<byte> line, string what)
    {
        if (line.IsEmpty || line.Length > 20 || !Utf8Parser.TryParse(line, out long value, out var consumed) || consumed != line.Length)
        {
            throw new RedisProtocolException($"'{Printable(line)}' is not a valid {what}.");
        }
        return value;
    }

    private static void ValidateBigNumber(ReadOnlySpan<byte> line)
    {
        var digits = line.Length > 0 && (line[0] == (byte)'-' || line[0] == (byte)'+') ? line[1..] : line;
        if (digits.IsEmpty || digits.ContainsAnyExceptInRange((byte)'0', (byte)'9'))
        {
            throw new RedisProtocolException($"'{Printable(line)}' is not a big number.");
        }
    }

    private static string Printable(ReadOnlySpan<byte> bytes)
    {
        var shown = bytes.Length > 40 ? bytes[..40] : bytes;
        var text = new StringBuilder(shown.Length);
        foreach (var b in shown)
        {
            text.Append(b is >= 0x20 and < 0x7F ? (char)b : '?');
        }
        return bytes.Length > 40 ? text.Append('…').ToString() : text.ToString();
    }
}
