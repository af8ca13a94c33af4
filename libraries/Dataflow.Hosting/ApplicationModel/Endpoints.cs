namespace Dataflow.Hosting.ApplicationModel;

/// <summary>A network endpoint a resource listens on. The port is allocated when the application starts.</summary>
public sealed class EndpointAnnotation(string name, string scheme, string transport, int? targetPort, bool isExternal)
    : IResourceAnnotation
{
    public string Name { get; } = name;

    /// <summary>URI scheme: <c>http</c>, <c>https</c>, <c>tcp</c>.</summary>
    public string Scheme { get; } = scheme;

    /// <summary>Manifest transport: <c>http</c>, <c>http2</c> or <c>tcp</c>.</summary>
    public string Transport { get; } = transport;

    /// <summary>The port a container image listens on (manifest only; local processes use <see cref="AllocatedPorts"/>).</summary>
    public int? TargetPort { get; } = targetPort;

    public bool IsExternal { get; } = isExternal;

    /// <summary>A fixed local port, or null for a free one chosen at start.</summary>
    public int? Port { get; init; }

    /// <summary>The local ports in use, one per replica, set when the application starts.</summary>
    public IReadOnlyList<int> AllocatedPorts { get; internal set; } = [];

    public bool IsAllocated => AllocatedPorts.Count > 0;
}

public enum EndpointProperty
{
    Url,
    Host,
    Port,
    TargetPort,
    Scheme,
    HostAndPort,
}

/// <summary>A reference to one endpoint of a resource (replica 0 when the resource has replicas).</summary>
public sealed class EndpointReference(IResourceWithEndpoints resource, string endpointName)
    : IValueProvider, IManifestExpressionProvider
{
    public IResourceWithEndpoints Resource { get; } = resource;

    public string EndpointName { get; } = endpointName;

    public EndpointAnnotation Endpoint =>
        Resource.Annotations.OfType<EndpointAnnotation>().FirstOrDefault(e => e.Name == EndpointName)
        ?? throw new InvalidOperationException($"Resource '{Resource.Name}' has no endpoint named '{EndpointName}'.");

    public string Host { get; } = "127.0.0.1";

    public int Port => Endpoint.IsAllocated
        ? Endpoint.AllocatedPorts[0]
        : throw new InvalidOperationException($"The port of endpoint '{EndpointName}' of '{Resource.Name}' is not allocated yet: the application has not started.");

    public string Url => $"{Endpoint.Scheme}://{Host}:{Port}";

    public string ValueExpression => $"{{{Resource.Name}.bindings.{EndpointName}.url}}";

    public EndpointReferenceExpression Property(EndpointProperty property) => new(this, property);

    public ValueTask<string?> GetValueAsync(CancellationToken cancellationToken = default) => ValueTask.FromResult<string?>(Url);
}

public sealed class EndpointReferenceExpression(EndpointReference endpoint, EndpointProperty property)
    : IValueProvider, IManifestExpressionProvider
{
    public EndpointReference Endpoint { get; } = endpoint;

    public EndpointProperty Property { get; } = property;

    public string ValueExpression => Property switch
    {
        EndpointProperty.Url => $"{{{Endpoint.Resource.Name}.bindings.{Endpoint.EndpointName}.url}}",
        EndpointProperty.Host => $"{{{Endpoint.Resource.Name}.bindings.{Endpoint.EndpointName}.host}}",
        EndpointProperty.Port => $"{{{Endpoint.Resource.Name}.bindings.{Endpoint.EndpointName}.port}}",
        EndpointProperty.TargetPort => $"{{{Endpoint.Resource.Name}.bindings.{Endpoint.EndpointName}.targetPort}}",
        EndpointProperty.Scheme => $"{{{Endpoint.Resource.Name}.bindings.{Endpoint.EndpointName}.scheme}}",
        EndpointProperty.HostAndPort =>
            $"{{{Endpoint.Resource.Name}.bindings.{Endpoint.EndpointName}.host}}:{{{Endpoint.Resource.Name}.bindings.{Endpoint.EndpointName}.port}}",
        _ => throw new System.Diagnostics.UnreachableException(),
    };

    public ValueTask<string?> GetValueAsync(CancellationToken cancellationToken = default)
    {
        var port = Endpoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return ValueTask.FromResult<string?>(Property switch
        {
            EndpointProperty.Url => Endpoint.Url,
            EndpointProperty.Host => Endpoint.Host,
            EndpointProperty.Port or EndpointProperty.TargetPort => port,
            EndpointProperty.Scheme => Endpoint.Endpoint.Scheme,
            EndpointProperty.HostAndPort => $"{Endpoint.Host}:{port}",
            _ => throw new System.Diagnostics.UnreachableException(),
        });
    }
}
