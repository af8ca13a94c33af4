using System.Collections.Concurrent;
using System.Reflection;
using System.Text.Json.Serialization;

namespace Dataflow.Google.BigQuery;

/// <summary>Overrides what schema inference derives for a property: the column type, mode or description.
/// The column name is the property's <see cref="JsonPropertyNameAttribute"/> or its own name.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class BigQueryColumnAttribute : Attribute
{
    public string? Type { get; init; }

    public BigQueryMode Mode { get; init; } = BigQueryMode.Inferred;

    public string? Description { get; init; }
}

public enum BigQueryMode
{
    Inferred,
    Nullable,
    Required,
    Repeated,
}

/// <summary>
/// Derives a table schema from a C# row type: value types are REQUIRED unless nullable, reference types follow
/// their nullable annotations, collections become REPEATED, other classes and records become RECORD columns.
/// </summary>
public static class BigQuerySchema
{
    private static readonly ConcurrentDictionary<Type, BigQueryTableSchema> Cache = new();
    private static readonly NullabilityInfoContext Nullability = new();

    public static BigQueryTableSchema For<T>() => For(typeof(T));

    public static BigQueryTableSchema For(Type rowType)
    {
        ArgumentNullException.ThrowIfNull(rowType);
        return Cache.GetOrAdd(rowType, t => new BigQueryTableSchema(Fields(t, [])));
    }

    private static List<BigQueryField> Fields(Type type, HashSet<Type> visiting)
    {
        if (!visiting.Add(type))
        {
            throw new NotSupportedException($"{type.Name} refers to itself; BigQuery records cannot be recursive");
        }

        var fields = new List<BigQueryField>();
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetIndexParameters().Length > 0 || property.GetMethod is null || property.IsDefined(typeof(JsonIgnoreAttribute)))
            {
                continue;
            }

            fields.Add(Field(property, visiting));
        }

        visiting.Remove(type);
        return fields;
    }

    private static BigQueryField Field(PropertyInfo property, HashSet<Type> visiting)
    {
        var name = property.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name ?? property.Name;
        var column = property.GetCustomAttribute<BigQueryColumnAttribute>();
        var nullability = Nullability.Create(property);
        var type = property.PropertyType;
        var mode = "NULLABLE";
        if (ElementType(type) is { } element)
        {
            type = element;
            mode = "REPEATED";
        }
        else if (Nullable.GetUnderlyingType(type) is { } underlying)
        {
            type = underlying;
        }
        else if (type.IsValueType || nullability.ReadState == NullabilityState.NotNull)
        {
            mode = "REQUIRED";
        }

        var scalar = column?.Type ?? ScalarType(type);
        List<BigQueryField>? nested = null;
        if (scalar is null)
        {
            nested = Fields(type, visiting);
            scalar = "RECORD";
        }

        if (column?.Mode is { } explicitMode && explicitMode != BigQueryMode.Inferred)
        {
            mode = explicitMode.ToString().ToUpperInvariant();
        }

        return new BigQueryField { Name = name, Type = scalar, Mode = mode, Description = column?.Description, Fields = nested };
    }

    private static string? ScalarType(Type type)
    {
        if (type.IsEnum)
        {
            return "STRING";
        }

        return Type.GetTypeCode(type) switch
        {
            TypeCode.String or TypeCode.Char => "STRING",
            TypeCode.Boolean => "BOOLEAN",
            TypeCode.SByte or TypeCode.Byte or TypeCode.Int16 or TypeCode.UInt16 or TypeCode.Int32 or TypeCode.UInt32 or TypeCode.Int64 => "INTEGER",
            TypeCode.Single or TypeCode.Double => "FLOAT",
            TypeCode.Decimal => "NUMERIC",
            TypeCode.DateTime => "TIMESTAMP",
            _ when type == typeof(DateTimeOffset) => "TIMESTAMP",
            _ when type == typeof(DateOnly) => "DATE",
            _ when type == typeof(TimeOnly) => "TIME",
            _ when type == typeof(byte[]) || type == typeof(ReadOnlyMemory<byte>) || type == typeof(Memory<byte>) => "BYTES",
            _ when type == typeof(Guid) => "STRING",
            _ when type == typeof(System.Text.Json.JsonElement) || type == typeof(System.Text.Json.Nodes.JsonNode) || type == typeof(System.Text.Json.Nodes.JsonObject) => "JSON",
            _ => null,
        };
    }

    private static Type? ElementType(Type type)
    {
        if (type == typeof(string) || type == typeof(byte[]))
        {
            return null;
        }

        if (type.IsArray)
        {
            return type.GetElementType();
        }

        var enumerable = type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IEnumerable<>)
            ? type
            : type.GetInterfaces().FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>));
        if (enumerable is null || IsDictionary(type))
        {
            return null;
        }

        return enumerable.GetGenericArguments()[0];
    }

    private static bool IsDictionary(Type type) =>
        type.GetInterfaces().Append(type).Any(i => i.IsGenericType && (i.GetGenericTypeDefinition() == typeof(IDictionary<,>) || i.GetGenericTypeDefinition() == typeof(IReadOnlyDictionary<,>)));
}
