using System.Runtime.CompilerServices;
using System.Text;

namespace Dataflow.Hosting.ApplicationModel;

/// <summary>Something whose value is known only at run time (a port, a generated password, …).</summary>
public interface IValueProvider
{
    ValueTask<string?> GetValueAsync(CancellationToken cancellationToken = default);
}

/// <summary>Something that renders as a deployment-manifest expression such as <c>{redis.bindings.tcp.host}</c>.</summary>
public interface IManifestExpressionProvider
{
    string ValueExpression { get; }
}

/// <summary>
/// A string built from literals and run-time values, which renders both to its run-time value and to its
/// manifest expression. Create it from an interpolated string: <c>ReferenceExpression.Create($"{host}:{port}")</c>.
/// </summary>
public sealed class ReferenceExpression : IValueProvider, IManifestExpressionProvider
{
    private readonly IReadOnlyList<object> _parts;

    private ReferenceExpression(IReadOnlyList<object> parts) => _parts = parts;

    public static ReferenceExpression Create(in ExpressionInterpolatedStringHandler handler) => new(handler.Parts);

    public static ReferenceExpression Literal(string value) => new([value]);

    /// <summary>The values this expression depends on (endpoints, parameters, other expressions).</summary>
    public IEnumerable<object> ValueProviders => _parts.Where(p => p is not string);

    public string ValueExpression
    {
        get
        {
            var builder = new StringBuilder();
            foreach (var part in _parts)
            {
                builder.Append(part is string literal ? literal : ((IManifestExpressionProvider)part).ValueExpression);
            }
            return builder.ToString();
        }
    }

    public async ValueTask<string?> GetValueAsync(CancellationToken cancellationToken = default)
    {
        var builder = new StringBuilder();
        foreach (var part in _parts)
        {
            builder.Append(part is string literal ? literal : await ((IValueProvider)part).GetValueAsync(cancellationToken));
        }
        return builder.ToString();
    }

    public override string ToString() => ValueExpression;

    [InterpolatedStringHandler]
    public ref struct ExpressionInterpolatedStringHandler
    {
        private readonly List<object> _parts;

        public ExpressionInterpolatedStringHandler(int literalLength, int formattedCount)
        {
            _ = literalLength;
            _parts = new List<object>(formattedCount * 2 + 1);
        }

        internal readonly List<object> Parts => _parts;

        public readonly void AppendLiteral(string value) => _parts.Add(value);

        public readonly void AppendFormatted(string? value) => _parts.Add(value ?? string.Empty);

        public readonly void AppendFormatted(int value) =>
            _parts.Add(value.ToString(System.Globalization.CultureInfo.InvariantCulture));

        public readonly void AppendFormatted<T>(T value) where T : IValueProvider, IManifestExpressionProvider =>
            _parts.Add(value);
    }
}
