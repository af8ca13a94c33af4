namespace Dataflow.Hosting.Orchestration;

/// <summary>Resource states, named as Aspire names them.</summary>
public static class KnownResourceStates
{
    public const string NotStarted = "NotStarted";

    /// <summary>Waiting for the resources it <c>WaitFor</c>s.</summary>
    public const string Waiting = "Waiting";

    /// <summary>Preparing (data directory, build) and launching.</summary>
    public const string Starting = "Starting";

    /// <summary>The process runs (see the health status for readiness).</summary>
    public const string Running = "Running";

    /// <summary>The process runs but its health probe has kept failing after it had been healthy.</summary>
    public const string RuntimeUnhealthy = "RuntimeUnhealthy";

    /// <summary>It could not be started (missing program, failed preparation, failed dependency); see the message.</summary>
    public const string FailedToStart = "FailedToStart";

    /// <summary>The process has exited with a non-zero code, or was stopped.</summary>
    public const string Exited = "Exited";

    /// <summary>The process ran to completion with exit code 0.</summary>
    public const string Finished = "Finished";

    public const string Stopping = "Stopping";

    public static bool IsTerminal(string state) => state is FailedToStart or Exited or Finished;
}

public enum HealthStatus
{
    Unhealthy,
    Healthy,
}

/// <summary>One environment variable as shown in the dashboard.</summary>
public sealed record EnvironmentVariableSnapshot(string Name, string Value, bool IsSecret);

/// <summary>The state of one resource instance (one replica) at a point in time.</summary>
public sealed record ResourceSnapshot(
    string Name,
    string ResourceName,
    string ResourceType,
    int ReplicaIndex,
    string State,
    HealthStatus? Health,
    string Backing,
    string? Message,
    int? ProcessId,
    int? ExitCode,
    DateTimeOffset? StartedAt,
    DateTimeOffset? StoppedAt,
    IReadOnlyList<string> Urls,
    IReadOnlyList<EnvironmentVariableSnapshot> Environment,
    IReadOnlyList<string> DependsOn,
    long LogLines);
