using System.Text.Json;

namespace Dataflow.Tests.Unit.Hosting;

/// <summary>
/// A JSON-schema validator for the keywords the Aspire manifest schema uses ($ref to local definitions, type, const, enum,
/// required, properties, additionalProperties, items, allOf, oneOf, not). Other keywords are annotations and ignored.
/// </summary>
public sealed class JsonSchemaValidator(JsonElement root)
{
    public IReadOnlyList<string> Validate(JsonElement instance)
    {
        var errors = new List<string>();
        Validate(root, instance, "$", errors);
        return errors;
    }

    private void Validate(JsonElement schema, JsonElement instance, string path, List<string> errors)
    {
        if (schema.ValueKind == JsonValueKind.True)
        {
            return;
        }
        if (schema.ValueKind == JsonValueKind.False)
        {
            errors.Add($"{path}: not allowed");
            return;
        }
        if (schema.TryGetProperty("$ref", out var reference))
        {
            Validate(Resolve(reference.GetString()!), instance, path, errors);
            return;
        }
        if (schema.TryGetProperty("type", out var type) && !MatchesType(type, instance))
        {
            errors.Add($"{path}: expected type {type}, found {instance.ValueKind}");
            return;
        }
        if (schema.TryGetProperty("const", out var constant) && !JsonElement.DeepEquals(constant, instance))
        {
            errors.Add($"{path}: expected {constant.GetRawText()}, found {instance.GetRawText()}");
        }
        if (schema.TryGetProperty("enum", out var values) && !values.EnumerateArray().Any(v => JsonElement.DeepEquals(v, instance)))
        {
            errors.Add($"{path}: {instance.GetRawText()} is not one of {values.GetRawText()}");
        }
        if (instance.ValueKind == JsonValueKind.Object)
        {
            ValidateObject(schema, instance, path, errors);
        }
        if (instance.ValueKind == JsonValueKind.Array && schema.TryGetProperty("items", out var items))
        {
            var index = 0;
            foreach (var item in instance.EnumerateArray())
            {
                Validate(items, item, $"{path}[{index++}]", errors);
            }
        }
        if (schema.TryGetProperty("allOf", out var allOf))
        {
            foreach (var part in allOf.EnumerateArray())
            {
                Validate(part, instance, path, errors);
            }
        }
        if (schema.TryGetProperty("oneOf", out var oneOf))
        {
            var attempts = oneOf.EnumerateArray().Select(option =>
            {
                var optionErrors = new List<string>();
                Validate(option, instance, path, optionErrors);
                return optionErrors;
            }).ToList();
            var matches = attempts.Count(a => a.Count == 0);
            if (matches != 1)
            {
                var closest = attempts.Where(a => a.Count > 0).OrderBy(a => a.Count).FirstOrDefault() ?? [];
                errors.Add($"{path}: matches {matches} of the oneOf alternatives instead of exactly one"
                    + (matches == 0 ? $" (closest: {string.Join("; ", closest)})" : ""));
            }
        }
        if (schema.TryGetProperty("not", out var not))
        {
            var notErrors = new List<string>();
            Validate(not, instance, path, notErrors);
            if (notErrors.Count == 0)
            {
                errors.Add($"{path}: matches a schema it must not match");
            }
        }
    }

    private void ValidateObject(JsonElement schema, JsonElement instance, string path, List<string> errors)
    {
        if (schema.TryGetProperty("required", out var required))
        {
            foreach (var name in required.EnumerateArray().Select(r => r.GetString()!))
            {
                if (!instance.TryGetProperty(name, out _))
                {
                    errors.Add($"{path}: missing required property '{name}'");
                }
            }
        }
        schema.TryGetProperty("properties", out var properties);
        var hasAdditional = schema.TryGetProperty("additionalProperties", out var additional);
        foreach (var property in instance.EnumerateObject())
        {
            if (properties.ValueKind == JsonValueKind.Object && properties.TryGetProperty(property.Name, out var propertySchema))
            {
                Validate(propertySchema, property.Value, $"{path}.{property.Name}", errors);
            }
            else if (hasAdditional)
            {
                if (additional.ValueKind == JsonValueKind.False)
                {
                    errors.Add($"{path}: property '{property.Name}' is not allowed");
                }
                else
                {
                    Validate(additional, property.Value, $"{path}.{property.Name}", errors);
                }
            }
        }
    }

    private JsonElement Resolve(string reference)
    {
        if (!reference.StartsWith("#/", StringComparison.Ordinal))
        {
            throw new NotSupportedException($"Only local references are supported: {reference}");
        }
        var node = root;
        foreach (var segment in reference[2..].Split('/'))
        {
            node = node.GetProperty(segment.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal));
        }
        return node;
    }

    private static bool MatchesType(JsonElement type, JsonElement instance) =>
        type.ValueKind == JsonValueKind.Array
            ? type.EnumerateArray().Any(t => MatchesType(t.GetString()!, instance))
            : MatchesType(type.GetString()!, instance);

    private static bool MatchesType(string type, JsonElement instance) => type switch
    {
        "object" => instance.ValueKind == JsonValueKind.Object,
        "array" => instance.ValueKind == JsonValueKind.Array,
        "string" => instance.ValueKind == JsonValueKind.String,
        "number" => instance.ValueKind == JsonValueKind.Number,
        "integer" => instance.ValueKind == JsonValueKind.Number && instance.TryGetInt64(out _),
        "boolean" => instance.ValueKind is JsonValueKind.True or JsonValueKind.False,
        "null" => instance.ValueKind == JsonValueKind.Null,
        _ => throw new NotSupportedException($"Unknown JSON type '{type}'."),
    };
}
