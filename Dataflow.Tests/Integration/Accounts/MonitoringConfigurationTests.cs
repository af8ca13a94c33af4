using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.RegularExpressions;
using Dataflow.Accounts.EventStore;
using Dataflow.ServiceDefaults.Telemetry;
using Dataflow.Tests.Infrastructure;

namespace Dataflow.Tests.Integration.Accounts;

/// <summary>The shipped Prometheus configuration is valid and the dashboards query metrics the service really exports.</summary>
[Trait("Category", "Integration")]
public sealed partial class MonitoringConfigurationTests(SharedServers servers)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string DeployDirectory([CallerFilePath] string source = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(source)!, "..", "..", "..", "deploy"));

    [Theory]
    [InlineData("config", "prometheus/prometheus.yml")]
    [InlineData("rules", "prometheus/accounts-alerts.yml")]
    public async Task Promtool_accepts_the_shipped_prometheus_files(string check, string file)
    {
        var promtool = "/usr/bin/promtool";
        Assert.True(File.Exists(promtool), "promtool is missing: install the Debian package 'prometheus'.");
        using var process = Process.Start(new ProcessStartInfo(promtool, ["check", check, Path.Combine(DeployDirectory(), file)])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var output = await process.StandardOutput.ReadToEndAsync(Ct) + await process.StandardError.ReadToEndAsync(Ct);
        await process.WaitForExitAsync(Ct);

        Assert.True(process.ExitCode == 0, output);
    }

    [Fact]
    public void Dashboards_are_valid_grafana_json_with_queries()
    {
        foreach (var file in Directory.EnumerateFiles(Path.Combine(DeployDirectory(), "grafana", "dashboards"), "*.json"))
        {
            using var json = JsonDocument.Parse(File.ReadAllText(file));
            var panels = json.RootElement.GetProperty("panels").EnumerateArray().ToArray();
            Assert.NotEmpty(panels);
            Assert.All(panels, p => Assert.NotEmpty(p.GetProperty("targets").EnumerateArray().Select(t => t.GetProperty("expr").GetString())));
            Assert.False(string.IsNullOrEmpty(json.RootElement.GetProperty("uid").GetString()));
        }
    }

    [Fact]
    public async Task Every_service_metric_the_dashboards_and_alerts_query_is_exported()
    {
        var postgres = await servers.GetPostgresAsync();
        await using var app = new AccountsApp(new Dictionary<string, string?>
        {
            ["ConnectionStrings:accounts"] = await postgres.CreateDatabaseAsync(cancellationToken: Ct),
            ["Accounts:SnapshotInterval"] = "2",
        });
        using var client = app.CreateClient();
        var account = await client.OpenAsync(Ct);
        await Parallel.ForEachAsync(Enumerable.Range(0, 40), new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = Ct }, async (_, ct) =>
            await client.DepositAsync(account, 1, Guid.NewGuid(), ct));
        (await client.GetAsync($"/api/account/{Guid.NewGuid()}", Ct)).Dispose();
        var exported = await client.GetStringAsync("/metrics", Ct);
        var declared = DeclaredAccountsMetricNames();

        var queried = Directory.EnumerateFiles(Path.Combine(DeployDirectory(), "grafana", "dashboards"), "*.json")
            .Append(Path.Combine(DeployDirectory(), "prometheus", "accounts-alerts.yml"))
            .SelectMany(file => ServiceMetricName().Matches(File.ReadAllText(file)).Select(m => m.Value))
            .Distinct()
            .ToArray();

        Assert.NotEmpty(queried);
        var missing = queried.Where(name => !exported.Contains(name + "{", StringComparison.Ordinal) && !exported.Contains(name + " ", StringComparison.Ordinal) && !declared.Contains(name)).ToArray();
        Assert.True(missing.Length == 0, $"Queried but never exported: {string.Join(", ", missing)}");
    }

    /// <summary>Prometheus names of every instrument on the service's meter (counters that have not counted yet are absent from a scrape).</summary>
    private static HashSet<string> DeclaredAccountsMetricNames()
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, _) =>
            {
                if (instrument.Meter.Name != AccountsMetrics.MeterName)
                {
                    return;
                }

                var type = instrument.GetType().GetGenericTypeDefinition();
                var name = PrometheusTextSerializer.MetricName(
                    instrument.Name, instrument.Unit, isCounter: type == typeof(Counter<>), isGauge: type == typeof(ObservableGauge<>) || type == typeof(UpDownCounter<>));
                lock (names)
                {
                    names.Add(name);
                    if (type == typeof(Histogram<>))
                    {
                        names.UnionWith([name + "_bucket", name + "_sum", name + "_count"]);
                    }
                }
            },
        };
        listener.Start();
        return names;
    }

    [GeneratedRegex(@"\b(accounts|http_server|dotnet)_[a-z0-9_]+\b")]
    private static partial Regex ServiceMetricName();
}
