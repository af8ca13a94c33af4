namespace Dataflow.Hosting.ApplicationModel;

/// <summary>A local program run as a child process of the AppHost.</summary>
public class ExecutableResource(string name, string command, string? workingDirectory = null)
    : Resource(name), IResourceWithEnvironment, IResourceWithArgs, IResourceWithEndpoints, IResourceWithWaitSupport
{
    /// <summary>The program: an absolute path or a name looked up on PATH (and the usual server folders).</summary>
    public string Command { get; } = command;

    public string? WorkingDirectory { get; } = workingDirectory;

    /// <summary>Run as this local user (servers that refuse root). Only applied when the AppHost runs as root.</summary>
    public string? RunAsUser { get; init; }

    /// <summary>The Debian package that provides <see cref="Command"/>, named in the error when it is missing.</summary>
    public string? Package { get; init; }

    /// <summary>How the resource is backed on this machine; computed when the model is built.</summary>
    public virtual ResourceBacking ResolveBacking()
    {
        var path = BinaryLocator.Find(Command);
        return path is not null
            ? ResourceBacking.LocalProcess(path)
            : ResourceBacking.Missing($"'{Command}' is not installed: apt-get install {Package ?? Command}");
    }

    /// <summary>Runs before each start: prepare the data directory, write configuration files, …</summary>
    public virtual Task PrepareAsync(ResourceRunContext context, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Runs once the process is healthy (before dependents are released): create databases, users, …</summary>
    public virtual Task OnHealthyAsync(ResourceRunContext context, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Starts the server inside the AppHost process, for a resource whose <see cref="ResolveBacking"/> chose
    /// <see cref="ResourceBackingKind.Embedded"/>; disposing the result stops it.
    /// </summary>
    public virtual Task<IAsyncDisposable> StartEmbeddedAsync(ResourceRunContext context, CancellationToken cancellationToken) =>
        throw new NotSupportedException($"Resource '{Name}' has no embedded server.");

    /// <summary>The program and arguments to start, after <see cref="PrepareAsync"/>.</summary>
    public virtual ValueTask<(string FileName, IReadOnlyList<string> Arguments)> GetStartCommandAsync(
        ResourceRunContext context, IReadOnlyList<string> arguments, CancellationToken cancellationToken) =>
        ValueTask.FromResult<(string, IReadOnlyList<string>)>((context.Backing.Path ?? Command, arguments));
}

/// <summary>What runs behind a resource on this machine.</summary>
public sealed record ResourceBacking(ResourceBackingKind Kind, string Description, string? Path = null)
{
    public static ResourceBacking LocalProcess(string path) => new(ResourceBackingKind.LocalProcess, $"local process {path}", path);

    public static ResourceBacking Value(string description) => new(ResourceBackingKind.Value, description);

    public static ResourceBacking Missing(string message) => new(ResourceBackingKind.Missing, message);

    public static ResourceBacking Embedded(string description) => new(ResourceBackingKind.Embedded, description);

    public bool IsAvailable => Kind != ResourceBackingKind.Missing;
}

public enum ResourceBackingKind
{
    /// <summary>A program on this machine, run as a child process.</summary>
    LocalProcess,

    /// <summary>A value (parameter, connection string, database on a server): no process of its own.</summary>
    Value,

    /// <summary>Nothing on this machine can back it; it fails to start with an install hint.</summary>
    Missing,

    /// <summary>A development server built into the AppHost runs it in-process (the local program is not installed).</summary>
    Embedded,
}

/// <summary>Locates server programs: PATH first, then the folders Debian installs servers into.</summary>
public static class BinaryLocator
{
    private static readonly string[] ExtraFolders = ["/usr/sbin", "/usr/local/sbin", "/sbin"];

    public static string? Find(string command)
    {
        ArgumentException.ThrowIfNullOrEmpty(command);
        if (Path.IsPathRooted(command))
        {
            return File.Exists(command) ? command : null;
        }
        var folders = (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(ExtraFolders)
            .Concat(PostgresFolders());
        return folders.Select(f => Path.Combine(f, command)).FirstOrDefault(File.Exists);
    }

    private static IEnumerable<string> PostgresFolders() =>
        Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").OrderDescending(StringComparer.Ordinal).Select(d => Path.Combine(d, "bin"))
            : [];
}
