using Dataflow.Hosting.ApplicationModel;
using Microsoft.Extensions.Configuration;

namespace Dataflow.Hosting;

/// <summary>The resources of a distributed application.</summary>
public sealed class DistributedApplicationModel(IReadOnlyList<IResource> resources)
{
    public IReadOnlyList<IResource> Resources { get; } = resources;

    public IResource Find(string name) =>
        Resources.FirstOrDefault(r => r.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
        ?? throw new KeyNotFoundException($"No resource named '{name}'. Known resources: {string.Join(", ", Resources.Select(r => r.Name))}.");
}

public interface IDistributedApplicationBuilder
{
    IConfigurationManager Configuration { get; }

    DistributedApplicationOptions Options { get; }

    ExecutionMode ExecutionMode { get; }

    /// <summary>Short random id of this run; suffixes cloud resource names (project ids, topics) so runs never collide.</summary>
    string RunId { get; }

    IReadOnlyList<IResource> Resources { get; }

    IResourceBuilder<T> AddResource<T>(T resource) where T : IResource;

    IResourceBuilder<T> CreateResourceBuilder<T>(T resource) where T : IResource;

    DistributedApplication Build();
}

public interface IResourceBuilder<out T> where T : IResource
{
    IDistributedApplicationBuilder ApplicationBuilder { get; }

    T Resource { get; }
}

internal sealed class ResourceBuilder<T>(IDistributedApplicationBuilder applicationBuilder, T resource) : IResourceBuilder<T>
    where T : IResource
{
    public IDistributedApplicationBuilder ApplicationBuilder { get; } = applicationBuilder;

    public T Resource { get; } = resource;
}

/// <summary>Settings of the AppHost itself (bound from the <c>AppHost</c> configuration section and the command line).</summary>
public sealed class DistributedApplicationOptions
{
    /// <summary>Serve the dashboard and the OTLP receiver (off in tests).</summary>
    public bool DashboardEnabled { get; set; } = true;

    /// <summary>Dashboard port on 127.0.0.1 (0: a free port).</summary>
    public int DashboardPort { get; set; } = 18888;

    /// <summary>Login token for the dashboard (null: a random one, printed at start).</summary>
    public string? DashboardToken { get; set; }

    /// <summary>Extra arguments for the <c>dotnet build</c> the AppHost runs for projects without a known build output (e.g. <c>--artifacts-path</c>).</summary>
    public IList<string> ProjectBuildArguments { get; } = [];

    /// <summary>Where resources' private data directories go.</summary>
    public string TemporaryRoot { get; set; } = Path.GetTempPath();

    /// <summary>How long a stopping process gets between SIGTERM and SIGKILL.</summary>
    public TimeSpan StopGracePeriod { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Receives every resource log line as "[resource] text" (the testing harness routes it into the test output).</summary>
    public Action<string>? LogSink { get; set; }

    /// <summary>Google Cloud project id for the emulators (suffixed with the run id when <see cref="SuffixCloudNamesWithRunId"/>).</summary>
    public string GcpProjectId { get; set; } = "dataflow-local";

    public bool SuffixCloudNamesWithRunId { get; set; }

    /// <summary>Manifest publishing: <c>--publisher manifest --output-path file</c>.</summary>
    public string? Publisher { get; set; }

    public string? OutputPath { get; set; }
}

[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "ConfigurationManager only needs disposing for reloadable (file-watching) sources; none are added.")]
public sealed class DistributedApplicationBuilder : IDistributedApplicationBuilder
{
    private readonly List<IResource> _resources = [];
    private readonly ConfigurationManager _configuration = new();

    public DistributedApplicationBuilder(string[] args, Action<DistributedApplicationOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(args);
        _configuration.AddEnvironmentVariables();
        _configuration.AddCommandLine(args, new Dictionary<string, string>
        {
            ["--publisher"] = "AppHost:Publisher",
            ["--output-path"] = "AppHost:OutputPath",
            ["--dashboard-port"] = "AppHost:DashboardPort",
        });
        _configuration.GetSection("AppHost").Bind(Options);
        configure?.Invoke(Options);
        if (Options.Publisher is not null && Options.Publisher != "manifest")
        {
            throw new ArgumentException($"Unknown publisher '{Options.Publisher}': the only publisher is 'manifest'.", nameof(args));
        }
        ExecutionMode = Options.Publisher is null ? ExecutionMode.Run : ExecutionMode.Publish;
        RunId = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4));
        TestingHook.Current?.OnBuilderCreated(this);
    }

    public IConfigurationManager Configuration => _configuration;

    public DistributedApplicationOptions Options { get; } = new();

    public ExecutionMode ExecutionMode { get; }

    public string RunId { get; }

    public IReadOnlyList<IResource> Resources => _resources;

    public IResourceBuilder<T> AddResource<T>(T resource) where T : IResource
    {
        ArgumentNullException.ThrowIfNull(resource);
        if (_resources.Any(r => r.Name.Equals(resource.Name, StringComparison.OrdinalIgnoreCase)))
        {
            throw new InvalidOperationException($"Cannot add resource '{resource.Name}': a resource with that name already exists.");
        }
        _resources.Add(resource);
        return CreateResourceBuilder(resource);
    }

    public IResourceBuilder<T> CreateResourceBuilder<T>(T resource) where T : IResource => new ResourceBuilder<T>(this, resource);

    public DistributedApplication Build()
    {
        var app = new DistributedApplication(new DistributedApplicationModel([.. _resources]), Options, ExecutionMode, RunId);
        TestingHook.Current?.OnApplicationBuilt(app);
        return app;
    }
}

/// <summary>Lets the testing harness take over an AppHost's entry point (same idea as Aspire's DistributedApplicationFactory).</summary>
internal interface ITestingHook
{
    void OnBuilderCreated(DistributedApplicationBuilder builder);

    void OnApplicationBuilt(DistributedApplication application);
}

internal static class TestingHook
{
    private static readonly AsyncLocal<ITestingHook?> CurrentHook = new();

    public static ITestingHook? Current
    {
        get => CurrentHook.Value;
        set => CurrentHook.Value = value;
    }
}
