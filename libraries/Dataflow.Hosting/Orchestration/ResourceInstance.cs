using Dataflow.Hosting.ApplicationModel;
using Dataflow.Hosting.Processes;

namespace Dataflow.Hosting.Orchestration;

/// <summary>The run-time side of one replica of one resource: state, process, log. Mutated only under <see cref="Gate"/> or by its lifecycle task.</summary>
internal sealed class ResourceInstance(IResource resource, int replicaIndex, string name, ResourceBacking backing, string dataDirectory)
{
    public IResource Resource { get; } = resource;

    public int ReplicaIndex { get; } = replicaIndex;

    public string Name { get; } = name;

    public ResourceBacking Backing { get; } = backing;

    public string DataDirectory { get; } = dataDirectory;

    public LogBuffer Log { get; } = new(5000);

    /// <summary>Serialises start/stop/restart commands.</summary>
    public SemaphoreSlim Gate { get; } = new(1, 1);

    public volatile string State = KnownResourceStates.NotStarted;
    public HealthStatus? Health;
    public string? Message;
    public int? ExitCode;
    public DateTimeOffset? StartedAt;
    public DateTimeOffset? StoppedAt;
    public ChildProcess? Process;
    public IReadOnlyList<EnvironmentVariableSnapshot> Environment = [];

    /// <summary>Cancels the current lifecycle (waiting, starting, monitoring).</summary>
    public CancellationTokenSource? RunCancellation;

    /// <summary>The current lifecycle; awaited on stop so nothing runs unowned.</summary>
    public Task Lifecycle = Task.CompletedTask;

    public bool StopRequested;
}
