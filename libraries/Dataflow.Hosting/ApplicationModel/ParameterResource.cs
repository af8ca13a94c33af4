using System.Security.Cryptography;

namespace Dataflow.Hosting.ApplicationModel;

/// <summary>A configuration value, read from <c>Parameters:{name}</c>, optionally secret, optionally generated.</summary>
public sealed class ParameterResource : Resource, IValueProvider, IManifestExpressionProvider
{
    private readonly Lazy<string> _value;

    internal ParameterResource(string name, Func<string?> configuredValue, GenerateParameterDefault? generate, string? defaultValue, bool secret)
        : base(name)
    {
        Secret = secret;
        Generate = generate;
        Default = defaultValue;
        _value = new Lazy<string>(() => configuredValue()
            ?? defaultValue
            ?? (generate is not null ? generate.GenerateValue() : null)
            ?? throw new InvalidOperationException($"Parameter '{name}' has no value: set configuration key 'Parameters:{name}'."));
    }

    public bool Secret { get; }

    /// <summary>How the value is generated when not configured (written to the manifest as <c>default.generate</c>).</summary>
    public GenerateParameterDefault? Generate { get; }

    public string? Default { get; }

    public string Value => _value.Value;

    /// <summary>The value, or null when it is not configured (for masking secrets in logs without failing).</summary>
    internal string? ValueOrNull
    {
        get
        {
            try
            {
                return _value.Value;
            }
            catch (InvalidOperationException)
            {
                return null;
            }
        }
    }

    public string ValueExpression => $"{{{Name}.value}}";

    public ValueTask<string?> GetValueAsync(CancellationToken cancellationToken = default) => ValueTask.FromResult<string?>(Value);
}

/// <summary>Aspire's <c>generate</c> default: a random string with the given minimum length and character classes.</summary>
public sealed record GenerateParameterDefault(int MinLength = 22, bool Lower = true, bool Upper = true, bool Numeric = true, bool Special = false)
{
    public string GenerateValue()
    {
        var alphabet = (Lower ? "abcdefghijklmnopqrstuvwxyz" : "")
            + (Upper ? "ABCDEFGHIJKLMNOPQRSTUVWXYZ" : "")
            + (Numeric ? "0123456789" : "")
            + (Special ? "-_.~" : "");
        if (alphabet.Length == 0)
        {
            throw new InvalidOperationException("A generated parameter needs at least one character class.");
        }
        return RandomNumberGenerator.GetString(alphabet, MinLength);
    }
}

/// <summary>A connection string supplied by configuration (<c>ConnectionStrings:{name}</c>) rather than by a resource.</summary>
public sealed class ConnectionStringResource(string name, ParameterResource value) : Resource(name), IResourceWithConnectionString
{
    public ParameterResource Value { get; } = value;

    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create($"{Value}");
}
