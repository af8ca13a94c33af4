using System.Reflection;
using Dataflow.Hosting;

namespace Dataflow.Hosting.Testing;

/// <summary>Settings of a test run of a distributed application.</summary>
public sealed class TestingOptions
{
    /// <summary>Receives every resource log line (route it into the test output).</summary>
    public Action<string>? Log { get; set; }

    /// <summary>Default limit for <see cref="TestingApplication.WaitForResourceHealthyAsync"/>.</summary>
    public TimeSpan DefaultWaitTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How long disposal may take before every remaining process is killed.</summary>
    public TimeSpan DisposeTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Arguments for the <c>dotnet build</c> of projects (defaults to this test run's <c>--artifacts-path</c>, when it has one).</summary>
    public IList<string> ProjectBuildArguments { get; } = [.. TestingBuilder.DetectArtifactsPathArguments()];

    /// <summary>Serve the dashboard (off by default in tests).</summary>
    public bool DashboardEnabled { get; set; }
}

/// <summary>
/// Starts a distributed application inside a test: the AppHost's own topology (<see cref="CreateAsync{TEntryPoint}"/>)
/// or one declared in the test (<see cref="Create"/>). Random ports, dashboard off, run-id-suffixed cloud names.
/// </summary>
public static class TestingBuilder
{
    /// <summary>Runs the entry point of the AppHost assembly containing <typeparamref name="TEntryPoint"/> up to <c>Build()</c> and takes the application over.</summary>
    public static Task<TestingApplication> CreateAsync<TEntryPoint>(string[]? args = null, Action<TestingOptions>? configure = null,
        CancellationToken cancellationToken = default) =>
        CreateAsync(typeof(TEntryPoint).Assembly, args, configure, cancellationToken);

    public static async Task<TestingApplication> CreateAsync(Assembly appHostAssembly, string[]? args = null, Action<TestingOptions>? configure = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(appHostAssembly);
        var entryPoint = appHostAssembly.EntryPoint
            ?? throw new InvalidOperationException($"Assembly '{appHostAssembly.GetName().Name}' has no entry point: pass a type of the AppHost project.");
        var options = new TestingOptions();
        configure?.Invoke(options);
        var hook = new CapturingHook(options);
        var previous = TestingHook.Current;
        TestingHook.Current = hook;
        try
        {
            // Top-level statements compile to Main(string[]); run it on a worker so a blocking Run() cannot hang the test.
            var main = Task.Run(() => entryPoint.Invoke(null, entryPoint.GetParameters().Length == 0 ? [] : [args ?? []]), cancellationToken);
            var built = await Task.WhenAny(hook.Built, main);
            if (built == main)
            {
                await main;
            }
            var application = await hook.Built.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
            return new TestingApplication(application, options);
        }
        catch (TargetInvocationException ex) when (ex.InnerException is not null)
        {
            throw new InvalidOperationException($"The AppHost entry point of '{appHostAssembly.GetName().Name}' failed: {ex.InnerException.Message}", ex.InnerException);
        }
        finally
        {
            TestingHook.Current = previous;
        }
    }

    /// <summary>A builder for a topology declared in the test; finish with <see cref="TestingDistributedApplicationBuilder.BuildAsync"/>.</summary>
    public static TestingDistributedApplicationBuilder Create(Action<TestingOptions>? configure = null, params string[] args)
    {
        var options = new TestingOptions();
        configure?.Invoke(options);
        return new TestingDistributedApplicationBuilder(new DistributedApplicationBuilder(args, o => Apply(o, options)), options);
    }

    internal static void Apply(DistributedApplicationOptions target, TestingOptions options)
    {
        target.DashboardEnabled = options.DashboardEnabled;
        target.DashboardPort = 0;
        target.SuffixCloudNamesWithRunId = true;
        target.StopGracePeriod = TimeSpan.FromSeconds(3);
        target.LogSink = options.Log;
        foreach (var argument in options.ProjectBuildArguments)
        {
            target.ProjectBuildArguments.Add(argument);
        }
    }

    /// <summary>
    /// When the tests were built with <c>--artifacts-path X</c> (output in X/bin/&lt;project&gt;/&lt;config&gt;/), projects are built into the same
    /// artifacts so the build is incremental and does not touch other people's obj/ folders.
    /// </summary>
    public static IEnumerable<string> DetectArtifactsPathArguments()
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var bin = configuration.Parent?.Parent;
        if (bin?.Name == "bin" && bin.Parent is { } root && Directory.Exists(Path.Combine(root.FullName, "obj")))
        {
            return ["--artifacts-path", root.FullName];
        }
        return [];
    }

    private sealed class CapturingHook(TestingOptions options) : ITestingHook
    {
        private readonly TaskCompletionSource<DistributedApplication> _built = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<DistributedApplication> Built => _built.Task;

        public void OnBuilderCreated(DistributedApplicationBuilder builder) => Apply(builder.Options, options);

        public void OnApplicationBuilt(DistributedApplication application)
        {
            application.LifetimeOwnedByHarness = true;
            _built.TrySetResult(application);
        }
    }
}

/// <summary>An in-test topology: add resources with the usual <c>Add*</c> methods, then <see cref="BuildAsync"/>.</summary>
public sealed class TestingDistributedApplicationBuilder(DistributedApplicationBuilder inner, TestingOptions options) : IDistributedApplicationBuilder
{
    public Microsoft.Extensions.Configuration.IConfigurationManager Configuration => inner.Configuration;

    public DistributedApplicationOptions Options => inner.Options;

    public ApplicationModel.ExecutionMode ExecutionMode => inner.ExecutionMode;

    public string RunId => inner.RunId;

    public IReadOnlyList<ApplicationModel.IResource> Resources => inner.Resources;

    public IResourceBuilder<T> AddResource<T>(T resource) where T : ApplicationModel.IResource => inner.AddResource(resource);

    public IResourceBuilder<T> CreateResourceBuilder<T>(T resource) where T : ApplicationModel.IResource => inner.CreateResourceBuilder(resource);

    public DistributedApplication Build() => inner.Build();

    public Task<TestingApplication> BuildAsync() => Task.FromResult(new TestingApplication(inner.Build(), options));
}
