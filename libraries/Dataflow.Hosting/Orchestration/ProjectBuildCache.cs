using System.Collections.Concurrent;
using Dataflow.Hosting.ApplicationModel;
using Dataflow.Hosting.Processes;

namespace Dataflow.Hosting.Orchestration;

/// <summary>Builds each project at most once per AppHost run (one build at a time: they share obj/ folders of common projects).</summary>
internal sealed class ProjectBuildCache(IReadOnlyList<string> extraBuildArguments) : IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<Task<string>>> _builds = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _oneAtATime = new(1, 1);

    public Task<string> GetAssemblyAsync(IProjectMetadata project, LogBuffer log, CancellationToken cancellationToken)
    {
        if (project.TargetPath is { } known && File.Exists(known))
        {
            return Task.FromResult(known);
        }
        // The build is shared by every replica; it is not cancelled by one replica's cancellation.
        var build = _builds.GetOrAdd(project.ProjectPath, path => new Lazy<Task<string>>(() => BuildAsync(path, log)));
        return build.Value.WaitAsync(cancellationToken);
    }

    public void Dispose() => _oneAtATime.Dispose();

    private async Task<string> BuildAsync(string projectPath, LogBuffer log)
    {
        await _oneAtATime.WaitAsync();
        try
        {
            var dotnet = DotnetHost.Path ?? throw new ResourceStartException("The 'dotnet' host is not on PATH: install the .NET SDK.");
            string[] arguments = ["build", projectPath, "-nologo", "-v", "q", "-clp:NoSummary;ErrorsOnly", "-t:Build", "-getProperty:TargetPath", .. extraBuildArguments];
            log.Write(LogStream.StandardOutput, $"[apphost] dotnet {string.Join(' ', arguments)}");
            await using var build = await ChildProcess.StartAsync(new ChildProcessOptions(dotnet, arguments)
            {
                DisplayName = $"build {Path.GetFileName(projectPath)}",
                WorkingDirectory = Path.GetDirectoryName(projectPath),
                Environment = new Dictionary<string, string?> { ["MSBUILDNOINPROCNODE"] = "1", ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1" },
            });
            var exitCode = await build.Exited;
            var lines = build.Logs.Snapshot();
            foreach (var line in lines)
            {
                log.Write(line.Stream, line.Text);
            }
            var targetPath = lines.Select(l => l.Text.Trim()).LastOrDefault(t => t.EndsWith(".dll", StringComparison.Ordinal));
            if (exitCode != 0 || targetPath is null || !File.Exists(targetPath))
            {
                throw new ResourceStartException($"dotnet build {Path.GetFileName(projectPath)} failed (exit code {exitCode}): {build.Logs.Tail(15)}");
            }
            return targetPath;
        }
        finally
        {
            _oneAtATime.Release();
        }
    }
}
