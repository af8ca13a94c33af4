using System.Diagnostics;
using Dataflow.Hosting.ApplicationModel;
using Dataflow.Hosting.Processes;

namespace Dataflow.Hosting.Orchestration;

/// <summary>
/// Runs the resources of a model: allocates ports, orders start-up by <c>WaitFor</c>, launches processes that cannot
/// outlive the AppHost, probes health, and stops everything in reverse dependency order.
/// </summary>
public sealed class Orchestrator : IAsyncDisposable
{
    private static readonly TimeSpan StartupProbeInterval = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan RunningProbeInterval = TimeSpan.FromSeconds(5);
    private const int ProbeFailuresBeforeUnhealthy = 3;

    private readonly DistributedApplicationModel _model;
    private readonly DistributedApplicationOptions _options;
    private readonly PortAllocator _ports = new();
    private readonly ProjectBuildCache _builds;
    private readonly List<ResourceInstance> _instances = [];
    private readonly CancellationTokenSource _shutdown = new();
    private readonly Lock _changeGate = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _started;
    private int _stopped;

    internal Orchestrator(DistributedApplicationModel model, DistributedApplicationOptions options, string runId)
    {
        _model = model;
        _options = options;
        _builds = new ProjectBuildCache([.. options.ProjectBuildArguments]);
        DataRoot = Path.Combine(options.TemporaryRoot, $"{DataRootPrefix}{Environment.ProcessId}-{runId}");
    }

    internal const string DataRootPrefix = "dataflow-apphost-";

    /// <summary>The folder holding every resource's private directory; deleted when the application stops.</summary>
    public string DataRoot { get; }

    /// <summary>Set before start when a collector (the dashboard) receives OTLP: injected into every project.</summary>
    public string? OtlpEndpoint { get; set; }

    public DistributedApplicationModel Model => _model;

    /// <summary>Allocates ports and starts every resource; returns once all lifecycles are under way (not when healthy).</summary>
    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _started, 1) == 1)
        {
            throw new InvalidOperationException("The application has already been started.");
        }
        cancellationToken.ThrowIfCancellationRequested();
        SweepStaleDataRoots(_options.TemporaryRoot);
        Directory.CreateDirectory(DataRoot);
        ProcessUser.OpenToAll(DataRoot);
        AllocatePorts(_model, _ports);
        foreach (var resource in _model.Resources)
        {
            var replicas = resource.Annotations.OfType<ReplicaAnnotation>().FirstOrDefault()?.Replicas ?? 1;
            var backing = resource switch
            {
                ExecutableResource executable => executable.ResolveBacking(),
                JobResource job => ResourceBacking.Value($"in-process job: {job.Description}"),
                ParameterResource parameter => ResourceBacking.Value(parameter.Secret ? "secret parameter" : "parameter"),
                IResourceWithParent child => ResourceBacking.Value($"on {child.Parent.Name}"),
                _ => ResourceBacking.Value(resource.GetType().Name),
            };
            if (resource.Annotations.OfType<EmbeddedFallbackAnnotation>().FirstOrDefault() is { } embedded && backing.IsAvailable)
            {
                backing = backing with { Description = $"{backing.Description} · embedded fallback: {embedded.Description}" };
            }
            for (var replica = 0; replica < replicas; replica++)
            {
                var name = ResourceBuilderExtensions.InstanceName(resource, replica);
                var instance = new ResourceInstance(resource, replica, name, backing, Path.Combine(DataRoot, name));
                if (_options.LogSink is { } sink)
                {
                    instance.Log.LineWritten += line =>
                    {
                        try
                        {
                            sink($"[{name}] {line.Text}");
                        }
                        catch (InvalidOperationException)
                        {
                            // The sink (a test's output) is gone; the line stays in the resource log.
                        }
                    };
                }
                _instances.Add(instance);
            }
        }
        foreach (var instance in _instances)
        {
            BeginLifecycle(instance);
        }
        return Task.CompletedTask;
    }

    /// <summary>Gives every endpoint of every replica a free loopback port (or its fixed port).</summary>
    internal static void AllocatePorts(DistributedApplicationModel model, PortAllocator ports)
    {
        foreach (var resource in model.Resources)
        {
            var replicas = resource.Annotations.OfType<ReplicaAnnotation>().FirstOrDefault()?.Replicas ?? 1;
            foreach (var endpoint in resource.Annotations.OfType<EndpointAnnotation>())
            {
                endpoint.AllocatedPorts = endpoint.Port is { } fixedPort && replicas == 1
                    ? [fixedPort]
                    : [.. Enumerable.Range(0, replicas).Select(_ => ports.Next())];
            }
        }
    }

    /// <summary>Snapshots of every resource instance, in model order.</summary>
    public IReadOnlyList<ResourceSnapshot> GetSnapshots() => [.. _instances.Select(Snapshot)];

    /// <summary>The console log of an instance (or of replica 0 when given a resource name).</summary>
    public LogBuffer GetLog(string name) => Resolve(name)[0].Log;

    /// <summary>Completes when the state of any resource changes.</summary>
    public Task WaitForChangeAsync(CancellationToken cancellationToken)
    {
        lock (_changeGate)
        {
            return _changed.Task.WaitAsync(cancellationToken);
        }
    }

    /// <summary>Waits until every instance of <paramref name="name"/> is running and healthy; throws when one fails instead.</summary>
    public async Task WaitForResourceHealthyAsync(string name, CancellationToken cancellationToken = default)
    {
        var instances = Resolve(name);
        while (true)
        {
            var changed = WaitForChangeAsync(cancellationToken);
            if (instances.All(IsHealthy))
            {
                return;
            }
            if (instances.FirstOrDefault(i => KnownResourceStates.IsTerminal(i.State)) is { } failed && !failed.StopRequested)
            {
                throw new ResourceFailedException(failed.Name, failed.State, failed.Message, failed.Log.Tail(20));
            }
            await changed;
        }
    }

    /// <summary>Waits until an instance of <paramref name="name"/> reaches one of <paramref name="states"/>; returns that state.</summary>
    public async Task<string> WaitForResourceAsync(string name, IReadOnlyCollection<string> states, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(states);
        var instances = Resolve(name);
        while (true)
        {
            var changed = WaitForChangeAsync(cancellationToken);
            if (instances.FirstOrDefault(i => states.Contains(i.State)) is { } reached)
            {
                return reached.State;
            }
            await changed;
        }
    }

    public async Task StopResourceAsync(string name, CancellationToken cancellationToken = default)
    {
        foreach (var instance in Resolve(name))
        {
            await StopInstanceAsync(instance, cancellationToken);
        }
    }

    public async Task StartResourceAsync(string name, CancellationToken cancellationToken = default)
    {
        foreach (var instance in Resolve(name))
        {
            await instance.Gate.WaitAsync(cancellationToken);
            try
            {
                if (instance.State is KnownResourceStates.Running or KnownResourceStates.Starting or KnownResourceStates.Waiting
                    or KnownResourceStates.RuntimeUnhealthy)
                {
                    continue;
                }
                BeginLifecycle(instance);
            }
            finally
            {
                instance.Gate.Release();
            }
        }
    }

    /// <summary>
    /// Restarts <paramref name="name"/>, then runs its jobs again (an emulator's provisioning or seeding: a restarted
    /// emulator starts empty); they wait for it to be healthy, as at start.
    /// </summary>
    public async Task RestartResourceAsync(string name, CancellationToken cancellationToken = default)
    {
        var restarted = Resolve(name).Select(i => i.Resource).ToHashSet();
        await StopResourceAsync(name, cancellationToken);
        await StartResourceAsync(name, cancellationToken);
        foreach (var job in _instances.Where(i => i.Resource is JobResource and IResourceWithParent child && restarted.Contains(child.Parent)))
        {
            await StartResourceAsync(job.Name, cancellationToken);
        }
    }

    /// <summary>Stops every resource (dependents first), then deletes the data directories.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1)
        {
            return;
        }
        await _shutdown.CancelAsync();
        var remaining = _instances.ToList();
        while (remaining.Count > 0)
        {
            // Stop the instances nothing else still running depends on; a cycle (not buildable) falls back to all.
            var wave = remaining.Where(i => !remaining.Any(other => other != i && DependsOn(other.Resource).Contains(i.Resource))).ToList();
            if (wave.Count == 0)
            {
                wave = remaining;
            }
            await Task.WhenAll(wave.Select(i => StopInstanceAsync(i, cancellationToken)));
            remaining = [.. remaining.Except(wave)];
        }
        DeleteDataRoot();
    }

    /// <summary>Kills every process at once (SIGKILL), for when an orderly stop did not finish in time.</summary>
    public void KillAll()
    {
        foreach (var instance in _instances)
        {
            instance.Process?.Kill();
        }
        DeleteDataRoot();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _shutdown.Dispose();
        _builds.Dispose();
    }

    internal void DeleteDataRoot()
    {
        try
        {
            if (Directory.Exists(DataRoot))
            {
                Directory.Delete(DataRoot, recursive: true);
            }
        }
        catch (IOException)
        {
            // A server still closing a file; the next AppHost start sweeps it.
        }
        catch (UnauthorizedAccessException)
        {
            // Same as above.
        }
    }

    /// <summary>Deletes data roots left behind by AppHosts that were killed (their pid no longer exists).</summary>
    internal static void SweepStaleDataRoots(string temporaryRoot)
    {
        if (!Directory.Exists(temporaryRoot))
        {
            return;
        }
        foreach (var directory in Directory.GetDirectories(temporaryRoot, DataRootPrefix + "*"))
        {
            var rest = Path.GetFileName(directory)[DataRootPrefix.Length..];
            var dash = rest.IndexOf('-', StringComparison.Ordinal);
            if (dash > 0 && int.TryParse(rest[..dash], out var pid) && !Directory.Exists($"/proc/{pid}"))
            {
                try
                {
                    Directory.Delete(directory, recursive: true);
                }
                catch (IOException)
                {
                    // Someone else is sweeping it.
                }
                catch (UnauthorizedAccessException)
                {
                    // Not ours to delete.
                }
            }
        }
    }

    private List<ResourceInstance> Resolve(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var byResource = _instances.Where(i => i.Resource.Name.Equals(name, StringComparison.OrdinalIgnoreCase)).ToList();
        if (byResource.Count > 0)
        {
            return byResource;
        }
        var byInstance = _instances.Where(i => i.Name.Equals(name, StringComparison.OrdinalIgnoreCase)).ToList();
        if (byInstance.Count > 0)
        {
            return byInstance;
        }
        throw new KeyNotFoundException(_instances.Count == 0
            ? $"No resource named '{name}': the application has not been started."
            : $"No resource named '{name}'. Known resources: {string.Join(", ", _model.Resources.Select(r => r.Name))}.");
    }

    private static bool IsHealthy(ResourceInstance instance) =>
        instance.State == KnownResourceStates.Running && instance.Health == HealthStatus.Healthy;

    private static HashSet<IResource> DependsOn(IResource resource)
    {
        var set = new HashSet<IResource>();
        foreach (var wait in resource.Annotations.OfType<WaitAnnotation>())
        {
            set.Add(wait.Resource);
        }
        foreach (var reference in resource.Annotations.OfType<ResourceRelationshipAnnotation>())
        {
            set.Add(reference.Resource);
        }
        if (resource is IResourceWithParent child)
        {
            set.Add(child.Parent);
        }
        return set;
    }

    private void BeginLifecycle(ResourceInstance instance)
    {
        var cancellation = CancellationTokenSource.CreateLinkedTokenSource(_shutdown.Token);
        instance.RunCancellation = cancellation;
        instance.StopRequested = false;
        // Visible at once, so a waiter never mistakes the previous run's terminal state for this run's, and a
        // resource with dependencies shows Waiting from the start rather than briefly Starting.
        SetState(instance, DependenciesOf(instance).Count > 0 ? KnownResourceStates.Waiting : KnownResourceStates.Starting);
        instance.Lifecycle = RunLifecycleAsync(instance, cancellation.Token);
    }

    private async Task RunLifecycleAsync(ResourceInstance instance, CancellationToken cancellationToken)
    {
        // Yield so that starting all resources does not run their first steps inline.
        await Task.Yield();
        try
        {
            if (!instance.Backing.IsAvailable)
            {
                SetState(instance, KnownResourceStates.FailedToStart, instance.Backing.Description);
                return;
            }
            await WaitForDependenciesAsync(instance, cancellationToken);
            if (instance.Resource is ExecutableResource executable)
            {
                await RunProcessAsync(instance, executable, cancellationToken);
            }
            else if (instance.Resource is JobResource job)
            {
                await RunJobAsync(instance, job, cancellationToken);
            }
            else
            {
                SetState(instance, KnownResourceStates.Starting);
                if (instance.Resource is ParameterResource parameter)
                {
                    _ = parameter.Value;
                }
                else if (instance.Resource is ConnectionStringResource connectionString)
                {
                    _ = connectionString.Value.Value;
                }
                SetState(instance, KnownResourceStates.Running, health: HealthStatus.Healthy);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopped while waiting or starting.
        }
        catch (Exception ex) when (ex is ResourceStartException or ResourceFailedException or InvalidOperationException or IOException
            or UnauthorizedAccessException or System.ComponentModel.Win32Exception)
        {
            instance.Log.Write(LogStream.StandardError, $"[apphost] {ex.Message}");
            SetState(instance, KnownResourceStates.FailedToStart, ex.Message);
        }
    }

    /// <summary>What a resource waits for: its <c>WaitFor</c>s, and its parent (a database waits for its server).</summary>
    private static List<WaitAnnotation> DependenciesOf(ResourceInstance instance)
    {
        var waits = instance.Resource.Annotations.OfType<WaitAnnotation>().ToList();
        if (instance.Resource is IResourceWithParent child && waits.All(w => w.Resource != child.Parent))
        {
            waits.Add(new WaitAnnotation(child.Parent, WaitType.WaitUntilHealthy));
        }
        return waits;
    }

    private async Task WaitForDependenciesAsync(ResourceInstance instance, CancellationToken cancellationToken)
    {
        var waits = DependenciesOf(instance);
        if (waits.Count == 0)
        {
            return;
        }
        SetState(instance, KnownResourceStates.Waiting);
        foreach (var wait in waits)
        {
            if (wait.WaitType == WaitType.WaitUntilHealthy)
            {
                await WaitForDependencyHealthyAsync(wait.Resource, cancellationToken);
            }
            else
            {
                await WaitForDependencyCompletionAsync(wait.Resource, cancellationToken);
            }
        }
    }

    private async Task WaitForDependencyHealthyAsync(IResource dependency, CancellationToken cancellationToken)
    {
        var instances = _instances.Where(i => i.Resource == dependency).ToList();
        while (true)
        {
            var changed = WaitForChangeAsync(cancellationToken);
            if (instances.All(IsHealthy))
            {
                return;
            }
            if (instances.FirstOrDefault(i => i.State == KnownResourceStates.FailedToStart) is { } failed)
            {
                throw new ResourceStartException($"Dependency '{failed.Name}' failed to start: {failed.Message}");
            }
            await changed;
        }
    }

    private async Task WaitForDependencyCompletionAsync(IResource dependency, CancellationToken cancellationToken)
    {
        var instances = _instances.Where(i => i.Resource == dependency).ToList();
        while (true)
        {
            var changed = WaitForChangeAsync(cancellationToken);
            if (instances.All(i => i.State == KnownResourceStates.Finished))
            {
                return;
            }
            if (instances.FirstOrDefault(i => i.State is KnownResourceStates.FailedToStart or KnownResourceStates.Exited) is { } failed)
            {
                throw new ResourceStartException(
                    $"Dependency '{failed.Name}' did not complete successfully ({failed.State}{(failed.ExitCode is { } code ? $", exit code {code}" : "")}).");
            }
            await changed;
        }
    }

    private async Task RunEmbeddedAsync(ResourceInstance instance, ExecutableResource executable, CancellationToken cancellationToken)
    {
        SetState(instance, KnownResourceStates.Starting);
        Directory.CreateDirectory(instance.DataDirectory);
        var context = new ResourceRunContext(executable, instance.ReplicaIndex, instance.DataDirectory, instance.Backing, instance.Log, _builds, _model);
        instance.Log.Write(LogStream.StandardOutput, $"[apphost] backing: {instance.Backing.Description}");
        await using var server = await executable.StartEmbeddedAsync(context, cancellationToken);
        instance.ExitCode = null;
        instance.StartedAt = DateTimeOffset.UtcNow;
        instance.StoppedAt = null;
        SetState(instance, KnownResourceStates.Running, health: HealthStatus.Unhealthy);
        // Runs until stopped: the cancellation ends the probing and disposes the server.
        await MonitorHealthAsync(instance, executable, context, Task.Delay(Timeout.Infinite, cancellationToken), cancellationToken);
    }

    private async Task RunProcessAsync(ResourceInstance instance, ExecutableResource executable, CancellationToken cancellationToken)
    {
        if (instance.Backing.Kind == ResourceBackingKind.Embedded)
        {
            await RunEmbeddedAsync(instance, executable, cancellationToken);
            return;
        }
        SetState(instance, KnownResourceStates.Starting);
        if (instance.Process is { } previous)
        {
            instance.Process = null;
            await previous.DisposeAsync();
        }
        Directory.CreateDirectory(instance.DataDirectory);
        var context = new ResourceRunContext(executable, instance.ReplicaIndex, instance.DataDirectory, instance.Backing, instance.Log, _builds, _model);
        await executable.PrepareAsync(context, cancellationToken);
        var environment = await ResolveEnvironmentAsync(instance, executable, cancellationToken);
        var arguments = await ResolveArgumentsAsync(executable, cancellationToken);
        var (fileName, allArguments) = await executable.GetStartCommandAsync(context, arguments, cancellationToken);
        instance.Log.Write(LogStream.StandardOutput, MaskSecrets($"[apphost] starting {fileName} {string.Join(' ', allArguments)}"));
        var process = await ChildProcess.StartAsync(new ChildProcessOptions(fileName, allArguments)
        {
            DisplayName = instance.Name,
            WorkingDirectory = executable.WorkingDirectory ?? instance.DataDirectory,
            Environment = environment,
            RunAsUser = ProcessUser.IsRoot ? executable.RunAsUser : null,
            Logs = instance.Log,
        }, cancellationToken);
        instance.Process = process;
        instance.ExitCode = null;
        instance.StartedAt = DateTimeOffset.UtcNow;
        instance.StoppedAt = null;
        SetState(instance, KnownResourceStates.Running, health: HealthStatus.Unhealthy);

        var healthy = await MonitorHealthAsync(instance, executable, context, process.Exited, cancellationToken);
        var exitCode = await process.Exited;
        instance.ExitCode = exitCode;
        instance.StoppedAt = DateTimeOffset.UtcNow;
        instance.Log.Write(LogStream.StandardOutput, $"[apphost] process exited with code {exitCode}");
        SetState(instance, exitCode == 0 ? KnownResourceStates.Finished : KnownResourceStates.Exited,
            exitCode == 0 ? null : $"exited with code {exitCode}{(healthy ? "" : " before it became healthy")}", health: null);
    }

    /// <summary>Probes health until <paramref name="exited"/> completes; returns whether the resource ever became healthy.</summary>
    private async Task<bool> MonitorHealthAsync(ResourceInstance instance, ExecutableResource executable, ResourceRunContext context, Task exited,
        CancellationToken cancellationToken)
    {
        var probe = executable.Annotations.OfType<HealthProbeAnnotation>().FirstOrDefault();
        var port = executable.Annotations.OfType<EndpointAnnotation>().FirstOrDefault() is { } endpoint ? endpoint.AllocatedPorts[instance.ReplicaIndex] : 0;
        var probeContext = new HealthProbeContext(executable, instance.ReplicaIndex, port);
        var healthy = false;
        var failures = 0;
        var watch = Stopwatch.StartNew();
        while (!exited.IsCompleted)
        {
            var ok = probe is null || await probe.Probe(probeContext, cancellationToken);
            if (ok && !healthy)
            {
                await executable.OnHealthyAsync(context, cancellationToken);
                healthy = true;
                instance.Log.Write(LogStream.StandardOutput, $"[apphost] healthy after {watch.Elapsed.TotalSeconds:0.0} s ({probe?.Description ?? "no probe"})");
                SetState(instance, KnownResourceStates.Running, health: HealthStatus.Healthy);
            }
            else if (healthy)
            {
                failures = ok ? 0 : failures + 1;
                if (failures == ProbeFailuresBeforeUnhealthy)
                {
                    SetState(instance, KnownResourceStates.RuntimeUnhealthy, $"{probe!.Description} failed {failures} times", HealthStatus.Unhealthy);
                }
                else if (ok && instance.State == KnownResourceStates.RuntimeUnhealthy)
                {
                    SetState(instance, KnownResourceStates.Running, health: HealthStatus.Healthy);
                }
            }
            if (probe is null && healthy)
            {
                await exited.WaitAsync(cancellationToken);
                break;
            }
            await Task.WhenAny(exited, Task.Delay(healthy ? RunningProbeInterval : StartupProbeInterval, cancellationToken));
            cancellationToken.ThrowIfCancellationRequested();
        }
        return healthy;
    }

    private async Task RunJobAsync(ResourceInstance instance, JobResource job, CancellationToken cancellationToken)
    {
        instance.StartedAt = DateTimeOffset.UtcNow;
        instance.StoppedAt = null;
        SetState(instance, KnownResourceStates.Running);
        var context = new ResourceRunContext(job, instance.ReplicaIndex, instance.DataDirectory, instance.Backing, instance.Log, _builds, _model);
        var watch = Stopwatch.StartNew();
        try
        {
            await job.RunAsync(context, cancellationToken);
        }
        catch (Exception ex) when (!(ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            // Any failure of the job's own code ends the job, never the AppHost; dependents see Exited and fail to start.
            instance.StoppedAt = DateTimeOffset.UtcNow;
            instance.Log.Write(LogStream.StandardError, $"[apphost] job failed: {ex}");
            SetState(instance, KnownResourceStates.Exited, $"failed: {ex.Message}");
            return;
        }
        instance.StoppedAt = DateTimeOffset.UtcNow;
        instance.Log.Write(LogStream.StandardOutput, $"[apphost] job finished in {watch.Elapsed.TotalSeconds:0.0} s");
        SetState(instance, KnownResourceStates.Finished);
    }

    private async Task<Dictionary<string, string?>> ResolveEnvironmentAsync(ResourceInstance instance, ExecutableResource executable,
        CancellationToken cancellationToken)
    {
        var secrets = _model.Resources.OfType<ParameterResource>().Where(p => p.Secret).Select(p => p.ValueOrNull).OfType<string>().Where(v => v.Length >= 4).ToList();
        var resolved = await EvaluateEnvironmentAsync(executable, instance.ReplicaIndex, OtlpEndpoint, cancellationToken);
        instance.Environment = [.. resolved
            .Select(e => new EnvironmentVariableSnapshot(e.Key, e.Value ?? "", secrets.Any(s => e.Value?.Contains(s, StringComparison.Ordinal) == true)))
            .OrderBy(e => e.Name, StringComparer.Ordinal)];
        return resolved;
    }

    private string MaskSecrets(string text)
    {
        foreach (var secret in _model.Resources.OfType<ParameterResource>().Where(p => p.Secret).Select(p => p.ValueOrNull).OfType<string>().Where(v => v.Length >= 4))
        {
            text = text.Replace(secret, "********", StringComparison.Ordinal);
        }
        return text;
    }

    /// <summary>The environment a replica is started with (ports must be allocated).</summary>
    internal static async Task<Dictionary<string, string?>> EvaluateEnvironmentAsync(ExecutableResource executable, int replicaIndex,
        string? otlpEndpoint, CancellationToken cancellationToken)
    {
        var context = new EnvironmentCallbackContext(ExecutionMode.Run, replicaIndex);
        foreach (var callback in executable.Annotations.OfType<EnvironmentCallbackAnnotation>())
        {
            callback.Callback(context);
        }
        if (executable is ProjectResource && otlpEndpoint is not null)
        {
            context.EnvironmentVariables["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlpEndpoint;
            context.EnvironmentVariables["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
            // Aspire's development defaults: export every second so the dashboard is live.
            context.EnvironmentVariables["OTEL_BSP_SCHEDULE_DELAY"] = "1000";
            context.EnvironmentVariables["OTEL_BLRP_SCHEDULE_DELAY"] = "1000";
            context.EnvironmentVariables["OTEL_METRIC_EXPORT_INTERVAL"] = "1000";
        }
        var resolved = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var (name, value) in context.EnvironmentVariables)
        {
            resolved[name] = value switch
            {
                string s => s,
                IValueProvider provider => await provider.GetValueAsync(cancellationToken) ?? "",
                _ => throw new InvalidOperationException($"Environment variable '{name}' of '{executable.Name}' has an unsupported value type {value.GetType().Name}."),
            };
        }
        return resolved;
    }

    private static async Task<List<string>> ResolveArgumentsAsync(ExecutableResource executable, CancellationToken cancellationToken)
    {
        var context = new CommandLineArgsCallbackContext(ExecutionMode.Run);
        foreach (var callback in executable.Annotations.OfType<CommandLineArgsCallbackAnnotation>())
        {
            callback.Callback(context);
        }
        var arguments = new List<string>();
        foreach (var argument in context.Args)
        {
            arguments.Add(argument is IValueProvider provider ? await provider.GetValueAsync(cancellationToken) ?? "" : argument.ToString() ?? "");
        }
        return arguments;
    }

    private async Task StopInstanceAsync(ResourceInstance instance, CancellationToken cancellationToken)
    {
        await instance.Gate.WaitAsync(cancellationToken);
        try
        {
            instance.StopRequested = true;
            var process = instance.Process;
            if (process is not null && !process.HasExited)
            {
                SetState(instance, KnownResourceStates.Stopping);
                instance.Log.Write(LogStream.StandardOutput, "[apphost] stopping (SIGTERM, then SIGKILL after the grace period)");
            }
            if (instance.RunCancellation is { } running)
            {
                await running.CancelAsync();
            }
            if (process is not null)
            {
                await process.StopAsync(_options.StopGracePeriod, CancellationToken.None);
            }
            await instance.Lifecycle;
            instance.RunCancellation?.Dispose();
            instance.RunCancellation = null;
            if (process is not null)
            {
                instance.ExitCode = await process.Exited;
                instance.StoppedAt ??= DateTimeOffset.UtcNow;
                await process.DisposeAsync();
                instance.Process = null;
                SetState(instance, KnownResourceStates.Exited, "stopped", health: null);
            }
            else if (!KnownResourceStates.IsTerminal(instance.State))
            {
                SetState(instance, KnownResourceStates.Exited, "stopped", health: null);
            }
        }
        finally
        {
            instance.Gate.Release();
        }
    }

    private void SetState(ResourceInstance instance, string state, string? message = null, HealthStatus? health = null)
    {
        lock (_changeGate)
        {
            instance.State = state;
            instance.Message = message;
            instance.Health = health;
            var changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            changed.SetResult();
        }
    }

    private ResourceSnapshot Snapshot(ResourceInstance instance)
    {
        var resource = instance.Resource;
        var urls = resource.Annotations.OfType<EndpointAnnotation>()
            .Where(e => e.IsAllocated)
            .Select(e => $"{(e.Transport == "tcp" ? "tcp" : e.Scheme)}://127.0.0.1:{e.AllocatedPorts[instance.ReplicaIndex]}")
            .ToList();
        lock (_changeGate)
        {
            return new ResourceSnapshot(instance.Name, resource.Name, ResourceTypeName(resource), instance.ReplicaIndex, instance.State,
                instance.Health, instance.Backing.Description, instance.Message, instance.Process is { HasExited: false } p ? p.Id : null,
                instance.ExitCode, instance.StartedAt, instance.StoppedAt, urls, instance.Environment,
                [.. DependsOn(resource).Select(r => r.Name)], instance.Log.TotalWritten);
        }
    }

    internal static string ResourceTypeName(IResource resource) => resource switch
    {
        ProjectResource => "Project",
        ParameterResource => "Parameter",
        ConnectionStringResource => "ConnectionString",
        PostgresDatabaseResource or MySqlDatabaseResource => "Database",
        GcpStandInResource => "GcpStandIn",
        JobResource => "Job",
        ExecutableResource => "Executable",
        _ => resource.GetType().Name.Replace("Resource", "", StringComparison.Ordinal),
    };
}

/// <summary>A resource failed while something was waiting for it.</summary>
public sealed class ResourceFailedException : Exception
{
    public ResourceFailedException(string resourceName, string state, string? reason, string lastLogLines)
        : base($"Resource '{resourceName}' is {state}{(reason is null ? "" : $": {reason}")}. Last log lines:\n{lastLogLines}")
    {
        ResourceName = resourceName;
        State = state;
    }

    public ResourceFailedException()
    {
        ResourceName = "";
        State = "";
    }

    public ResourceFailedException(string message) : base(message)
    {
        ResourceName = "";
        State = "";
    }

    public ResourceFailedException(string message, Exception innerException) : base(message, innerException)
    {
        ResourceName = "";
        State = "";
    }

    public string ResourceName { get; }

    public string State { get; }
}
