using Dataflow.Hosting.Processes;
using Dataflow.Hosting.Testing;
using Dataflow.Tests.Unit.Hosting;

namespace Dataflow.Tests.Integration.Hosting;

/// <summary>Builds Dataflow.AppHost once per test run and runs it as a separate process, as a developer would.</summary>
public static class AppHostProcess
{
    private static readonly Lazy<Task<string>> Build = new(BuildAsync);

    public static Task<string> GetAssemblyAsync() => Build.Value;

    public static async Task<ChildProcess> StartAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var assembly = await GetAssemblyAsync().WaitAsync(cancellationToken);
        return await ChildProcess.StartAsync(new ChildProcessOptions("dotnet", [assembly, .. arguments])
        {
            DisplayName = "apphost",
            WorkingDirectory = Path.GetTempPath(),
            LogCapacity = 10_000,
            // A crash should end the process at once, not spend its time writing a dump.
            Environment = new Dictionary<string, string?> { ["DOTNET_DbgEnableMiniDump"] = "0", ["DOTNET_EnableCrashReport"] = "0" },
        }, cancellationToken);
    }

    /// <summary>Every process below <paramref name="pid"/> (children, grandchildren, …) as (pid, command name).</summary>
    public static IReadOnlyList<(int Pid, string Name)> Descendants(int pid)
    {
        var parents = new Dictionary<int, int>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var candidate))
            {
                continue;
            }
            try
            {
                var stat = File.ReadAllText(Path.Combine(directory, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                parents[candidate] = int.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture);
            }
            catch (IOException)
            {
                // Exited while we looked.
            }
        }
        var result = new List<(int, string)>();
        var frontier = new Queue<int>([pid]);
        while (frontier.TryDequeue(out var parent))
        {
            foreach (var (child, _) in parents.Where(p => p.Value == parent))
            {
                result.Add((child, Name(child)));
                frontier.Enqueue(child);
            }
        }
        return result;
    }

    public static bool IsAlive(int pid)
    {
        try
        {
            // A zombie has exited; only its exit status is left for the parent to collect.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static string Name(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/comm").Trim();
        }
        catch (IOException)
        {
            return "?";
        }
    }

    private static async Task<string> BuildAsync()
    {
        var project = Path.Combine(HostingPaths.RepositoryRoot, "Dataflow.AppHost", "Dataflow.AppHost.csproj");
        await using var build = await ChildProcess.StartAsync(new ChildProcessOptions("dotnet",
            ["build", project, "-nologo", "-v", "q", "-clp:NoSummary;ErrorsOnly", "-t:Build", "-getProperty:TargetPath", .. TestingBuilder.DetectArtifactsPathArguments()])
        {
            DisplayName = "build apphost",
            Environment = new Dictionary<string, string?> { ["MSBUILDNOINPROCNODE"] = "1" },
        });
        var exitCode = await build.Exited;
        var path = build.Logs.Snapshot().Select(l => l.Text.Trim()).LastOrDefault(t => t.EndsWith(".dll", StringComparison.Ordinal));
        if (exitCode != 0 || path is null || !File.Exists(path))
        {
            throw new InvalidOperationException($"Building Dataflow.AppHost failed (exit code {exitCode}): {build.Logs.Tail(30)}");
        }
        return path;
    }
}
