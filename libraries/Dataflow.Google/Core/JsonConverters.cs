using System.Buffers.Text;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Dataflow.Google.Core;

/// <summary>protobuf Duration in JSON: seconds with an optional fraction and an <c>s</c> suffix, e.g. <c>"600s"</c>, <c>"0.5s"</c>.</summary>
public sealed class DurationJsonConverter : JsonConverter<TimeSpan>
{
    public override TimeSpan Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var text = reader.GetString();
        if (text is null || !text.EndsWith('s') ||
            !decimal.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.AllowDecimalPoint | NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var seconds))
        {
            throw new JsonException($"'{text}' is not a protobuf Duration such as \"600s\"");
        }

        return TimeSpan.FromTicks((long)(seconds * TimeSpan.TicksPerSecond));
    }

    public override void Write(Utf8JsonWriter writer, TimeSpan value, JsonSerializerOptions options)
    {
        var seconds = (decimal)value.Ticks / TimeSpan.TicksPerSecond;
        writer.WriteStringValue(seconds.ToString("0.#########", CultureInfo.InvariantCulture) + "s");
    }
}

/// <summary>
/// protobuf Timestamp in JSON (RFC 3339, UTC, up to nanosecond precision, e.g. <c>"2024-05-01T10:00:00.123456789Z"</c>).
/// .NET keeps 100 ns ticks, so digits beyond the seventh are truncated on read.
/// </summary>
public sealed class TimestampJsonConverter : JsonConverter<DateTimeOffset>
{
    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        Parse(reader.GetString() ?? throw new JsonException("a timestamp must be a string"));

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
        writer.WriteStringValue(Format(value));

    public static string Format(DateTimeOffset value) =>
        value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    public static DateTimeOffset Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var dot = text.IndexOf('.', StringComparison.Ordinal);
        if (dot > 0)
        {
            // Keep at most 7 fractional digits, the precision DateTimeOffset parsing accepts.
            var end = dot + 1;
            while (end < text.Length && char.IsAsciiDigit(text[end]))
            {
                end++;
            }

            if (end - dot - 1 > 7)
            {
                text = string.Concat(text.AsSpan(0, dot + 8), text.AsSpan(end));
            }
        }

        if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var value))
        {
            throw new JsonException($"'{text}' is not an RFC 3339 timestamp");
        }

        return value;
    }
}

/// <summary>int64 as a JSON string (Google's JSON mapping of 64-bit integers); also accepts a bare number.</summary>
public sealed class Int64StringJsonConverter : JsonConverter<long>
{
    public override long Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Number)
        {
            return reader.GetInt64();
        }

        ReadOnlySpan<byte> span = reader.HasValueSequence ? System.Buffers.BuffersExtensions.ToArray(reader.ValueSequence) : reader.ValueSpan;
        if (Utf8Parser.TryParse(span, out long value, out var consumed) && consumed == span.Length)
        {
            return value;
        }

        throw new JsonException("expected an int64 encoded as a string");
    }

    public override void Write(Utf8JsonWriter writer, long value, JsonSerializerOptions options)
    {
        Span<byte> buffer = stackalloc byte[20];
        Utf8Formatter.TryFormat(value, buffer, out var written);
        writer.WriteStringValue(buffer[..written]);
    }
}

/// <summary>
/// Message attributes (a JSON object of strings). Writing enumerates a <see cref="Dictionary{TKey, TValue}"/> with its
/// struct enumerator: the serializer's own dictionary converter goes through the interface and allocates an
/// enumerator per message of every publish request. Reading builds an ordinal dictionary.
/// </summary>
public sealed class AttributesJsonConverter : JsonConverter<IReadOnlyDictionary<string, string>>
{
    public override IReadOnlyDictionary<string, string> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException($"Attributes must be a JSON object of strings; found {reader.TokenType}.");
        }

        var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var key = reader.GetString()!;
            if (!reader.Read() || reader.TokenType != JsonTokenType.String)
            {
                throw new JsonException($"Attribute '{key}' must be a string; found {reader.TokenType}.");
            }

            attributes[key] = reader.GetString()!;
        }

        return reader.TokenType == JsonTokenType.EndObject ? attributes : throw new JsonException("Unterminated attributes object.");
    }

    public override void Write(Utf8JsonWriter writer, IReadOnlyDictionary<string, string> value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        if (value is Dictionary<string, string> dictionary)
        {
            foreach (var (key, text) in dictionary)
            {
                writer.WriteString(key, text);
            }
        }
        else if (value is SingleAttributeDictionary single)
        {
            writer.WriteString(single.Key, single.Value);
        }
        else
        {
            foreach (var (key, text) in value)
            {
                writer.WriteString(key, text);
            }
        }

        writer.WriteEndObject();
    }
}
