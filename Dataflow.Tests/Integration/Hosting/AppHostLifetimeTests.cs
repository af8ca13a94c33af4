using Dataflow.Hosting;
using Dataflow.Hosting.Processes;
using Dataflow.Tests.Infrastructure;

namespace Dataflow.Tests.Integration.Hosting;

/// <summary>Children never outlive the AppHost: stopped with Ctrl+C, killed with SIGKILL or crashed (no chance to clean up at all).</summary>
[Trait("Category", "Integration")]
public sealed class AppHostLifetimeTests : IDisposable
{
    private const int SigInt = 2;
    private const int SigSys = 31;
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private sealed record Topology(ChildProcess AppHost, IReadOnlyList<(int Pid, string Name)> Children, IReadOnlyList<(int Port, int Pid)> Ports);

    /// <summary>
    /// A temporary root of this test's own: every AppHost start sweeps orphaned data directories in its root, so in the shared
    /// one a test running in parallel could sweep the crashed AppHost's directory before this test looks at it.
    /// Not <see cref="Directory.CreateTempSubdirectory(string)"/>: its mode 0700 would shut out servers running as another user.
    /// A short name, as servers' Unix sockets live below it and their paths may not exceed 107 bytes.
    /// </summary>
    private readonly string _temporaryRoot = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), $"ahl-{Guid.NewGuid().ToString("N")[..8]}")).FullName;

    public void Dispose() => Directory.Delete(_temporaryRoot, recursive: true);

    private static async Task<Topology> StartTopologyAsync(string temporaryRoot)
    {
        var appHost = await AppHostProcess.StartAsync(["--dashboard-port", "0", $"--AppHost:TemporaryRoot={temporaryRoot}"], Ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromMinutes(3));
        while (!appHost.Logs.Snapshot().Any(l => l.Text.StartsWith("All resources started", StringComparison.Ordinal)))
        {
            if (appHost.HasExited)
            {
                Assert.Fail($"The AppHost exited early: {appHost.Logs.Tail(30)}");
            }
            await Task.Delay(250, timeout.Token);
        }
        TestContext.Current.TestOutputHelper?.WriteLine(appHost.Logs.Tail(10));
        var children = ProcessTable.Descendants(appHost.Id);
        // The whole topology: postgres, mariadbd, redis, mosquitto, two emulators, nginx and three .NET services.
        Assert.Contains(children, c => c.Name == "postgres");
        Assert.Contains(children, c => c.Name == "mariadbd");
        Assert.Contains(children, c => c.Name == "redis-server");
        Assert.Contains(children, c => c.Name == "mosquitto");
        Assert.Contains(children, c => c.Name == "java");
        Assert.Contains(children, c => c.Name == "dotnet");
        // The ports the AppHost (dashboard, OTLP) and its children listen on, all to be released.
        var ports = ListeningSockets.PortsOf([appHost.Id, .. children.Select(c => c.Pid)]);
        var redis = children.First(c => c.Name == "redis-server").Pid;
        Assert.Contains(ports, p => p.Pid == redis);
        Assert.Contains(ports, p => p.Pid == appHost.Id);
        TestContext.Current.TestOutputHelper?.WriteLine($"Listening: {string.Join(", ", ports.Select(p => $"{p.Port} ({Name(children, p.Pid)})"))}");
        return new Topology(appHost, children, ports);
    }

    private static string Name(IReadOnlyList<(int Pid, string Name)> children, int pid) =>
        children.FirstOrDefault(c => c.Pid == pid).Name ?? "apphost";

    private static async Task AssertPortsFreeAsync(Topology topology)
    {
        // Gone processes release their sockets at once; allow for the kernel's reaping as above.
        for (var attempt = 0; attempt < 50 && topology.Ports.Any(p => ListeningSockets.IsListening(p.Port)); attempt++)
        {
            await Task.Delay(100, Ct);
        }
        var taken = topology.Ports.Where(p => ListeningSockets.IsListening(p.Port) || !ListeningSockets.CanBind(p.Port)).ToList();
        Assert.True(taken.Count == 0, $"Ports still taken: {string.Join(", ", taken.Select(p => $"{p.Port} (was {Name(topology.Children, p.Pid)})"))}");
    }

    private static async Task AssertAllGoneAsync(IReadOnlyList<(int Pid, string Name)> children)
    {
        // The kernel delivers the parent-death signal at once; give the processes a moment to be reaped.
        for (var attempt = 0; attempt < 100 && children.Any(c => ProcessTable.IsAlive(c.Pid)); attempt++)
        {
            await Task.Delay(100, Ct);
        }
        var survivors = children.Where(c => ProcessTable.IsAlive(c.Pid)).ToList();
        Assert.True(survivors.Count == 0, $"Still running: {string.Join(", ", survivors.Select(s => $"{s.Name}({s.Pid})"))}");
    }

    [Fact]
    public async Task Ctrl_C_stops_every_child_frees_their_ports_and_removes_the_data_directories()
    {
        var topology = await StartTopologyAsync(_temporaryRoot);
        var (appHost, children) = (topology.AppHost, topology.Children);
        await using var _ = appHost;
        var dataRoots = Directory.GetDirectories(_temporaryRoot, $"dataflow-apphost-{appHost.Id}-*");
        Assert.Single(dataRoots);

        appHost.Signal(SigInt);
        var exitCode = await appHost.Exited.WaitAsync(TimeSpan.FromSeconds(60), Ct);

        Assert.Equal(0, exitCode);
        Assert.Contains(appHost.Logs.Snapshot(), l => l.Text.StartsWith("Stopped in", StringComparison.Ordinal));
        await AssertAllGoneAsync(children);
        await AssertPortsFreeAsync(topology);
        Assert.False(Directory.Exists(dataRoots[0]));
    }

    /// <param name="signal">
    /// SIGKILL, or a crash: SIGSYS, whose default action ends the process with a core dump and no code of its own run
    /// (a seccomp kill, or any fatal signal the runtime does not handle; an external SIGSEGV or SIGABRT is caught by the
    /// runtime and does not end the AppHost).
    /// </param>
    [Theory]
    [InlineData(ChildProcess.SigKill)]
    [InlineData(SigSys)]
    public async Task A_killed_or_crashed_AppHost_takes_every_child_with_it_and_frees_their_ports(int signal)
    {
        var topology = await StartTopologyAsync(_temporaryRoot);
        var (appHost, children) = (topology.AppHost, topology.Children);
        await using var _ = appHost;

        var dataRoot = Assert.Single(Directory.GetDirectories(_temporaryRoot, $"dataflow-apphost-{appHost.Id}-*"));

        appHost.Signal(signal);
        var exitCode = await appHost.Exited.WaitAsync(TimeSpan.FromSeconds(30), Ct);

        Assert.NotEqual(0, exitCode);
        Assert.DoesNotContain(appHost.Logs.Snapshot(), l => l.Text.StartsWith("Stopped in", StringComparison.Ordinal));

        await AssertAllGoneAsync(children);
        await AssertPortsFreeAsync(topology);
        // Nothing could clean up after SIGKILL: the next AppHost run sweeps the orphaned data directory.
        Assert.True(Directory.Exists(dataRoot));
        var next = Dataflow.Hosting.Testing.TestingBuilder.Create(null, $"--AppHost:TemporaryRoot={_temporaryRoot}");
        next.AddParameter("anything", defaultValue: "x");
        await using var app = await next.BuildAsync();
        await app.StartAsync(Ct);
        Assert.False(Directory.Exists(dataRoot));
    }
}
