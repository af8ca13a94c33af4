using System.Diagnostics;
using System.Runtime.InteropServices;
using Dataflow.Hosting.ApplicationModel;
using Dataflow.Hosting.Dashboard;
using Dataflow.Hosting.Orchestration;
using Dataflow.Hosting.Publishing;

namespace Dataflow.Hosting;

/// <summary>A built distributed application: runs the resources locally, or writes the deployment manifest.</summary>
public sealed class DistributedApplication : IAsyncDisposable
{
    private readonly DistributedApplicationOptions _options;
    private DashboardServer? _dashboard;
    private int _started;

    internal DistributedApplication(DistributedApplicationModel model, DistributedApplicationOptions options, ExecutionMode mode, string runId)
    {
        Model = model;
        _options = options;
        ExecutionMode = mode;
        RunId = runId;
        Orchestrator = new Orchestrator(model, options, runId);
    }

    public static IDistributedApplicationBuilder CreateBuilder(string[] args) => new DistributedApplicationBuilder(args);

    public static IDistributedApplicationBuilder CreateBuilder(string[] args, Action<DistributedApplicationOptions> configure) =>
        new DistributedApplicationBuilder(args, configure);

    public DistributedApplicationModel Model { get; }

    public ExecutionMode ExecutionMode { get; }

    public string RunId { get; }

    public Orchestrator Orchestrator { get; }

    /// <summary>The dashboard's address, once started (null when disabled).</summary>
    public Uri? DashboardUrl => _dashboard?.Url;

    /// <summary>The dashboard login token, once started.</summary>
    public string? DashboardToken => _dashboard?.Token;

    /// <summary>Set by the testing harness: <see cref="Run"/> and <see cref="RunAsync"/> return at once and the harness owns the lifetime.</summary>
    internal bool LifetimeOwnedByHarness { get; set; }

    /// <summary>Publishes the manifest (publish mode), or starts the dashboard and every resource (run mode).</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _started, 1) == 1)
        {
            throw new InvalidOperationException("The application has already been started.");
        }
        if (ExecutionMode == ExecutionMode.Publish)
        {
            var path = Path.GetFullPath(_options.OutputPath ?? "aspire-manifest.json");
            await ManifestPublisher.WriteAsync(Model, path, cancellationToken);
            Console.WriteLine($"Wrote the deployment manifest to {path}");
            return;
        }
        AppDomain.CurrentDomain.UnhandledException += OnUnhandledException;
        if (_options.DashboardEnabled)
        {
            _dashboard = new DashboardServer(Orchestrator, _options);
            await _dashboard.StartAsync(cancellationToken);
            Orchestrator.OtlpEndpoint = _dashboard.OtlpEndpoint;
        }
        await Orchestrator.StartAsync(cancellationToken);
    }

    /// <summary>Stops every resource and the dashboard; releases processes, ports and data directories.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        await Orchestrator.StopAsync(cancellationToken);
        if (_dashboard is not null)
        {
            await _dashboard.DisposeAsync();
            _dashboard = null;
        }
        AppDomain.CurrentDomain.UnhandledException -= OnUnhandledException;
    }

    /// <summary>Starts, prints the dashboard address and login token, runs until Ctrl+C / SIGTERM or <paramref name="cancellationToken"/>, then stops.</summary>
    public async Task RunAsync(CancellationToken cancellationToken = default)
    {
        if (LifetimeOwnedByHarness)
        {
            return;
        }
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, context => { context.Cancel = true; stop.Cancel(); });
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => { context.Cancel = true; stop.Cancel(); });
        var watch = Stopwatch.StartNew();
        await StartAsync(stop.Token);
        if (ExecutionMode == ExecutionMode.Publish)
        {
            return;
        }
        if (_dashboard is not null)
        {
            Console.WriteLine($"Dashboard: {_dashboard.Url}login?t={_dashboard.Token}");
            Console.WriteLine($"Login token: {_dashboard.Token}");
        }
        Console.WriteLine("Press Ctrl+C to stop.");
        try
        {
            await ReportWhenAllHealthyAsync(watch, stop.Token);
            await Task.Delay(Timeout.Infinite, stop.Token);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            Console.WriteLine("Stopping…");
        }
        watch.Restart();
        await StopAsync(CancellationToken.None);
        Console.WriteLine($"Stopped in {watch.Elapsed.TotalSeconds:0.0} s.");
    }

    public void Run() => RunAsync().GetAwaiter().GetResult();

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await Orchestrator.DisposeAsync();
    }

    /// <summary>How often the console names the resources that keep the start-up from completing.</summary>
    private static readonly TimeSpan PendingReportInterval = TimeSpan.FromSeconds(30);

    private async Task ReportWhenAllHealthyAsync(Stopwatch watch, CancellationToken cancellationToken)
    {
        var nextPendingReport = PendingReportInterval;
        while (true)
        {
            var changed = Orchestrator.WaitForChangeAsync(cancellationToken);
            var snapshots = Orchestrator.GetSnapshots();
            var pending = snapshots.Where(s => s.Health != HealthStatus.Healthy && !KnownResourceStates.IsTerminal(s.State)).ToList();
            if (pending.Count > 0)
            {
                if (watch.Elapsed >= nextPendingReport)
                {
                    // A server that keeps crashing or never answers its probe would otherwise leave the console silent.
                    Console.WriteLine($"Still starting after {watch.Elapsed.TotalSeconds:0} s:");
                    foreach (var resource in snapshots.Where(s => s.Health != HealthStatus.Healthy && s.State != KnownResourceStates.Finished))
                    {
                        Console.WriteLine($"  {resource.Name}: {resource.State}"
                            + (resource.ExitCode is { } code ? $" (exit code {code})" : "")
                            + (resource.Health is { } health ? $", {health}" : "")
                            + (resource.Message is null ? "" : $": {resource.Message}"));
                    }
                    nextPendingReport = watch.Elapsed + PendingReportInterval;
                }
                var untilReport = nextPendingReport - watch.Elapsed;
                await Task.WhenAny(changed, Task.Delay(untilReport > TimeSpan.Zero ? untilReport : TimeSpan.Zero, cancellationToken));
                cancellationToken.ThrowIfCancellationRequested();
                continue;
            }
            var failed = snapshots.Where(s => s.State == KnownResourceStates.FailedToStart).ToList();
            var sinceLaunch = DateTime.Now - Process.GetCurrentProcess().StartTime;
            Console.WriteLine($"All resources started in {watch.Elapsed.TotalSeconds:0.0} s ({sinceLaunch.TotalSeconds:0.0} s since launch): "
                + $"{snapshots.Count(s => s.Health == HealthStatus.Healthy)} healthy"
                + (failed.Count == 0 ? "." : $", {failed.Count} failed to start:"));
            foreach (var resource in failed)
            {
                Console.WriteLine($"  {resource.Name}: {resource.Message}");
            }
            return;
        }
    }

    private void OnUnhandledException(object sender, UnhandledExceptionEventArgs e) =>
        // The children die with this process (parent-death signal); remove their data directories too.
        Orchestrator.DeleteDataRoot();
}
