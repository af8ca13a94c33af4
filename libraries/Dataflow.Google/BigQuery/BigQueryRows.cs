using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Dataflow.Google.BigQuery;

/// <summary>
/// Converts rows between C# objects and BigQuery's JSON: objects are written with System.Text.Json (column
/// names from <see cref="JsonPropertyNameAttribute"/> or property names), and the REST row format
/// (<c>{"f":[{"v":…}]}</c>, values as strings) is turned into typed JSON by the schema before binding.
/// </summary>
public static class BigQueryRows
{
    /// <summary>Options for row objects: case-insensitive names, numbers from strings, enums as strings.</summary>
    public static JsonSerializerOptions SerializerOptions { get; } = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = null,
        NumberHandling = JsonNumberHandling.AllowReadingFromString | JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter(), new MicrosecondTimestampConverter() },
    };

    /// <summary>The JSON object insertAll expects for <paramref name="row"/>.</summary>
    public static JsonObject ToJson<T>(T row, JsonSerializerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(row);
        var node = JsonSerializer.SerializeToNode(row, options ?? SerializerOptions);
        return node as JsonObject ?? throw new ArgumentException($"a row must serialize to a JSON object, {typeof(T).Name} does not", nameof(row));
    }

    /// <summary>Binds one REST-format row to <typeparamref name="T"/> using <paramref name="schema"/>.</summary>
    public static T FromRest<T>(JsonElement row, BigQueryTableSchema schema, JsonSerializerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(schema);
        var json = ToObject(row, schema.Fields);
        return json.Deserialize<T>(options ?? SerializerOptions)!;
    }

    /// <summary>A REST-format row as a plain JSON object with typed values (TIMESTAMP as RFC 3339 text).</summary>
    public static JsonObject ToObject(JsonElement row, IReadOnlyList<BigQueryField> fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        var cells = row.GetProperty("f");
        var result = new JsonObject();
        var i = 0;
        foreach (var cell in cells.EnumerateArray())
        {
            if (i >= fields.Count)
            {
                throw new FormatException($"the row has more cells than the schema's {fields.Count} fields");
            }

            var field = fields[i++];
            result[field.Name] = Value(cell.GetProperty("v"), field, repeatedItem: false);
        }

        return result;
    }

    private static JsonNode? Value(JsonElement value, BigQueryField field, bool repeatedItem)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (field.IsRepeated && !repeatedItem)
        {
            var array = new JsonArray();
            foreach (var item in value.EnumerateArray())
            {
                array.Add(Value(item.GetProperty("v"), field, repeatedItem: true));
            }

            return array;
        }

        if (field.IsRecord)
        {
            return ToObject(value, field.Fields ?? []);
        }

        var text = value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText();
        return field.Type.ToUpperInvariant() switch
        {
            "BOOLEAN" or "BOOL" => JsonValue.Create(text.Equals("true", StringComparison.OrdinalIgnoreCase)),
            "INTEGER" or "INT64" => JsonValue.Create(long.Parse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture)),
            "FLOAT" or "FLOAT64" => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d)
                ? JsonValue.Create(d)
                : JsonValue.Create(text),
            "TIMESTAMP" => JsonValue.Create(Timestamp(text).ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture)),
            "JSON" => JsonNode.Parse(text),
            _ => JsonValue.Create(text),
        };
    }

    /// <summary>TIMESTAMP cells are int64 microseconds (with useInt64Timestamp) or float seconds such as <c>1.7E9</c>.</summary>
    internal static DateTimeOffset Timestamp(string text)
    {
        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var micros))
        {
            return DateTimeOffset.UnixEpoch.AddTicks(micros * 10);
        }

        var seconds = double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
        return DateTimeOffset.UnixEpoch.AddTicks((long)Math.Round(seconds * 1_000_000) * 10);
    }

    /// <summary>
    /// TIMESTAMP keeps microseconds and insertAll rejects longer fractions, while System.Text.Json writes a
    /// DateTimeOffset with seven digits: rows carry UTC with six.
    /// </summary>
    private sealed class MicrosecondTimestampConverter : JsonConverter<DateTimeOffset>
    {
        public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.GetDateTimeOffset();

        public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
            writer.WriteStringValue(value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture));
    }
}
