using System.Globalization;
using Dataflow.Hosting.Processes;

namespace Dataflow.Testing.Servers;

/// <summary>A throwaway Prometheus server scraping the given targets every second.</summary>
public sealed class PrometheusServer : ServerProcess
{
    private readonly IReadOnlyList<string> _targets;

    private PrometheusServer(IReadOnlyList<string> targets)
        : base("prometheus") => _targets = targets;

    public Uri BaseUri => new($"http://{Host}:{Port}/");

    /// <param name="targets"><c>host:port</c> of services exposing <c>/metrics</c>.</param>
    public static Task<PrometheusServer> StartAsync(IEnumerable<string> targets, CancellationToken cancellationToken = default) =>
        StartAsync(new PrometheusServer([.. targets]), prepare: null, cancellationToken);

    protected override ChildProcessOptions CreateProcessOptions()
    {
        var config = Path.Combine(DataDirectory, "prometheus.yml");
        var targets = string.Join(", ", _targets.Select(t => $"'{t}'"));
        File.WriteAllText(config, $"""
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
            scrape_configs:
              - job_name: dataflow
                metrics_path: /metrics
                static_configs:
                  - targets: [{targets}]
            """);
        return new ChildProcessOptions(ServerBinaries.Prometheus,
        [
            $"--config.file={config}", $"--storage.tsdb.path={Path.Combine(DataDirectory, "data")}",
            $"--web.listen-address={Host}:{Port.ToString(CultureInfo.InvariantCulture)}", "--log.level=warn",
        ])
        {
            DisplayName = "prometheus",
        };
    }

    protected override Task<bool> IsReadyAsync(CancellationToken cancellationToken) =>
        Probes.HttpOkAsync($"http://{Host}:{Port}/-/ready", cancellationToken);
}
