using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Dataflow.Emulators.BigQuery;

/// <summary>A reason a row does not fit its table schema.</summary>
internal sealed record RowError(string Location, string Message);

/// <summary>
/// Converts between JSON rows (insertAll input, persisted rows) and the in-memory cell values
/// (null, long, double, decimal, bool, string, byte[], BqTimestamp, object?[] for RECORD, IReadOnlyList for REPEATED),
/// and renders cells in BigQuery's REST row format where every scalar is a string.
/// </summary>
internal static class BigQueryValues
{
    private static readonly string[] TimestampFormats =
    [
        "yyyy-MM-dd HH:mm:ss.FFFFFFzzz", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFzzz",
        "yyyy-MM-dd HH:mm:ss.FFFFFF", "yyyy-MM-dd'T'HH:mm:ss.FFFFFF",
        "yyyy-MM-dd HH:mm:ss.FFFFFF'Z'", "yyyy-MM-dd'T'HH:mm:ss.FFFFFF'Z'",
        "yyyy-MM-dd HH:mmzzz", "yyyy-MM-dd'T'HH:mmzzz", "yyyy-MM-dd HH:mm", "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd",
    ];

    public static object?[] ConvertRow(JsonObject json, IReadOnlyList<TableFieldSchema> fields, bool ignoreUnknownValues, List<RowError> errors, string path = "")
    {
        var row = new object?[fields.Count];
        foreach (var (key, _) in json)
        {
            if (!ignoreUnknownValues && !fields.Any(f => f.Name.Equals(key, StringComparison.OrdinalIgnoreCase)))
            {
                errors.Add(new RowError(path + key, $"no such field: {key}."));
            }
        }

        for (var i = 0; i < fields.Count; i++)
        {
            var field = fields[i];
            var location = path + field.Name;
            var node = Lookup(json, field.Name);
            if (field.IsRepeated)
            {
                row[i] = ConvertRepeated(node, field, ignoreUnknownValues, errors, location);
            }
            else if (node is null)
            {
                if (field.IsRequired)
                {
                    errors.Add(new RowError(location, $"Missing required field: {location}."));
                }
            }
            else
            {
                row[i] = ConvertValue(node, field, ignoreUnknownValues, errors, location);
            }
        }

        return row;
    }

    public static JsonObject ToRestRow(object?[] row, IReadOnlyList<TableFieldSchema> fields, bool int64Timestamps)
    {
        var cells = new JsonArray();
        for (var i = 0; i < fields.Count; i++)
        {
            cells.Add(new JsonObject { ["v"] = ToRestCell(row[i], fields[i], int64Timestamps) });
        }

        return new JsonObject { ["f"] = cells };
    }

    /// <summary>The JSON a row would be inserted with; used to persist rows and re-read them through the same conversion.</summary>
    public static JsonObject ToInputJson(object?[] row, IReadOnlyList<TableFieldSchema> fields)
    {
        var json = new JsonObject();
        for (var i = 0; i < fields.Count; i++)
        {
            if (row[i] is not null)
            {
                json[fields[i].Name] = ToInputNode(row[i], fields[i]);
            }
        }

        return json;
    }

    public static string FormatScalar(object value, bool int64Timestamps) => value switch
    {
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => FormatDouble(d),
        decimal m => m.ToString(CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        byte[] bytes => Convert.ToBase64String(bytes),
        BqTimestamp ts when int64Timestamps => ts.Micros.ToString(CultureInfo.InvariantCulture),
        BqTimestamp ts => FormatSeconds(ts.Micros),
        string s => s,
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? string.Empty,
    };

    public static BqTimestamp? ParseTimestamp(string text)
    {
        var trimmed = text.Trim();
        if (trimmed.EndsWith(" UTC", StringComparison.OrdinalIgnoreCase))
        {
            trimmed = trimmed[..^4] + "+00:00";
        }

        return DateTimeOffset.TryParseExact(trimmed, TimestampFormats, CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed)
            ? new BqTimestamp((parsed.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10)
            : null;
    }

    public static string? ParseDate(string text) =>
        DateOnly.TryParseExact(text.Trim(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date)
            ? date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)
            : null;

    public static string? ParseTime(string text) =>
        TimeOnly.TryParseExact(text.Trim(), ["HH:mm:ss", "HH:mm:ss.FFFFFF", "HH:mm"], CultureInfo.InvariantCulture, DateTimeStyles.None, out var time)
            ? time.ToString(time.Ticks % TimeSpan.TicksPerSecond == 0 ? "HH:mm:ss" : "HH:mm:ss.FFFFFF", CultureInfo.InvariantCulture)
            : null;

    public static string? ParseDateTime(string text) =>
        DateTime.TryParseExact(text.Trim(), ["yyyy-MM-dd HH:mm:ss.FFFFFF", "yyyy-MM-dd'T'HH:mm:ss.FFFFFF", "yyyy-MM-dd HH:mm", "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd"],
            CultureInfo.InvariantCulture, DateTimeStyles.None, out var value)
            ? value.ToString(value.Ticks % TimeSpan.TicksPerSecond == 0 ? "yyyy-MM-dd'T'HH:mm:ss" : "yyyy-MM-dd'T'HH:mm:ss.FFFFFF", CultureInfo.InvariantCulture)
            : null;

    /// <summary>Converts a query parameter or literal text to a typed value; null when it does not parse.</summary>
    public static object? ParseScalar(string text, string type) => type switch
    {
        "INTEGER" => long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l) ? l : null,
        "FLOAT" => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : null,
        "NUMERIC" => decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var m) ? m : null,
        "BOOLEAN" => bool.TryParse(text, out var b) ? b : null,
        "TIMESTAMP" => ParseTimestamp(text),
        "DATE" => ParseDate(text),
        "TIME" => ParseTime(text),
        "DATETIME" => ParseDateTime(text),
        "BYTES" => TryBase64(text),
        _ => text,
    };

    private static JsonNode? ToRestCell(object? value, TableFieldSchema field, bool int64Timestamps)
    {
        if (value is null)
        {
            return null;
        }

        if (field.IsRepeated && value is IReadOnlyList<object?> items)
        {
            var element = field with { Mode = "NULLABLE" };
            var array = new JsonArray();
            foreach (var item in items)
            {
                array.Add(new JsonObject { ["v"] = ToRestCell(item, element, int64Timestamps) });
            }

            return array;
        }

        if (field.IsRecord && value is object?[] record)
        {
            return ToRestRow(record, field.Fields ?? [], int64Timestamps);
        }

        return JsonValue.Create(FormatScalar(value, int64Timestamps));
    }

    private static JsonNode? ToInputNode(object? value, TableFieldSchema field)
    {
        switch (value)
        {
            case null:
                return null;
            case IReadOnlyList<object?> items when field.IsRepeated:
                var element = field with { Mode = "NULLABLE" };
                return new JsonArray([.. items.Select(item => ToInputNode(item, element))]);
            case object?[] record when field.IsRecord:
                return ToInputJson(record, field.Fields ?? []);
            case long l:
                return JsonValue.Create(l);
            case bool b:
                return JsonValue.Create(b);
            case double d when double.IsFinite(d):
                return JsonValue.Create(d);
            case BqTimestamp ts:
                return JsonValue.Create(ts.ToDateTimeOffset().ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture));
            default:
                return JsonValue.Create(FormatScalar(value, int64Timestamps: true));
        }
    }

    private static JsonNode? Lookup(JsonObject json, string name)
    {
        if (json.TryGetPropertyValue(name, out var exact))
        {
            return exact;
        }

        // Column names are case-insensitive in BigQuery.
        foreach (var (key, value) in json)
        {
            if (key.Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return value;
            }
        }

        return null;
    }

    private static List<object?>? ConvertRepeated(JsonNode? node, TableFieldSchema field, bool ignoreUnknownValues, List<RowError> errors, string location)
    {
        if (node is null)
        {
            return [];
        }

        if (node is not JsonArray array)
        {
            errors.Add(new RowError(location, $"Field {location} is REPEATED and needs a JSON array."));
            return null;
        }

        var items = new List<object?>(array.Count);
        foreach (var item in array)
        {
            if (item is null)
            {
                errors.Add(new RowError(location, $"Only optional fields can be set to NULL. Field: {location}; an ARRAY cannot hold NULL."));
                continue;
            }

            items.Add(ConvertValue(item, field, ignoreUnknownValues, errors, location));
        }

        return items;
    }

    private static object? ConvertValue(JsonNode node, TableFieldSchema field, bool ignoreUnknownValues, List<RowError> errors, string location)
    {
        if (field.IsRecord)
        {
            if (node is JsonObject obj)
            {
                return ConvertRow(obj, field.Fields ?? [], ignoreUnknownValues, errors, location + ".");
            }

            errors.Add(new RowError(location, $"This field: {location} is not a record."));
            return null;
        }

        if (node is JsonArray)
        {
            errors.Add(new RowError(location, $"Array specified for non-repeated field: {location}."));
            return null;
        }

        if (node is JsonObject)
        {
            if (field.Type == "JSON")
            {
                return node.ToJsonString();
            }

            errors.Add(new RowError(location, $"This field: {location} is not a record."));
            return null;
        }

        var value = node.AsValue();
        var kind = value.GetValueKind();
        var text = kind == JsonValueKind.String ? value.GetValue<string>() : value.ToJsonString();
        object? converted = (field.Type, kind) switch
        {
            (_, JsonValueKind.Null) => null,
            ("STRING" or "GEOGRAPHY" or "JSON", JsonValueKind.String) => text,
            ("STRING", JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False) => text,
            ("JSON", _) => text,
            ("BOOLEAN", JsonValueKind.True) => true,
            ("BOOLEAN", JsonValueKind.False) => false,
            ("BOOLEAN", JsonValueKind.String) => text.ToUpperInvariant() switch { "TRUE" or "1" => true, "FALSE" or "0" => false, _ => null },
            ("INTEGER", JsonValueKind.Number or JsonValueKind.String) => ParseInteger(text),
            ("FLOAT", JsonValueKind.Number or JsonValueKind.String) => ParseFloat(text),
            ("NUMERIC", JsonValueKind.Number or JsonValueKind.String) => ParseScalar(text, "NUMERIC"),
            ("BIGNUMERIC", JsonValueKind.Number or JsonValueKind.String) => decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out _) ? text : null,
            ("TIMESTAMP", JsonValueKind.Number) => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds)
                ? new BqTimestamp((long)Math.Round(seconds * 1_000_000))
                : null,
            ("TIMESTAMP" or "DATE" or "TIME" or "DATETIME" or "BYTES", JsonValueKind.String) => ParseScalar(text, field.Type),
            _ => null,
        };
        if (converted is null && kind != JsonValueKind.Null)
        {
            errors.Add(new RowError(location, $"Cannot convert value to {Describe(field.Type)}: {text}"));
        }
        else if (converted is null && field.IsRequired)
        {
            errors.Add(new RowError(location, $"Missing required field: {location}."));
        }

        return converted;
    }

    private static string Describe(string type) => type switch
    {
        "INTEGER" => "integer",
        "FLOAT" => "floating point",
        "BOOLEAN" => "boolean",
        "TIMESTAMP" => "timestamp",
        var other => other.ToLowerInvariant(),
    };

    private static object? ParseInteger(string text)
    {
        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            return value;
        }

        // 1.0 and 1e3 are integral numbers in JSON; 1.5 is not an INTEGER.
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d == Math.Floor(d) && Math.Abs(d) < 9.2e18
            ? (long)d
            : null;
    }

    private static object? ParseFloat(string text) => text switch
    {
        "NaN" => double.NaN,
        "Infinity" or "inf" => double.PositiveInfinity,
        "-Infinity" or "-inf" => double.NegativeInfinity,
        _ => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : null,
    };

    private static byte[]? TryBase64(string text)
    {
        try
        {
            return Convert.FromBase64String(text);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static string FormatDouble(double value) => value switch
    {
        double.NaN => "NaN",
        double.PositiveInfinity => "Infinity",
        double.NegativeInfinity => "-Infinity",
        _ => value.ToString("R", CultureInfo.InvariantCulture),
    };

    private static string FormatSeconds(long micros)
    {
        var seconds = decimal.Divide(micros, 1_000_000m);
        return seconds.ToString("0.0#####", CultureInfo.InvariantCulture);
    }
}
