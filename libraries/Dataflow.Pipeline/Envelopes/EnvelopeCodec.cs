using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.Json;

namespace Dataflow.Pipeline.Envelopes;

/// <summary>
/// Encodes envelopes exactly as the reference system's Go <c>encoding/json</c> does (compact, field order
/// id/payload/publishTime/enrichmentData, map keys sorted, HTML-safe escaping, RFC3339Nano) and decodes only real
/// envelopes: a JSON object with a string <c>id</c>, a base64 <c>payload</c> and an RFC 3339 <c>publishTime</c>.
/// </summary>
public static class EnvelopeCodec
{
    // One per thread, reused: encoding a message then allocates only its exact-size result.
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    public static byte[] Encode(Envelope envelope)
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(1024);
        buffer.ResetWrittenCount();
        Encode(envelope!, buffer);
        var result = buffer.WrittenSpan.ToArray();
        if (buffer.Capacity > 1024 * 1024)
        {
            // A rare huge envelope must not stay pinned to the thread.
            t_buffer = null;
        }

        return result;
    }

    public static void Encode(Envelope envelope, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        ArgumentNullException.ThrowIfNull(output);
        var writer = new GoJsonWriter(output);
        writer.WriteRaw("{\"id\":"u8);
        writer.WriteString(envelope.Id);
        writer.WriteRaw(",\"payload\":\""u8);
        writer.WriteBase64(envelope.Payload.Span);
        writer.WriteRaw("\",\"publishTime\":\""u8);
        writer.WriteTimestamp(envelope.PublishTime);
        writer.WriteRaw("\""u8);
        if (envelope.EnrichmentData is { Count: > 0 } enrichment)
        {
            writer.WriteRaw(",\"enrichmentData\":"u8);
            writer.WriteObject(enrichment.Select(p => (p.Key, p.Value)));
        }

        writer.WriteRaw("}"u8);
    }

    /// <summary>Decodes a real envelope, or returns false for anything else (invalid JSON, other shapes).</summary>
    public static bool TryDecode(ReadOnlySpan<byte> json, [NotNullWhen(true)] out Envelope? envelope)
    {
        envelope = null;
        try
        {
            return TryDecodeCore(json, out envelope);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static bool TryDecodeCore(ReadOnlySpan<byte> json, [NotNullWhen(true)] out Envelope? envelope)
    {
        envelope = null;
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }

        string? id = null;
        byte[]? payload = null;
        var hasPayload = false;
        RfcTimestamp? publishTime = null;
        Dictionary<string, JsonElement>? enrichment = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            // Go's decoder matches field names case-insensitively; the reference accepted such envelopes too.
            var name = reader.GetString()!;
            if (!reader.Read())
            {
                return false;
            }

            if (name.Equals("id", StringComparison.OrdinalIgnoreCase))
            {
                if (reader.TokenType != JsonTokenType.String)
                {
                    return false;
                }

                id = reader.GetString();
            }
            else if (name.Equals("payload", StringComparison.OrdinalIgnoreCase))
            {
                if (reader.TokenType == JsonTokenType.Null)
                {
                    payload = [];
                }
                else if (reader.TokenType != JsonTokenType.String || !reader.TryGetBytesFromBase64(out payload))
                {
                    return false;
                }

                hasPayload = true;
            }
            else if (name.Equals("publishTime", StringComparison.OrdinalIgnoreCase))
            {
                if (reader.TokenType != JsonTokenType.String || !RfcTimestamp.TryParse(reader.GetString(), out publishTime))
                {
                    return false;
                }
            }
            else if (name.Equals("enrichmentData", StringComparison.OrdinalIgnoreCase))
            {
                if (reader.TokenType == JsonTokenType.Null)
                {
                    enrichment = null;
                    continue;
                }

                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    return false;
                }

                enrichment = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var key = reader.GetString()!;
                    reader.Read();
                    enrichment[key] = JsonElement.ParseValue(ref reader);
                }
            }
            else
            {
                reader.Skip();
            }
        }

        if (reader.TokenType != JsonTokenType.EndObject || reader.Read() || id is null || !hasPayload || publishTime is null)
        {
            return false;
        }

        envelope = new Envelope(id, payload!, publishTime.Value, enrichment is { Count: > 0 } ? enrichment : null);
        return true;
    }

    /// <summary>Printable ASCII that Go's encoding/json writes as is (it escapes <c>"</c>, <c>\</c>, <c>&lt;</c>, <c>&gt;</c>, <c>&amp;</c>).</summary>
    private static readonly SearchValues<char> PlainAscii = SearchValues.Create(
        " !#$%'()*+,-./0123456789:;=?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz{|}~");

    /// <summary>Writes JSON the way Go's encoding/json does.</summary>
    private readonly struct GoJsonWriter(IBufferWriter<byte> output)
    {
        private static ReadOnlySpan<byte> Hex => "0123456789abcdef"u8;

        public void WriteRaw(ReadOnlySpan<byte> bytes) => output.Write(bytes);

        public void WriteAscii(string text)
        {
            var span = output.GetSpan(text.Length);
            var written = Encoding.ASCII.GetBytes(text, span);
            output.Advance(written);
        }

        public void WriteBase64(ReadOnlySpan<byte> data)
        {
            var span = output.GetSpan(System.Buffers.Text.Base64.GetMaxEncodedToUtf8Length(data.Length));
            System.Buffers.Text.Base64.EncodeToUtf8(data, span, out _, out var written);
            output.Advance(written);
        }

        public void WriteTimestamp(RfcTimestamp timestamp)
        {
            Span<char> text = stackalloc char[RfcTimestamp.MaxFormattedLength];
            timestamp.TryFormat(text, out var length);
            var span = output.GetSpan(length);
            output.Advance(Encoding.ASCII.GetBytes(text[..length], span));
        }

        public void WriteString(string value)
        {
            if (!value.AsSpan().ContainsAnyExcept(PlainAscii))
            {
                // The common case: nothing to escape or replace, one byte per char.
                var span = output.GetSpan(value.Length + 2);
                span[0] = (byte)'"';
                Encoding.ASCII.GetBytes(value, span[1..]);
                span[value.Length + 1] = (byte)'"';
                output.Advance(value.Length + 2);
                return;
            }

            WriteRaw("\""u8);
            Span<byte> utf8 = stackalloc byte[4];
            foreach (var rune in EnumerateRunesReplacingInvalid(value))
            {
                var c = rune.Value;
                switch (c)
                {
                    case '"': WriteRaw("\\\""u8); continue;
                    case '\\': WriteRaw("\\\\"u8); continue;
                    case '\n': WriteRaw("\\n"u8); continue;
                    case '\r': WriteRaw("\\r"u8); continue;
                    case '\t': WriteRaw("\\t"u8); continue;
                    case '\b': WriteRaw("\\b"u8); continue;
                    case '\f': WriteRaw("\\f"u8); continue;
                }

                if (c < 0x20 || c is '<' or '>' or '&' or 0x2028 or 0x2029)
                {
                    WriteRaw("\\u"u8);
                    Span<byte> hex = [Hex[(c >> 12) & 0xF], Hex[(c >> 8) & 0xF], Hex[(c >> 4) & 0xF], Hex[c & 0xF]];
                    WriteRaw(hex);
                    continue;
                }

                var length = rune.EncodeToUtf8(utf8);
                WriteRaw(utf8[..length]);
            }

            WriteRaw("\""u8);
        }

        public void WriteObject(IEnumerable<(string Key, JsonElement Value)> properties)
        {
            WriteRaw("{"u8);
            var first = true;
            foreach (var (key, value) in properties.OrderBy(p => p.Key, Utf8OrdinalComparer.Instance))
            {
                if (!first)
                {
                    WriteRaw(","u8);
                }

                first = false;
                WriteString(key);
                WriteRaw(":"u8);
                WriteValue(value);
            }

            WriteRaw("}"u8);
        }

        private void WriteValue(JsonElement value)
        {
            switch (value.ValueKind)
            {
                case JsonValueKind.String:
                    WriteString(value.GetString()!);
                    break;
                case JsonValueKind.Object:
                    WriteObject(value.EnumerateObject().Select(p => (p.Name, p.Value)));
                    break;
                case JsonValueKind.Array:
                    WriteRaw("["u8);
                    var first = true;
                    foreach (var item in value.EnumerateArray())
                    {
                        if (!first)
                        {
                            WriteRaw(","u8);
                        }

                        first = false;
                        WriteValue(item);
                    }

                    WriteRaw("]"u8);
                    break;
                case JsonValueKind.Undefined:
                    WriteRaw("null"u8);
                    break;
                default:
                    WriteAscii(value.GetRawText());
                    break;
            }
        }
    }

    private static IEnumerable<Rune> EnumerateRunesReplacingInvalid(string value)
    {
        // Lone surrogates become U+FFFD, as Go does for invalid UTF-8.
        for (var i = 0; i < value.Length;)
        {
            if (Rune.DecodeFromUtf16(value.AsSpan(i), out var rune, out var consumed) != OperationStatus.Done)
            {
                rune = Rune.ReplacementChar;
            }

            yield return rune;
            i += consumed;
        }
    }

    /// <summary>Orders strings by UTF-8 bytes (code points), as Go sorts map keys.</summary>
    private sealed class Utf8OrdinalComparer : IComparer<string>
    {
        public static readonly Utf8OrdinalComparer Instance = new();

        public int Compare(string? x, string? y)
        {
            if (x is null || y is null)
            {
                return x is null ? (y is null ? 0 : -1) : 1;
            }

            var left = x.EnumerateRunes().GetEnumerator();
            var right = y.EnumerateRunes().GetEnumerator();
            while (true)
            {
                var hasLeft = left.MoveNext();
                var hasRight = right.MoveNext();
                if (!hasLeft || !hasRight)
                {
                    return hasLeft ? 1 : hasRight ? -1 : 0;
                }

                var difference = left.Current.Value - right.Current.Value;
                if (difference != 0)
                {
                    return difference;
                }
            }
        }
    }
}
