using System.Globalization;
using Dataflow.Hosting.Processes;

namespace Dataflow.Testing.Servers;

/// <summary>Google's Pub/Sub emulator (gcloud component), REST and gRPC on one loopback port.</summary>
public sealed class PubSubEmulator : ServerProcess
{
    private readonly string _javaOptions;

    private PubSubEmulator(string javaOptions)
        : base("pubsub-emulator")
    {
        _javaOptions = javaOptions;
    }

    /// <summary><c>127.0.0.1:port</c>, the value of <c>PUBSUB_EMULATOR_HOST</c>.</summary>
    public string HostPort => $"{Host}:{Port}";

    public Uri BaseUri => new($"http://{HostPort}/");

    public static Task<PubSubEmulator> StartAsync(CancellationToken cancellationToken = default) =>
        StartAsync(new PubSubEmulator(EmulatorJvm.Options), prepare: null, cancellationToken);

    /// <summary>
    /// Starts the emulator with its JVM options (<c>JAVA_TOOL_OPTIONS</c>) instead of the tests' small heap: for
    /// benchmarks that keep hundreds of thousands of messages, which exhaust the default 512 MB of direct buffers.
    /// </summary>
    public static Task<PubSubEmulator> StartAsync(string javaOptions, CancellationToken cancellationToken = default) =>
        StartAsync(new PubSubEmulator(javaOptions), prepare: null, cancellationToken);

    protected override TimeSpan StartTimeout => TimeSpan.FromSeconds(90);

    protected override ChildProcessOptions CreateProcessOptions() =>
        new(ServerBinaries.PubSubEmulator,
            [$"--host={Host}", $"--port={Port.ToString(CultureInfo.InvariantCulture)}", $"--dir={DataDirectory}"])
        {
            DisplayName = "pubsub-emulator",
            Environment = new Dictionary<string, string?> { ["JAVA_TOOL_OPTIONS"] = _javaOptions },
        };

    protected override Task<bool> IsReadyAsync(CancellationToken cancellationToken) =>
        Probes.HttpOkAsync($"http://{HostPort}/", cancellationToken);
}

/// <summary>Google's Firestore emulator (gcloud component), REST on a loopback port.</summary>
public sealed class FirestoreEmulator : ServerProcess
{
    private FirestoreEmulator()
        : base("firestore-emulator")
    {
    }

    /// <summary><c>127.0.0.1:port</c>, the value of <c>FIRESTORE_EMULATOR_HOST</c>.</summary>
    public string HostPort => $"{Host}:{Port}";

    public Uri BaseUri => new($"http://{HostPort}/");

    public static Task<FirestoreEmulator> StartAsync(CancellationToken cancellationToken = default) =>
        StartAsync(new FirestoreEmulator(), prepare: null, cancellationToken);

    protected override TimeSpan StartTimeout => TimeSpan.FromSeconds(90);

    // The SDK's launcher script runs java as its child instead of exec'ing it, so it is bypassed:
    // java must be the direct child for teardown to reach it.
    protected override ChildProcessOptions CreateProcessOptions() =>
        new(ServerBinaries.Java,
        [
            "-Duser.language=en", "-cp", ServerBinaries.FirestoreEmulatorJar,
            "com.google.cloud.datastore.emulator.firestore.CloudFirestore", "start",
            $"--host={Host}", $"--port={Port.ToString(CultureInfo.InvariantCulture)}",
        ])
        {
            DisplayName = "firestore-emulator",
            Environment = new Dictionary<string, string?> { ["JAVA_TOOL_OPTIONS"] = EmulatorJvm.Options },
        };

    protected override Task<bool> IsReadyAsync(CancellationToken cancellationToken) =>
        Probes.HttpOkAsync($"http://{HostPort}/", cancellationToken);
}

internal static class EmulatorJvm
{
    /// <summary>Small heaps and the serial collector: two JVMs share a 2-core test machine with everything else.</summary>
    public const string Options = "-Xms64m -Xmx512m -XX:+UseSerialGC";
}
