namespace Dataflow.Hosting.ApplicationModel;

/// <summary>Marker for any metadata attached to a resource.</summary>
public interface IResourceAnnotation;

/// <summary>A named thing in the distributed application (a process, a parameter, a connection string, …).</summary>
public interface IResource
{
    string Name { get; }

    ResourceAnnotationCollection Annotations { get; }
}

/// <summary>A resource whose environment can be configured (projects and executables).</summary>
public interface IResourceWithEnvironment : IResource;

/// <summary>A resource that accepts command-line arguments.</summary>
public interface IResourceWithArgs : IResource;

/// <summary>A resource that exposes network endpoints.</summary>
public interface IResourceWithEndpoints : IResource;

/// <summary>A resource that can wait for other resources before it starts.</summary>
public interface IResourceWithWaitSupport : IResource;

/// <summary>A resource that belongs to another one (a database of a server).</summary>
public interface IResourceWithParent : IResource
{
    IResource Parent { get; }
}

/// <summary>A resource other resources can reference through <c>ConnectionStrings__{name}</c>.</summary>
public interface IResourceWithConnectionString : IResource, IValueProvider, IManifestExpressionProvider
{
    /// <summary>The connection string, as an expression over endpoints and parameters.</summary>
    ReferenceExpression ConnectionStringExpression { get; }

    /// <summary>The name used in <c>ConnectionStrings__{name}</c> (the resource name unless overridden).</summary>
    string ConnectionStringEnvironmentName => Name;

    ValueTask<string?> IValueProvider.GetValueAsync(CancellationToken cancellationToken) =>
        ConnectionStringExpression.GetValueAsync(cancellationToken);

    string IManifestExpressionProvider.ValueExpression => $"{{{Name}.connectionString}}";
}

/// <summary>A resource that references other resources' service endpoints (service discovery).</summary>
public interface IResourceWithServiceDiscovery : IResourceWithEndpoints;

public abstract class Resource : IResource
{
    protected Resource(string name)
    {
        ResourceNames.Validate(name);
        Name = name;
    }

    public string Name { get; }

    public ResourceAnnotationCollection Annotations { get; } = [];

    public override string ToString() => Name;
}

public sealed class ResourceAnnotationCollection : List<IResourceAnnotation>
{
    public IEnumerable<T> OfType<T>() where T : IResourceAnnotation => Enumerable.OfType<T>(this);
}

public static class ResourceNames
{
    /// <summary>Aspire's rule: ASCII letters, digits and hyphens, starting with a letter, no double or trailing hyphen, ≤ 64 chars.</summary>
    public static void Validate(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var valid = name.Length <= 64
            && char.IsAsciiLetter(name[0])
            && name[^1] != '-'
            && !name.Contains("--", StringComparison.Ordinal)
            && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '-');
        if (!valid)
        {
            throw new ArgumentException(
                $"Resource name '{name}' is invalid: use ASCII letters, digits and single hyphens, start with a letter, at most 64 characters.",
                nameof(name));
        }
    }
}
