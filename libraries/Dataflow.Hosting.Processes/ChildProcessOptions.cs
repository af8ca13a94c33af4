namespace Dataflow.Hosting.Processes;

/// <summary>What to run as a child process of this one.</summary>
public sealed record ChildProcessOptions(string FileName, IReadOnlyList<string> Arguments)
{
    /// <summary>Short name used in log lines and diagnostics (defaults to the file name).</summary>
    public string? DisplayName { get; init; }

    public string? WorkingDirectory { get; init; }

    /// <summary>Variables added to (or, when null, removed from) the inherited environment.</summary>
    public IReadOnlyDictionary<string, string?> Environment { get; init; } = new Dictionary<string, string?>();

    /// <summary>Run under this local user (servers such as postgres refuse to run as root). Requires root.</summary>
    public string? RunAsUser { get; init; }

    /// <summary>How many log lines to keep in memory.</summary>
    public int LogCapacity { get; init; } = 2000;

    /// <summary>Write output into this buffer instead of a new one (keeps a resource's log across restarts).</summary>
    public LogBuffer? Logs { get; init; }
}
