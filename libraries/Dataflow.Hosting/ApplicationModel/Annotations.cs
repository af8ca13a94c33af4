namespace Dataflow.Hosting.ApplicationModel;

/// <summary>Whether the model is being run locally or written out as a deployment manifest.</summary>
public enum ExecutionMode
{
    Run,
    Publish,
}

/// <summary>Collects the environment of one resource (one replica when running).</summary>
public sealed class EnvironmentCallbackContext(ExecutionMode mode, int replicaIndex = 0)
{
    public ExecutionMode Mode { get; } = mode;

    public bool IsPublishMode => Mode == ExecutionMode.Publish;

    public int ReplicaIndex { get; } = replicaIndex;

    /// <summary>Values are <see cref="string"/> or providers implementing both <see cref="IValueProvider"/> and <see cref="IManifestExpressionProvider"/>.</summary>
    public Dictionary<string, object> EnvironmentVariables { get; } = new(StringComparer.Ordinal);
}

public sealed class EnvironmentCallbackAnnotation(Action<EnvironmentCallbackContext> callback) : IResourceAnnotation
{
    public Action<EnvironmentCallbackContext> Callback { get; } = callback;
}

/// <summary>Collects the command-line arguments of a resource.</summary>
public sealed class CommandLineArgsCallbackContext(ExecutionMode mode)
{
    public ExecutionMode Mode { get; } = mode;

    public List<object> Args { get; } = [];
}

public sealed class CommandLineArgsCallbackAnnotation(Action<CommandLineArgsCallbackContext> callback) : IResourceAnnotation
{
    public Action<CommandLineArgsCallbackContext> Callback { get; } = callback;
}

public enum WaitType
{
    /// <summary>Wait until the resource is running and healthy.</summary>
    WaitUntilHealthy,

    /// <summary>Wait until the resource has run to completion with exit code 0.</summary>
    WaitForCompletion,
}

public sealed class WaitAnnotation(IResource resource, WaitType waitType) : IResourceAnnotation
{
    public IResource Resource { get; } = resource;

    public WaitType WaitType { get; } = waitType;
}

/// <summary>Records that a resource references another (for the manifest and the dashboard).</summary>
public sealed class ResourceRelationshipAnnotation(IResource resource, string type) : IResourceAnnotation
{
    public IResource Resource { get; } = resource;

    public string Type { get; } = type;
}

/// <summary>How many copies of a process run side by side (each on its own port).</summary>
public sealed class ReplicaAnnotation(int replicas) : IResourceAnnotation
{
    public int Replicas { get; } = replicas >= 1 ? replicas : throw new ArgumentOutOfRangeException(nameof(replicas), "At least one replica.");
}

/// <summary>A readiness probe; <see cref="HealthProbes"/> has the common ones.</summary>
public sealed class HealthProbeAnnotation(string description, Func<HealthProbeContext, CancellationToken, Task<bool>> probe) : IResourceAnnotation
{
    public string Description { get; } = description;

    public Func<HealthProbeContext, CancellationToken, Task<bool>> Probe { get; } = probe;
}

/// <param name="Resource">The resource being probed.</param>
/// <param name="ReplicaIndex">Which replica.</param>
/// <param name="Port">The replica's port of its first endpoint (0 when it has none).</param>
public sealed record HealthProbeContext(IResource Resource, int ReplicaIndex, int Port);

/// <summary>Overrides how a resource is written into the deployment manifest.</summary>
public sealed class ManifestPublishingCallbackAnnotation(Action<Publishing.ManifestWriterContext> callback) : IResourceAnnotation
{
    public Action<Publishing.ManifestWriterContext> Callback { get; } = callback;
}

/// <summary>Hides a resource from the deployment manifest (development-only helpers).</summary>
public sealed class ExcludeFromManifestAnnotation : IResourceAnnotation;

/// <summary>Notes that a resource runs on a fallback built into the application (in-memory store, in-process broker), shown in the dashboard.</summary>
public sealed class EmbeddedFallbackAnnotation(string description) : IResourceAnnotation
{
    public string Description { get; } = description;
}
