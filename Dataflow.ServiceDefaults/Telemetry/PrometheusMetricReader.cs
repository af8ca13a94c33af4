using System.Text;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace Dataflow.ServiceDefaults.Telemetry;

/// <summary>
/// A pull-mode metric reader that renders every collected metric in the Prometheus text exposition format
/// (version 0.0.4) on demand, for the <c>/metrics</c> endpoint.
/// </summary>
public sealed class PrometheusMetricReader : BaseExportingMetricReader
{
    private readonly TextExporter _exporter;
    private readonly SemaphoreSlim _scrapeGate = new(1, 1);

    public PrometheusMetricReader()
        : this(new TextExporter())
    {
    }

    private PrometheusMetricReader(TextExporter exporter)
        : base(exporter)
    {
        _exporter = exporter;
        // Prometheus expects counters and histograms to be cumulative since process start.
        TemporalityPreference = MetricReaderTemporalityPreference.Cumulative;
    }

    /// <summary>Collects all metrics now and returns them in the Prometheus text format.</summary>
    public async Task<string> ScrapeAsync(CancellationToken cancellationToken)
    {
        // Collection writes into one shared buffer, so concurrent scrapes take turns.
        await _scrapeGate.WaitAsync(cancellationToken);
        try
        {
            _exporter.Output.Clear();
            // A pull-only exporter may only be collected through the delegate the SDK hands it.
            if (_exporter.Collect is not { } collect || !collect(5000))
            {
                throw new TimeoutException("Collecting metrics for the Prometheus scrape failed or timed out.");
            }
            return _exporter.Output.ToString();
        }
        finally
        {
            _scrapeGate.Release();
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _scrapeGate.Dispose();
        }
        base.Dispose(disposing);
    }

    [ExportModes(ExportModes.Pull)]
    private sealed class TextExporter : BaseExporter<Metric>, IPullMetricExporter
    {
        public StringBuilder Output { get; } = new();

        public Func<int, bool>? Collect { get; set; }

        // Metric points are only valid during this call, so they are rendered here, on the collecting thread.
        public override ExportResult Export(in Batch<Metric> batch)
        {
            var families = new HashSet<string>(StringComparer.Ordinal);
            foreach (var metric in batch)
            {
                PrometheusTextSerializer.Write(Output, metric, families);
            }
            return ExportResult.Success;
        }
    }
}
