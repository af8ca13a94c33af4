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
