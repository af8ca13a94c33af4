using System.Globalization;
using Dataflow.Hosting.Processes;

namespace Dataflow.Testing.Servers;

/// <summary>A throwaway Mosquitto 2 broker: anonymous, loopback, persistence in its temp dir.</summary>
public sealed class MosquittoServer : ServerProcess
{
    private readonly IReadOnlyList<string> _extraConfigLines;

    private MosquittoServer(IReadOnlyList<string> extraConfigLines)
        : base("mosquitto") => _extraConfigLines = extraConfigLines;

    /// <summary><c>mqtt://127.0.0.1:port</c>, the form the AppHost injects.</summary>
    public string ConnectionString => $"mqtt://{Host}:{Port}";

    public string ConfigPath => Path.Combine(DataDirectory, "mosquitto.conf");

    /// <param name="extraConfigLines">Lines appended to the config, e.g. a TLS listener or <c>password_file</c>.
    /// When they contain <c>allow_anonymous</c>, the default <c>allow_anonymous true</c> is left out.</param>
    public static Task<MosquittoServer> StartAsync(IReadOnlyList<string>? extraConfigLines = null, CancellationToken cancellationToken = default) =>
        StartAsync(new MosquittoServer(extraConfigLines ?? []), prepare: null, cancellationToken);

    protected override ChildProcessOptions CreateProcessOptions()
    {
        List<string> lines =
        [
            // Stay root when started as root: a process that changes its own uid loses its tie to the test host.
            "user root",
            "per_listener_settings false",
            $"listener {Port.ToString(CultureInfo.InvariantCulture)} 127.0.0.1",
            "persistence true",
            $"persistence_location {DataDirectory}/",
            "max_queued_messages 100000",
            "max_inflight_messages 0",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "log_type notice",
        ];
        if (!_extraConfigLines.Any(l => l.TrimStart().StartsWith("allow_anonymous", StringComparison.Ordinal)))
        {
            lines.Add("allow_anonymous true");
        }
        lines.AddRange(_extraConfigLines);
        File.WriteAllLines(ConfigPath, lines);
        return new ChildProcessOptions(ServerBinaries.Mosquitto, ["-c", ConfigPath]) { DisplayName = "mosquitto" };
    }

    protected override Task<bool> IsReadyAsync(CancellationToken cancellationToken) =>
        Probes.TcpAcceptsAsync(Host, Port, cancellationToken);
}
