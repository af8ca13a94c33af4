using Dataflow.Hosting.ApplicationModel;
using Dataflow.Hosting.Orchestration;

namespace Dataflow.Hosting.Testing;

/// <summary>A distributed application under test. Every wait has a default timeout; disposal always releases everything.</summary>
public sealed class TestingApplication : IAsyncDisposable
{
    private readonly DistributedApplication _application;
    private readonly TestingOptions _options;
    private readonly List<HttpClient> _clients = [];
    private int _disposed;

    internal TestingApplication(DistributedApplication application, TestingOptions options)
    {
        _application = application;
        _options = options;
    }

    public DistributedApplication Application => _application;

    public DistributedApplicationModel Model => _application.Model;

    /// <summary>Suffix of this run's cloud resource names (GCP project id, topics, buckets).</summary>
    public string RunId => _application.RunId;

    public Task StartAsync(CancellationToken cancellationToken = default) => _application.StartAsync(cancellationToken);

    /// <summary>Waits until every replica of <paramref name="name"/> is healthy; on timeout, says which state it is stuck in and shows its last log lines.</summary>
    public async Task WaitForResourceHealthyAsync(string name, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        EnsureKnown(name);
        var limit = timeout ?? _options.DefaultWaitTimeout;
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cancellation.CancelAfter(limit);
        try
        {
            await _application.Orchestrator.WaitForResourceHealthyAsync(name, cancellation.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"Resource '{name}' did not become healthy within {limit.TotalSeconds:0} s. {Describe(name)}");
        }
    }

    /// <summary>Waits until <paramref name="name"/> reaches one of <paramref name="states"/> (default timeout applies).</summary>
    public async Task<string> WaitForResourceAsync(string name, IReadOnlyCollection<string> states, TimeSpan? timeout = null,
        CancellationToken cancellationToken = default)
    {
        EnsureKnown(name);
        var limit = timeout ?? _options.DefaultWaitTimeout;
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cancellation.CancelAfter(limit);
        try
        {
            return await _application.Orchestrator.WaitForResourceAsync(name, states, cancellation.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"Resource '{name}' did not reach {string.Join(" or ", states)} within {limit.TotalSeconds:0} s. {Describe(name)}");
        }
    }

    /// <summary>An HttpClient whose base address is the named endpoint of the resource (replica 0).</summary>
    public HttpClient CreateHttpClient(string name, string endpointName = "http")
    {
        var resource = FindResource(name);
        if (resource is not IResourceWithEndpoints withEndpoints)
        {
            throw new InvalidOperationException($"Resource '{name}' has no endpoints.");
        }
        var endpoint = new EndpointReference(withEndpoints, endpointName);
        var client = new HttpClient { BaseAddress = new Uri(endpoint.Url + "/"), Timeout = TimeSpan.FromSeconds(30) };
        lock (_clients)
        {
            _clients.Add(client);
        }
        return client;
    }

    /// <summary>The connection string of a resource, as injected into the services that reference it.</summary>
    public async Task<string> GetConnectionStringAsync(string name, CancellationToken cancellationToken = default)
    {
        var resource = FindResource(name);
        if (resource is not IResourceWithConnectionString withConnectionString)
        {
            throw new InvalidOperationException($"Resource '{name}' ({resource.GetType().Name}) has no connection string.");
        }
        return await withConnectionString.ConnectionStringExpression.GetValueAsync(cancellationToken) ?? "";
    }

    /// <summary>Stops (and later starts) a resource, e.g. to test how a service copes with an outage.</summary>
    public Task StopResourceAsync(string name, CancellationToken cancellationToken = default) =>
        _application.Orchestrator.StopResourceAsync(EnsureKnown(name), cancellationToken);

    public Task StartResourceAsync(string name, CancellationToken cancellationToken = default) =>
        _application.Orchestrator.StartResourceAsync(EnsureKnown(name), cancellationToken);

    public Task RestartResourceAsync(string name, CancellationToken cancellationToken = default) =>
        _application.Orchestrator.RestartResourceAsync(EnsureKnown(name), cancellationToken);

    public IReadOnlyList<ResourceSnapshot> GetResources() => _application.Orchestrator.GetSnapshots();

    /// <summary>Stops everything within <see cref="TestingOptions.DisposeTimeout"/>, then kills whatever remains: never hangs.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        lock (_clients)
        {
            foreach (var client in _clients)
            {
                client.Dispose();
            }
        }
        using var timeout = new CancellationTokenSource(_options.DisposeTimeout);
        try
        {
            await _application.StopAsync(timeout.Token).WaitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            _application.Orchestrator.KillAll();
        }
        await _application.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _application.Orchestrator.KillAll();
    }

    private IResource FindResource(string name) => Model.Find(name);

    private string EnsureKnown(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (!Model.Resources.Any(r => r.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
            && !_application.Orchestrator.GetSnapshots().Any(s => s.Name.Equals(name, StringComparison.OrdinalIgnoreCase)))
        {
            throw new KeyNotFoundException($"No resource named '{name}'. Known resources: {string.Join(", ", Model.Resources.Select(r => r.Name))}.");
        }
        return name;
    }

    private string Describe(string name)
    {
        var snapshots = _application.Orchestrator.GetSnapshots()
            .Where(s => s.ResourceName.Equals(name, StringComparison.OrdinalIgnoreCase) || s.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
            .ToList();
        if (snapshots.Count == 0)
        {
            return "The application has not been started (call StartAsync first).";
        }
        var parts = snapshots.Select(s =>
        {
            var description = $"'{s.Name}' is {s.State}{(s.Health is { } h ? $" ({h})" : "")}{(s.Message is null ? "" : $": {s.Message}")}";
            if (s.State == KnownResourceStates.Waiting)
            {
                var stuckOn = _application.Orchestrator.GetSnapshots()
                    .Where(d => s.DependsOn.Contains(d.ResourceName) && d.Health != HealthStatus.Healthy)
                    .Select(d => $"'{d.Name}' ({d.State})");
                description += $", waiting for {string.Join(", ", stuckOn)}";
            }
            return description + $". Last log lines:\n{_application.Orchestrator.GetLog(s.Name).Tail(15)}";
        });
        return string.Join("\n", parts);
    }
}
