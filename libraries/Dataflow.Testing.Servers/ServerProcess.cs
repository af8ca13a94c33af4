using System.Collections.Concurrent;
using System.Diagnostics;
using Dataflow.Hosting.Processes;

namespace Dataflow.Testing.Servers;

/// <summary>
/// A throwaway server run by the tests: its own temp directory, a free loopback port, a readiness probe,
/// and teardown that always releases the process and the directory (the process also dies with the test host).
/// </summary>
public abstract class ServerProcess : IAsyncDisposable
{
    private static readonly ConcurrentDictionary<ServerProcess, byte> Running = new();
    private ChildProcess? _process;

    private const string DirectoryPrefix = "dataflow-";
    private const string OwnerFile = ".owner-pid";

    static ServerProcess() => RemoveDirectoriesOfDeadRuns();

    protected ServerProcess(string name)
    {
        Name = name;
        DataDirectory = Directory.CreateTempSubdirectory($"{DirectoryPrefix}{name}-").FullName;
        File.WriteAllText(Path.Combine(DataDirectory, OwnerFile), Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        // Servers that drop privileges (postgres, mariadb, nginx workers) must be able to traverse it.
        File.SetUnixFileMode(DataDirectory, (UnixFileMode)0b111_101_101);
        Port = FreePort.Next();
    }

    public string Name { get; }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1822", Justification = "Part of every server's address, as Port is.")]
    public string Host => "127.0.0.1";

    public int Port { get; private set; }

    public string DataDirectory { get; }

    /// <summary>How long the server may take to become ready.</summary>
    protected virtual TimeSpan StartTimeout => TimeSpan.FromSeconds(30);

    /// <summary>Servers currently running in this test process (their logs go with a failing test's output).</summary>
    public static IReadOnlyCollection<ServerProcess> All => [.. Running.Keys];

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>The server's process id while it runs (benchmarks read its CPU time from /proc).</summary>
    public int? ProcessId => _process is { HasExited: false } process ? process.Id : null;

    /// <summary>The server's most recent log lines.</summary>
    public string LogTail(int lines = 50) => _process?.Logs.Tail(lines) ?? "(not started)";

    /// <summary>Starts (or restarts after <see cref="StopAsync"/>/<see cref="Kill"/>) the server on the same port.</summary>
    public async Task StartAgainAsync(CancellationToken cancellationToken = default)
    {
        if (IsRunning)
        {
            throw new InvalidOperationException($"{Name} is already running on port {Port}.");
        }
        _process = await ChildProcess.StartAsync(CreateProcessOptions(), cancellationToken);
        Running[this] = 0;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(StartTimeout);
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException(
                    $"{Name} exited with code {_process.Exited.Result} while starting on port {Port}. Last log lines:\n{LogTail()}");
            }
            try
            {
                if (await IsReadyAsync(timeout.Token))
                {
                    return;
                }
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Not ready yet; probe again.
            }
            try
            {
                await Task.Delay(100, timeout.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                break;
            }
        }
        throw new TimeoutException(
            $"{Name} on port {Port} was not ready after {stopwatch.Elapsed.TotalSeconds:F0} s. Last log lines:\n{LogTail()}");
    }

    /// <summary>Stops the server gracefully (SIGTERM, then SIGKILL after a grace period).</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (_process is { } process)
        {
            await process.StopAsync(TimeSpan.FromSeconds(10), cancellationToken);
            Running.TryRemove(this, out _);
        }
    }

    /// <summary>Kills the server at once, as a crash would.</summary>
    public void Kill()
    {
        if (_process is { } process)
        {
            process.Kill();
            process.Exited.Wait(TimeSpan.FromSeconds(10));
            Running.TryRemove(this, out _);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A server's last writes raced the delete; the temp dir is left for the OS to clean.
        }
        catch (UnauthorizedAccessException)
        {
            // As above.
        }
        GC.SuppressFinalize(this);
    }

    public override string ToString() => $"{Name} on {Host}:{Port}";

    protected abstract ChildProcessOptions CreateProcessOptions();

    protected abstract Task<bool> IsReadyAsync(CancellationToken cancellationToken);

    /// <summary>Starts the server, choosing another port when the first one was taken in the meantime.</summary>
    protected async Task StartFirstTimeAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await StartAgainAsync(cancellationToken);
                return;
            }
            catch (InvalidOperationException) when (attempt < 3 && LogTail().Contains("in use", StringComparison.OrdinalIgnoreCase))
            {
                Port = FreePort.Next();
            }
        }
    }

    /// <summary>Starts the server, disposing it when that fails so no process or directory leaks.</summary>
    protected static async Task<T> StartAsync<T>(T server, Func<T, Task>? prepare, CancellationToken cancellationToken)
        where T : ServerProcess
    {
        try
        {
            if (prepare is not null)
            {
                await prepare(server);
            }
            await server.StartFirstTimeAsync(cancellationToken);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs a one-shot setup program (initdb, mariadb-install-db) and fails with its output.</summary>
    protected static async Task RunToCompletionAsync(ChildProcessOptions options, CancellationToken cancellationToken)
    {
        await using var process = await ChildProcess.StartAsync(options, cancellationToken);
        var exitCode = await process.Exited.WaitAsync(TimeSpan.FromMinutes(2), cancellationToken);
        if (exitCode != 0)
        {
            throw new InvalidOperationException(
                $"'{options.FileName} {string.Join(' ', options.Arguments)}' failed with exit code {exitCode}:\n{process.Logs.Tail(40)}");
        }
    }

    protected static async Task ChownAsync(string user, string path, CancellationToken cancellationToken)
    {
        if (Environment.IsPrivilegedProcess)
        {
            await RunToCompletionAsync(new ChildProcessOptions("/bin/chown", ["-R", $"{user}:{user}", path]), cancellationToken);
        }
    }

    /// <summary>
    /// A killed test run leaves its servers' directories behind (its servers die with it); the next run removes
    /// every directory whose owning process no longer exists.
    /// </summary>
    private static void RemoveDirectoriesOfDeadRuns()
    {
        foreach (var directory in Directory.EnumerateDirectories(Path.GetTempPath(), DirectoryPrefix + "*"))
        {
            try
            {
                var owner = int.Parse(File.ReadAllText(Path.Combine(directory, OwnerFile)), System.Globalization.CultureInfo.InvariantCulture);
                if (!Directory.Exists($"/proc/{owner}"))
                {
                    Directory.Delete(directory, recursive: true);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
            {
                // Not ours, still being written, or already gone.
            }
        }
    }

    /// <summary>The user a server that refuses root must run as; null when the tests do not run as root.</summary>
    protected static string? UnprivilegedUser(string user) => Environment.IsPrivilegedProcess ? user : null;
}
