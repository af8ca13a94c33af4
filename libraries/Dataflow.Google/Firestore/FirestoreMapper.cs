using System.Collections;
using System.Collections.Concurrent;
using System.Reflection;
using System.Text.Json.Serialization;

namespace Dataflow.Google.Firestore;

/// <summary>
/// Converts between C# values and Firestore values. Integers map to integerValue, floating point and decimal to
/// doubleValue, DateTime/DateTimeOffset to timestampValue, byte[]/ReadOnlyMemory&lt;byte&gt; to bytesValue,
/// strings/Guid/enums to stringValue, <see cref="FirestoreReference"/> and <see cref="FirestoreGeoPoint"/> to
/// their kinds, dictionaries with string keys and objects to mapValue (field names from
/// <see cref="JsonPropertyNameAttribute"/> or property names) and other sequences to arrayValue.
/// </summary>
public static class FirestoreMapper
{
    private static readonly ConcurrentDictionary<Type, PropertyInfo[]> Properties = new();

    public static FirestoreValue ToValue(object? value) => value switch
    {
        null => FirestoreValue.Null,
        FirestoreValue v => v,
        bool b => FirestoreValue.FromBoolean(b),
        sbyte or byte or short or ushort or int or uint or long => FirestoreValue.FromInteger(Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture)),
        ulong u => u <= long.MaxValue ? FirestoreValue.FromInteger((long)u) : throw new ArgumentOutOfRangeException(nameof(value), u, "Firestore integers are 64-bit signed"),
        float f => FirestoreValue.FromDouble(f),
        double d => FirestoreValue.FromDouble(d),
        decimal m => FirestoreValue.FromDouble((double)m),
        DateTimeOffset t => FirestoreValue.FromTimestamp(t),
        DateTime t => FirestoreValue.FromTimestamp(t.Kind == DateTimeKind.Unspecified ? new DateTimeOffset(t, TimeSpan.Zero) : new DateTimeOffset(t)),
        string s => FirestoreValue.FromString(s),
        char c => FirestoreValue.FromString(c.ToString()),
        Guid g => FirestoreValue.FromString(g.ToString()),
        Enum e => FirestoreValue.FromString(e.ToString()),
        byte[] bytes => FirestoreValue.FromBytes(bytes),
        ReadOnlyMemory<byte> memory => FirestoreValue.FromBytes(memory.Span),
        Memory<byte> memory => FirestoreValue.FromBytes(memory.Span),
        FirestoreReference reference => FirestoreValue.FromReference(reference),
        FirestoreGeoPoint point => FirestoreValue.FromGeoPoint(point),
        IDictionary dictionary => FirestoreValue.FromMap(MapEntries(dictionary)),
        IEnumerable sequence => FirestoreValue.FromArray(sequence.Cast<object?>().Select(ToValue)),
        _ => FirestoreValue.FromMap(ToFields(value)),
    };

    /// <summary>The fields of a document built from an object or a string-keyed dictionary.</summary>
    public static Dictionary<string, FirestoreValue> ToFields(object document)
    {
        ArgumentNullException.ThrowIfNull(document);
        if (document is IDictionary dictionary)
        {
            return new Dictionary<string, FirestoreValue>(MapEntries(dictionary), StringComparer.Ordinal);
        }

        var fields = new Dictionary<string, FirestoreValue>(StringComparer.Ordinal);
        foreach (var property in PropertiesOf(document.GetType()))
        {
            fields[FieldName(property)] = ToValue(property.GetValue(document));
        }

        return fields;
    }

    public static T? FromValue<T>(FirestoreValue value) => (T?)FromValue(value, typeof(T));

    /// <summary>Builds <typeparamref name="T"/> from document fields (settable properties or constructor parameters by name).</summary>
    public static T FromFields<T>(IReadOnlyDictionary<string, FirestoreValue> fields) => (T)FromFields(fields, typeof(T));

    public static object? FromValue(FirestoreValue value, Type type)
    {
        ArgumentNullException.ThrowIfNull(value);
        ArgumentNullException.ThrowIfNull(type);
        var target = Nullable.GetUnderlyingType(type) ?? type;
        if (value.Kind == FirestoreValueKind.NullValue)
        {
            return !type.IsValueType || Nullable.GetUnderlyingType(type) is not null
                ? null
                : throw new InvalidCastException($"null cannot be stored in {type.Name}");
        }

        if (target == typeof(FirestoreValue))
        {
            return value;
        }

        if (target == typeof(object))
        {
            return Natural(value);
        }

        switch (value.Kind)
        {
            case FirestoreValueKind.BooleanValue when target == typeof(bool):
                return value.BooleanValue;
            case FirestoreValueKind.IntegerValue when target.IsPrimitive || target == typeof(decimal):
                return Convert.ChangeType(value.IntegerValue, target, System.Globalization.CultureInfo.InvariantCulture);
            case FirestoreValueKind.DoubleValue when target == typeof(double) || target == typeof(float) || target == typeof(decimal):
                return Convert.ChangeType(value.DoubleValue, target, System.Globalization.CultureInfo.InvariantCulture);
            case FirestoreValueKind.TimestampValue when target == typeof(DateTimeOffset):
                return value.TimestampValue;
            case FirestoreValueKind.TimestampValue when target == typeof(DateTime):
                return value.TimestampValue.UtcDateTime;
            case FirestoreValueKind.StringValue when target == typeof(string):
                return value.StringValue;
            case FirestoreValueKind.StringValue when target == typeof(Guid):
                return Guid.Parse(value.StringValue);
            case FirestoreValueKind.StringValue when target.IsEnum:
                return Enum.Parse(target, value.StringValue, ignoreCase: true);
            case FirestoreValueKind.StringValue when target == typeof(char) && value.StringValue.Length == 1:
                return value.StringValue[0];
            case FirestoreValueKind.BytesValue when target == typeof(byte[]):
                return value.BytesValue.ToArray();
            case FirestoreValueKind.BytesValue when target == typeof(ReadOnlyMemory<byte>):
                return value.BytesValue;
            case FirestoreValueKind.ReferenceValue when target == typeof(FirestoreReference):
                return value.ReferenceValue;
            case FirestoreValueKind.ReferenceValue when target == typeof(string):
                return value.ReferenceValue.Name;
            case FirestoreValueKind.GeoPointValue when target == typeof(FirestoreGeoPoint):
                return value.GeoPointValue;
            case FirestoreValueKind.ArrayValue when ElementType(target) is { } element:
                return MakeSequence(target, element, value.ArrayValue.Select(v => FromValue(v, element)));
            case FirestoreValueKind.MapValue when DictionaryValueType(target) is { } valueType:
                return MakeDictionary(target, valueType, value.MapValue);
            case FirestoreValueKind.MapValue when !target.IsPrimitive && target != typeof(string):
                return FromFields(value.MapValue, target);
            default:
                throw new InvalidCastException($"a Firestore {value.Kind} value cannot be read as {type.Name}");
        }
    }

    private static object FromFields(IReadOnlyDictionary<string, FirestoreValue> fields, Type type)
    {
        if (type == typeof(Dictionary<string, FirestoreValue>) || type == typeof(IReadOnlyDictionary<string, FirestoreValue>))
        {
            return new Dictionary<string, FirestoreValue>(fields, StringComparer.Ordinal);
        }

        if (DictionaryValueType(type) is { } valueType)
        {
            return MakeDictionary(type, valueType, fields);
        }

        var properties = PropertiesOf(type);
        var byName = new Dictionary<string, FirestoreValue>(fields, StringComparer.OrdinalIgnoreCase);
        var constructor = type.GetConstructor(Type.EmptyTypes)
            ?? type.GetConstructors().OrderByDescending(c => c.GetParameters().Length).FirstOrDefault()
            ?? throw new InvalidCastException($"{type.Name} has no public constructor");
        var parameters = constructor.GetParameters();
        var arguments = new object?[parameters.Length];
        var bound = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < parameters.Length; i++)
        {
            var property = properties.FirstOrDefault(p => string.Equals(p.Name, parameters[i].Name, StringComparison.OrdinalIgnoreCase));
            var name = property is null ? parameters[i].Name! : FieldName(property);
            if (byName.TryGetValue(name, out var field))
            {
                arguments[i] = FromValue(field, parameters[i].ParameterType);
                bound.Add(name);
            }
            else
            {
                arguments[i] = parameters[i].HasDefaultValue ? parameters[i].DefaultValue : Default(parameters[i].ParameterType);
            }
        }

        var instance = constructor.Invoke(arguments);
        foreach (var property in properties)
        {
            var name = FieldName(property);
            if (!bound.Contains(name) && property.SetMethod is { IsPublic: true } && byName.TryGetValue(name, out var field))
            {
                property.SetValue(instance, FromValue(field, property.PropertyType));
            }
        }

        return instance;
    }

    /// <summary>The plain CLR form: long, double, bool, string, DateTimeOffset, byte[], references, points, lists and dictionaries.</summary>
    public static object? Natural(FirestoreValue value) => value.Kind switch
    {
        FirestoreValueKind.NullValue => null,
        FirestoreValueKind.BooleanValue => value.BooleanValue,
        FirestoreValueKind.IntegerValue => value.IntegerValue,
        FirestoreValueKind.DoubleValue => value.DoubleValue,
        FirestoreValueKind.TimestampValue => value.TimestampValue,
        FirestoreValueKind.StringValue => value.StringValue,
        FirestoreValueKind.BytesValue => value.BytesValue.ToArray(),
        FirestoreValueKind.ReferenceValue => value.ReferenceValue,
        FirestoreValueKind.GeoPointValue => value.GeoPointValue,
        FirestoreValueKind.ArrayValue => value.ArrayValue.Select(Natural).ToList(),
        _ => value.MapValue.ToDictionary(p => p.Key, p => Natural(p.Value), StringComparer.Ordinal),
    };

    internal static string FieldName(PropertyInfo property) => property.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name ?? property.Name;

    private static PropertyInfo[] PropertiesOf(Type type) => Properties.GetOrAdd(type, t =>
        [.. t.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetIndexParameters().Length == 0 && p.GetMethod is not null && !p.IsDefined(typeof(JsonIgnoreAttribute)))]);

    private static IEnumerable<KeyValuePair<string, FirestoreValue>> MapEntries(IDictionary dictionary)
    {
        foreach (DictionaryEntry entry in dictionary)
        {
            yield return new KeyValuePair<string, FirestoreValue>(
                entry.Key as string ?? throw new ArgumentException("Firestore maps need string keys"), ToValue(entry.Value));
        }
    }

    private static object? Default(Type type) => type.IsValueType ? Activator.CreateInstance(type) : null;

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

        return type.IsGenericType && type.GetGenericArguments().Length == 1 && typeof(IEnumerable).IsAssignableFrom(type)
            ? type.GetGenericArguments()[0]
            : null;
    }

    private static object MakeSequence(Type target, Type element, IEnumerable<object?> items)
    {
        var list = (IList)Activator.CreateInstance(typeof(List<>).MakeGenericType(element))!;
        foreach (var item in items)
        {
            list.Add(item);
        }

        if (target.IsArray)
        {
            var array = Array.CreateInstance(element, list.Count);
            list.CopyTo(array, 0);
            return array;
        }

        return target.IsAssignableFrom(list.GetType()) ? list : Activator.CreateInstance(target, list)!;
    }

    private static Type? DictionaryValueType(Type type)
    {
        if (!type.IsGenericType || type.GetGenericArguments() is not [var key, var value] || key != typeof(string))
        {
            return null;
        }

        var definition = type.GetGenericTypeDefinition();
        return definition == typeof(Dictionary<,>) || definition == typeof(IDictionary<,>) || definition == typeof(IReadOnlyDictionary<,>) ? value : null;
    }

    private static object MakeDictionary(Type target, Type valueType, IReadOnlyDictionary<string, FirestoreValue> fields)
    {
        var dictionary = (IDictionary)Activator.CreateInstance(typeof(Dictionary<,>).MakeGenericType(typeof(string), valueType))!;
        foreach (var (name, field) in fields)
        {
            dictionary[name] = FromValue(field, valueType);
        }

        return target.IsAssignableFrom(dictionary.GetType()) ? dictionary : throw new InvalidCastException($"cannot build {target.Name}");
    }
}
