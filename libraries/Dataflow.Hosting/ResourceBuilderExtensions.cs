using Dataflow.Hosting.ApplicationModel;

namespace Dataflow.Hosting;

/// <summary>The Aspire-shaped <c>Add*</c> and <c>With*</c> methods for the core resource kinds.</summary>
public static class ResourceBuilderExtensions
{
    public static IResourceBuilder<ProjectResource> AddProject<TProject>(this IDistributedApplicationBuilder builder, string name)
        where TProject : IProjectMetadata, new() =>
        builder.AddProject(name, new TProject());

    public static IResourceBuilder<ProjectResource> AddProject(this IDistributedApplicationBuilder builder, string name, string projectPath) =>
        builder.AddProject(name, new ProjectPathMetadata(Path.GetFullPath(projectPath)));

    public static IResourceBuilder<ProjectResource> AddProject(this IDistributedApplicationBuilder builder, string name, IProjectMetadata metadata)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(metadata);
        var project = new ProjectResource(name, metadata);
        project.Annotations.Add(new EndpointAnnotation("http", "http", "http", targetPort: null, isExternal: false));
        return builder.AddResource(project)
            .WithEnvironment(context =>
            {
                var self = new EndpointReference(project, "http");
                context.EnvironmentVariables["ASPNETCORE_FORWARDEDHEADERS_ENABLED"] = "true";
                if (context.IsPublishMode)
                {
                    context.EnvironmentVariables["HTTP_PORTS"] = self.Property(EndpointProperty.TargetPort);
                    return;
                }
                var port = self.Endpoint.AllocatedPorts[context.ReplicaIndex];
                context.EnvironmentVariables["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
                context.EnvironmentVariables["ASPNETCORE_ENVIRONMENT"] = "Development";
                context.EnvironmentVariables["DOTNET_ENVIRONMENT"] = "Development";
                context.EnvironmentVariables["OTEL_SERVICE_NAME"] = project.Name;
                context.EnvironmentVariables["OTEL_RESOURCE_ATTRIBUTES"] = $"service.instance.id={InstanceName(project, context.ReplicaIndex)}";
            })
            .WithHttpHealthCheck("/readyz");
    }

    public static IResourceBuilder<ExecutableResource> AddExecutable(this IDistributedApplicationBuilder builder, string name,
        string command, string? workingDirectory = null, params string[] args)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddResource(new ExecutableResource(name, command, workingDirectory)).WithArgs(args);
    }

    /// <summary>A configuration value from <c>Parameters:{name}</c>.</summary>
    public static IResourceBuilder<ParameterResource> AddParameter(this IDistributedApplicationBuilder builder, string name,
        bool secret = false, string? defaultValue = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddResource(new ParameterResource(name, () => builder.Configuration[$"Parameters:{name}"], null, defaultValue, secret));
    }

    /// <summary>A parameter generated at random when not configured (a password); the manifest asks azd to generate it.</summary>
    public static IResourceBuilder<ParameterResource> AddParameter(this IDistributedApplicationBuilder builder, string name,
        GenerateParameterDefault generate, bool secret = true)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddResource(new ParameterResource(name, () => builder.Configuration[$"Parameters:{name}"], generate, null, secret));
    }

    /// <summary>A connection string read from <c>ConnectionStrings:{name}</c> (an existing server outside the AppHost).</summary>
    public static IResourceBuilder<ConnectionStringResource> AddConnectionString(this IDistributedApplicationBuilder builder, string name)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var value = new ParameterResource(name, () => builder.Configuration[$"ConnectionStrings:{name}"], null, null, secret: true);
        return builder.AddResource(new ConnectionStringResource(name, value));
    }

    public static IResourceBuilder<T> WithEnvironment<T>(this IResourceBuilder<T> builder, Action<EnvironmentCallbackContext> callback)
        where T : IResourceWithEnvironment
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Resource.Annotations.Add(new EnvironmentCallbackAnnotation(callback));
        return builder;
    }

    public static IResourceBuilder<T> WithEnvironment<T>(this IResourceBuilder<T> builder, string name, string value)
        where T : IResourceWithEnvironment =>
        builder.WithEnvironment(context => context.EnvironmentVariables[name] = value);

    public static IResourceBuilder<T> WithEnvironment<T>(this IResourceBuilder<T> builder, string name, ReferenceExpression value)
        where T : IResourceWithEnvironment =>
        builder.WithEnvironment(context => context.EnvironmentVariables[name] = value);

    public static IResourceBuilder<T> WithEnvironment<T>(this IResourceBuilder<T> builder, string name, IResourceBuilder<ParameterResource> parameter)
        where T : IResourceWithEnvironment
    {
        ArgumentNullException.ThrowIfNull(parameter);
        return builder.WithEnvironment(context => context.EnvironmentVariables[name] = parameter.Resource);
    }

    public static IResourceBuilder<T> WithArgs<T>(this IResourceBuilder<T> builder, params string[] args) where T : IResourceWithArgs
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(args);
        if (args.Length > 0)
        {
            builder.Resource.Annotations.Add(new CommandLineArgsCallbackAnnotation(context => context.Args.AddRange(args)));
        }
        return builder;
    }

    public static IResourceBuilder<T> WithArgs<T>(this IResourceBuilder<T> builder, Action<CommandLineArgsCallbackContext> callback)
        where T : IResourceWithArgs
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Resource.Annotations.Add(new CommandLineArgsCallbackAnnotation(callback));
        return builder;
    }

    public static IResourceBuilder<T> WithEndpoint<T>(this IResourceBuilder<T> builder, string name, string scheme = "tcp",
        int? targetPort = null, int? port = null, bool isExternal = false)
        where T : IResourceWithEndpoints
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (builder.Resource.Annotations.OfType<EndpointAnnotation>().Any(e => e.Name == name))
        {
            throw new InvalidOperationException($"Resource '{builder.Resource.Name}' already has an endpoint named '{name}'.");
        }
        var transport = scheme is "http" or "https" ? "http" : scheme == "http2" ? "http2" : "tcp";
        builder.Resource.Annotations.Add(new EndpointAnnotation(name, scheme == "http2" ? "http" : scheme, transport, targetPort, isExternal) { Port = port });
        return builder;
    }

    public static IResourceBuilder<T> WithHttpEndpoint<T>(this IResourceBuilder<T> builder, string name = "http", int? targetPort = null,
        int? port = null) where T : IResourceWithEndpoints =>
        builder.WithEndpoint(name, "http", targetPort, port);

    /// <summary>Marks the HTTP endpoint as reachable from outside the deployment (ingress).</summary>
    public static IResourceBuilder<T> WithExternalHttpEndpoints<T>(this IResourceBuilder<T> builder) where T : IResourceWithEndpoints
    {
        ArgumentNullException.ThrowIfNull(builder);
        var endpoints = builder.Resource.Annotations.OfType<EndpointAnnotation>().Where(e => e.Transport == "http").ToList();
        foreach (var endpoint in endpoints)
        {
            builder.Resource.Annotations.Remove(endpoint);
            builder.Resource.Annotations.Add(new EndpointAnnotation(endpoint.Name, endpoint.Scheme, endpoint.Transport, endpoint.TargetPort, true) { Port = endpoint.Port });
        }
        return builder;
    }

    public static EndpointReference GetEndpoint<T>(this IResourceBuilder<T> builder, string name) where T : IResourceWithEndpoints
    {
        ArgumentNullException.ThrowIfNull(builder);
        return new EndpointReference(builder.Resource, name);
    }

    /// <summary>Health = HTTP GET <paramref name="path"/> on the first HTTP endpoint answers 2xx.</summary>
    public static IResourceBuilder<T> WithHttpHealthCheck<T>(this IResourceBuilder<T> builder, string path = "/readyz") where T : IResourceWithEndpoints
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.WithHealthProbe(new HealthProbeAnnotation($"HTTP GET {path}", (context, ct) => HealthProbes.HttpOkAsync(context.Port, path, ct)));
    }

    public static IResourceBuilder<T> WithHealthProbe<T>(this IResourceBuilder<T> builder, HealthProbeAnnotation probe) where T : IResource
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Resource.Annotations.RemoveAll(a => a is HealthProbeAnnotation);
        builder.Resource.Annotations.Add(probe);
        return builder;
    }

    /// <summary>Runs <paramref name="replicas"/> copies side by side, each on its own port (put a load balancer in front with <c>AddNginxLoadBalancer</c>).</summary>
    public static IResourceBuilder<T> WithReplicas<T>(this IResourceBuilder<T> builder, int replicas) where T : ExecutableResource
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Resource.Annotations.RemoveAll(a => a is ReplicaAnnotation);
        builder.Resource.Annotations.Add(new ReplicaAnnotation(replicas));
        return builder;
    }

    /// <summary>Start only when <paramref name="dependency"/> is running and healthy.</summary>
    public static IResourceBuilder<T> WaitFor<T>(this IResourceBuilder<T> builder, IResourceBuilder<IResource> dependency)
        where T : IResourceWithWaitSupport
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(dependency);
        EnsureNotSelf(builder.Resource, dependency.Resource);
        builder.Resource.Annotations.Add(new WaitAnnotation(dependency.Resource, WaitType.WaitUntilHealthy));
        return builder;
    }

    /// <summary>Start only when <paramref name="dependency"/> (a one-shot process or job) has finished (process exit code 0).</summary>
    public static IResourceBuilder<T> WaitForCompletion<T>(this IResourceBuilder<T> builder, IResourceBuilder<IResource> dependency)
        where T : IResourceWithWaitSupport
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(dependency);
        EnsureNotSelf(builder.Resource, dependency.Resource);
        if (dependency.Resource is not (ExecutableResource or JobResource))
        {
            throw new InvalidOperationException($"'{dependency.Resource.Name}' never completes: only projects, executables and jobs can.");
        }
        builder.Resource.Annotations.Add(new WaitAnnotation(dependency.Resource, WaitType.WaitForCompletion));
        return builder;
    }

    /// <summary>Injects <c>ConnectionStrings__{connectionName}</c> (the source's name by default).</summary>
    public static IResourceBuilder<T> WithReference<T>(this IResourceBuilder<T> builder, IResourceBuilder<IResourceWithConnectionString> source,
        string? connectionName = null) where T : IResourceWithEnvironment
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(source);
        var resource = source.Resource;
        var name = connectionName ?? resource.ConnectionStringEnvironmentName;
        builder.Resource.Annotations.Add(new ResourceRelationshipAnnotation(resource, "Reference"));
        builder.WithEnvironment(context => context.EnvironmentVariables[$"ConnectionStrings__{name}"] = resource);
        if (resource is IResourceWithReferenceEnvironment extra)
        {
            builder.WithEnvironment(extra.ApplyReferenceEnvironment);
        }
        return builder;
    }

    /// <summary>Injects the service-discovery variables <c>services__{name}__{endpoint}__{i}</c> of <paramref name="source"/>.</summary>
    public static IResourceBuilder<T> WithReference<T>(this IResourceBuilder<T> builder, IResourceBuilder<IResourceWithServiceDiscovery> source)
        where T : IResourceWithEnvironment
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(source);
        var resource = source.Resource;
        builder.Resource.Annotations.Add(new ResourceRelationshipAnnotation(resource, "Reference"));
        return builder.WithEnvironment(context =>
        {
            foreach (var endpoint in resource.Annotations.OfType<EndpointAnnotation>().Where(e => e.Transport is "http" or "http2"))
            {
                if (context.IsPublishMode)
                {
                    context.EnvironmentVariables[$"services__{resource.Name}__{endpoint.Name}__0"] = new EndpointReference(resource, endpoint.Name);
                    continue;
                }
                for (var i = 0; i < endpoint.AllocatedPorts.Count; i++)
                {
                    context.EnvironmentVariables[$"services__{resource.Name}__{endpoint.Name}__{i}"] =
                        $"{endpoint.Scheme}://127.0.0.1:{endpoint.AllocatedPorts[i]}";
                }
            }
        });
    }

    /// <summary>Injects the emulator variables of a Google Cloud resource (PUBSUB_EMULATOR_HOST, …) and the project id.</summary>
    public static IResourceBuilder<T> WithReference<T>(this IResourceBuilder<T> builder, IResourceBuilder<IResourceWithReferenceEnvironment> source)
        where T : IResourceWithEnvironment
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(source);
        builder.Resource.Annotations.Add(new ResourceRelationshipAnnotation(source.Resource, "Reference"));
        return builder.WithEnvironment(source.Resource.ApplyReferenceEnvironment);
    }

    /// <summary>Shows in the dashboard that this resource runs on an embedded fallback (e.g. an in-memory store).</summary>
    public static IResourceBuilder<T> WithEmbeddedFallback<T>(this IResourceBuilder<T> builder, string description) where T : IResource
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Resource.Annotations.Add(new EmbeddedFallbackAnnotation(description));
        return builder;
    }

    /// <summary>The instance name of a replica, also its <c>service.instance.id</c>.</summary>
    public static string InstanceName(IResource resource, int replicaIndex)
    {
        ArgumentNullException.ThrowIfNull(resource);
        var replicas = resource.Annotations.OfType<ReplicaAnnotation>().FirstOrDefault()?.Replicas ?? 1;
        return replicas == 1 ? resource.Name : $"{resource.Name}-{replicaIndex}";
    }

    private static void EnsureNotSelf(IResource resource, IResource dependency)
    {
        if (ReferenceEquals(resource, dependency))
        {
            throw new InvalidOperationException($"Resource '{resource.Name}' cannot wait for itself.");
        }
    }
}

/// <summary>A resource that injects its own variables into the resources referencing it (the GCP emulators).</summary>
public interface IResourceWithReferenceEnvironment : IResource
{
    void ApplyReferenceEnvironment(EnvironmentCallbackContext context);
}
