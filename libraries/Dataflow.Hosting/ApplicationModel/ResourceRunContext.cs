using Dataflow.Hosting.Orchestration;
using Dataflow.Hosting.Processes;

namespace Dataflow.Hosting.ApplicationModel;

/// <summary>What a resource sees while it is being started: its private directory, ports, log and helpers.</summary>
public sealed class ResourceRunContext
{
    internal ResourceRunContext(IResource resource, int replicaIndex, string dataDirectory, ResourceBacking backing,
        LogBuffer log, ProjectBuildCache builds, DistributedApplicationModel model)
    {
        Resource = resource;
        ReplicaIndex = replicaIndex;
        DataDirectory = dataDirectory;
        Backing = backing;
        Log = log;
        Builds = builds;
        Model = model;
    }

    public IResource Resource { get; }

    public int ReplicaIndex { get; }

    /// <summary>A private directory for this resource, deleted when the application stops.</summary>
    public string DataDirectory { get; }

    public ResourceBacking Backing { get; }

    /// <summary>The resource's console log (the orchestrator writes its own lines here too).</summary>
    public LogBuffer Log { get; }

    internal ProjectBuildCache Builds { get; }

    public DistributedApplicationModel Model { get; }

    /// <summary>The local port of this replica for the named endpoint.</summary>
    public int Port(string endpointName = "tcp")
    {
        var endpoint = Resource.Annotations.OfType<EndpointAnnotation>().FirstOrDefault(e => e.Name == endpointName)
            ?? throw new InvalidOperationException($"Resource '{Resource.Name}' has no endpoint '{endpointName}'.");
        return endpoint.AllocatedPorts[ReplicaIndex];
    }

    /// <summary>Runs a one-shot helper program (initdb, psql, …) to completion, failing with its output when it fails.</summary>
    public async Task<string> RunToCompletionAsync(string fileName, IReadOnlyList<string> arguments, CancellationToken cancellationToken,
        string? runAsUser = null, IReadOnlyDictionary<string, string?>? environment = null)
    {
        Log.Write(LogStream.StandardOutput, $"[apphost] running {Path.GetFileName(fileName)} {string.Join(' ', arguments)}");
        await using var process = await ChildProcess.StartAsync(new ChildProcessOptions(fileName, arguments)
        {
            DisplayName = $"{Resource.Name}:{Path.GetFileName(fileName)}",
            RunAsUser = runAsUser,
            WorkingDirectory = DataDirectory,
            Environment = environment ?? new Dictionary<string, string?>(),
        }, cancellationToken);
        int exitCode;
        try
        {
            exitCode = await process.Exited.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw;
        }
        var output = process.Logs.Tail(40);
        foreach (var line in process.Logs.Snapshot())
        {
            Log.Write(line.Stream, line.Text);
        }
        if (exitCode != 0)
        {
            throw new ResourceStartException($"{Path.GetFileName(fileName)} exited with code {exitCode}: {output}");
        }
        return output;
    }

    /// <summary>Runs <paramref name="fileName"/> found on this machine, or fails naming the Debian package.</summary>
    public Task<string> RunToolAsync(string tool, string package, IReadOnlyList<string> arguments, CancellationToken cancellationToken,
        string? runAsUser = null, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var path = BinaryLocator.Find(tool)
            ?? throw new ResourceStartException($"'{tool}' is not installed: apt-get install {package}");
        return RunToCompletionAsync(path, arguments, cancellationToken, runAsUser, environment);
    }
}

/// <summary>A resource could not be started; the message says why and what to do.</summary>
public sealed class ResourceStartException : Exception
{
    public ResourceStartException(string message) : base(message)
    {
    }

    public ResourceStartException(string message, Exception innerException) : base(message, innerException)
    {
    }

    public ResourceStartException()
    {
    }
}
