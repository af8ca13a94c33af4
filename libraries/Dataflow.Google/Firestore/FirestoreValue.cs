using System.Buffers.Text;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Dataflow.Google.Core;

namespace Dataflow.Google.Firestore;

public enum FirestoreValueKind
{
    NullValue,
    BooleanValue,
    IntegerValue,
    DoubleValue,
    TimestampValue,
    StringValue,
    BytesValue,
    ReferenceValue,
    GeoPointValue,
    ArrayValue,
    MapValue,
}

/// <summary>A latitude/longitude pair (Firestore <c>geoPointValue</c>).</summary>
public readonly record struct FirestoreGeoPoint(double Latitude, double Longitude);

/// <summary>A reference to another document by its full resource name (Firestore <c>referenceValue</c>).</summary>
public readonly record struct FirestoreReference(string Name);

/// <summary>
/// One Firestore value in its REST form: exactly one of nullValue, booleanValue, integerValue (int64 as a
/// string), doubleValue, timestampValue, stringValue, bytesValue (base64), referenceValue, geoPointValue,
/// arrayValue or mapValue. Use <see cref="FirestoreMapper"/> to convert to and from ordinary C# values.
/// </summary>
[JsonConverter(typeof(FirestoreValueJsonConverter))]
public sealed class FirestoreValue : IEquatable<FirestoreValue>
{
    private FirestoreValue(FirestoreValueKind kind, object? payload)
    {
        Kind = kind;
        Payload = payload;
    }

    public static FirestoreValue Null { get; } = new(FirestoreValueKind.NullValue, null);

    public FirestoreValueKind Kind { get; }

    private object? Payload { get; }

    public bool BooleanValue => Get<bool>(FirestoreValueKind.BooleanValue);

    public long IntegerValue => Get<long>(FirestoreValueKind.IntegerValue);

    public double DoubleValue => Get<double>(FirestoreValueKind.DoubleValue);

    public DateTimeOffset TimestampValue => Get<DateTimeOffset>(FirestoreValueKind.TimestampValue);

    public string StringValue => Get<string>(FirestoreValueKind.StringValue);

    public ReadOnlyMemory<byte> BytesValue => Get<byte[]>(FirestoreValueKind.BytesValue);

    public FirestoreReference ReferenceValue => Get<FirestoreReference>(FirestoreValueKind.ReferenceValue);

    public FirestoreGeoPoint GeoPointValue => Get<FirestoreGeoPoint>(FirestoreValueKind.GeoPointValue);

    public IReadOnlyList<FirestoreValue> ArrayValue => Get<IReadOnlyList<FirestoreValue>>(FirestoreValueKind.ArrayValue);

    public IReadOnlyDictionary<string, FirestoreValue> MapValue => Get<IReadOnlyDictionary<string, FirestoreValue>>(FirestoreValueKind.MapValue);

    public static FirestoreValue FromBoolean(bool value) => new(FirestoreValueKind.BooleanValue, value);

    public static FirestoreValue FromInteger(long value) => new(FirestoreValueKind.IntegerValue, value);

    public static FirestoreValue FromDouble(double value) => new(FirestoreValueKind.DoubleValue, value);

    public static FirestoreValue FromTimestamp(DateTimeOffset value) => new(FirestoreValueKind.TimestampValue, value.ToUniversalTime());

    public static FirestoreValue FromString(string value) => new(FirestoreValueKind.StringValue, value ?? throw new ArgumentNullException(nameof(value)));

    public static FirestoreValue FromBytes(ReadOnlySpan<byte> value) => new(FirestoreValueKind.BytesValue, value.ToArray());

    public static FirestoreValue FromReference(FirestoreReference value) => new(FirestoreValueKind.ReferenceValue, value);

    public static FirestoreValue FromGeoPoint(FirestoreGeoPoint value) => new(FirestoreValueKind.GeoPointValue, value);

    public static FirestoreValue FromArray(IEnumerable<FirestoreValue> values) => new(FirestoreValueKind.ArrayValue, values.ToList());

    public static FirestoreValue FromMap(IEnumerable<KeyValuePair<string, FirestoreValue>> fields) =>
        new(FirestoreValueKind.MapValue, new Dictionary<string, FirestoreValue>(fields, StringComparer.Ordinal));

    public bool Equals(FirestoreValue? other)
    {
        if (other is null || other.Kind != Kind)
        {
            return false;
        }

        return Kind switch
        {
            FirestoreValueKind.NullValue => true,
            FirestoreValueKind.BytesValue => ((byte[])Payload!).AsSpan().SequenceEqual((byte[])other.Payload!),
            FirestoreValueKind.ArrayValue => ArrayValue.SequenceEqual(other.ArrayValue),
            FirestoreValueKind.MapValue => MapValue.Count == other.MapValue.Count && MapValue.All(p => other.MapValue.TryGetValue(p.Key, out var v) && p.Value.Equals(v)),
            FirestoreValueKind.DoubleValue => DoubleValue.Equals(other.DoubleValue),
            _ => Equals(Payload, other.Payload),
        };
    }

    public override bool Equals(object? obj) => obj is FirestoreValue other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(Kind, Kind is FirestoreValueKind.ArrayValue or FirestoreValueKind.MapValue or FirestoreValueKind.BytesValue ? 0 : Payload?.GetHashCode() ?? 0);

    public override string ToString() => $"{Kind}: {JsonSerializer.Serialize(this, FirestoreJsonContext.Default.FirestoreValue)}";

    private T Get<T>(FirestoreValueKind kind) =>
        Kind == kind ? (T)Payload! : throw new InvalidOperationException($"the value is a {Kind}, not a {kind}");
}

/// <summary>Reads and writes Firestore's one-key Value objects.</summary>
public sealed class FirestoreValueJsonConverter : JsonConverter<FirestoreValue>
{
    public override FirestoreValue Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("a Firestore value must be a JSON object");
        }

        FirestoreValue? value = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var key = reader.GetString();
            reader.Read();
            var parsed = key switch
            {
                "nullValue" => FirestoreValue.Null,
                "booleanValue" => FirestoreValue.FromBoolean(reader.GetBoolean()),
                "integerValue" => FirestoreValue.FromInteger(ReadInt64(ref reader)),
                "doubleValue" => FirestoreValue.FromDouble(ReadDouble(ref reader)),
                "timestampValue" => FirestoreValue.FromTimestamp(TimestampJsonConverter.Parse(reader.GetString()!)),
                "stringValue" => FirestoreValue.FromString(reader.GetString()!),
                "bytesValue" => FirestoreValue.FromBytes(reader.GetBytesFromBase64()),
                "referenceValue" => FirestoreValue.FromReference(new FirestoreReference(reader.GetString()!)),
                "geoPointValue" => FirestoreValue.FromGeoPoint(ReadGeoPoint(ref reader)),
                "arrayValue" => FirestoreValue.FromArray(ReadArray(ref reader, options)),
                "mapValue" => FirestoreValue.FromMap(ReadFields(ref reader, options)),
                _ => Skip(ref reader),
            };
            value = parsed ?? value;
        }

        return value ?? throw new JsonException("a Firestore value object names no known value type");
    }

    public override void Write(Utf8JsonWriter writer, FirestoreValue value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        switch (value.Kind)
        {
            case FirestoreValueKind.NullValue:
                writer.WriteNull("nullValue");
                break;
            case FirestoreValueKind.BooleanValue:
                writer.WriteBoolean("booleanValue", value.BooleanValue);
                break;
            case FirestoreValueKind.IntegerValue:
                writer.WriteString("integerValue", value.IntegerValue.ToString(CultureInfo.InvariantCulture));
                break;
            case FirestoreValueKind.DoubleValue:
                WriteDouble(writer, value.DoubleValue);
                break;
            case FirestoreValueKind.TimestampValue:
                writer.WriteString("timestampValue", TimestampJsonConverter.Format(value.TimestampValue));
                break;
            case FirestoreValueKind.StringValue:
                writer.WriteString("stringValue", value.StringValue);
                break;
            case FirestoreValueKind.BytesValue:
                writer.WriteBase64String("bytesValue", value.BytesValue.Span);
                break;
            case FirestoreValueKind.ReferenceValue:
                writer.WriteString("referenceValue", value.ReferenceValue.Name);
                break;
            case FirestoreValueKind.GeoPointValue:
                writer.WriteStartObject("geoPointValue");
                writer.WriteNumber("latitude", value.GeoPointValue.Latitude);
                writer.WriteNumber("longitude", value.GeoPointValue.Longitude);
                writer.WriteEndObject();
                break;
            case FirestoreValueKind.ArrayValue:
                writer.WriteStartObject("arrayValue");
                writer.WriteStartArray("values");
                foreach (var item in value.ArrayValue)
                {
                    Write(writer, item, options);
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
                break;
            default:
                writer.WriteStartObject("mapValue");
                WriteFields(writer, value.MapValue, options);
                writer.WriteEndObject();
                break;
        }

        writer.WriteEndObject();
    }

    internal void WriteFields(Utf8JsonWriter writer, IReadOnlyDictionary<string, FirestoreValue> fields, JsonSerializerOptions options)
    {
        writer.WriteStartObject("fields");
        foreach (var (name, field) in fields)
        {
            writer.WritePropertyName(name);
            Write(writer, field, options);
        }

        writer.WriteEndObject();
    }

    private static void WriteDouble(Utf8JsonWriter writer, double value)
    {
        // JSON has no NaN/Infinity literals; protobuf's JSON mapping spells them as strings.
        if (double.IsNaN(value))
        {
            writer.WriteString("doubleValue", "NaN");
        }
        else if (double.IsInfinity(value))
        {
            writer.WriteString("doubleValue", value > 0 ? "Infinity" : "-Infinity");
        }
        else
        {
            writer.WriteNumber("doubleValue", value);
        }
    }

    private static double ReadDouble(ref Utf8JsonReader reader) => reader.TokenType == JsonTokenType.String
        ? reader.GetString() switch
        {
            "NaN" => double.NaN,
            "Infinity" => double.PositiveInfinity,
            "-Infinity" => double.NegativeInfinity,
            var text => double.Parse(text!, CultureInfo.InvariantCulture),
        }
        : reader.GetDouble();

    private static long ReadInt64(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Number)
        {
            return reader.GetInt64();
        }

        return Utf8Parser.TryParse(reader.ValueSpan, out long value, out var consumed) && consumed == reader.ValueSpan.Length
            ? value
            : throw new JsonException("integerValue must hold an int64");
    }

    private static FirestoreGeoPoint ReadGeoPoint(ref Utf8JsonReader reader)
    {
        double latitude = 0, longitude = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var key = reader.GetString();
            reader.Read();
            switch (key)
            {
                case "latitude":
                    latitude = ReadDouble(ref reader);
                    break;
                case "longitude":
                    longitude = ReadDouble(ref reader);
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }

        return new FirestoreGeoPoint(latitude, longitude);
    }

    private List<FirestoreValue> ReadArray(ref Utf8JsonReader reader, JsonSerializerOptions options)
    {
        var values = new List<FirestoreValue>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var key = reader.GetString();
            reader.Read();
            if (key != "values")
            {
                reader.Skip();
                continue;
            }

            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                values.Add(Read(ref reader, typeof(FirestoreValue), options));
            }
        }

        return values;
    }

    internal Dictionary<string, FirestoreValue> ReadFields(ref Utf8JsonReader reader, JsonSerializerOptions options)
    {
        var fields = new Dictionary<string, FirestoreValue>(StringComparer.Ordinal);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var key = reader.GetString();
            reader.Read();
            if (key != "fields")
            {
                reader.Skip();
                continue;
            }

            while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
            {
                var name = reader.GetString()!;
                reader.Read();
                fields[name] = Read(ref reader, typeof(FirestoreValue), options);
            }
        }

        return fields;
    }

    private static FirestoreValue? Skip(ref Utf8JsonReader reader)
    {
        reader.Skip();
        return null;
    }
}
