using System.Diagnostics.Metrics;
using Dataflow.ServiceDefaults.Telemetry;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace Dataflow.Tests.Unit.ServiceDefaults;

[Trait("Category", "Unit")]
public sealed class PrometheusTextSerializerTests
{
    private static readonly CancellationToken Ct = TestContext.Current.CancellationToken;

    [Fact]
    public async Task Counter_is_rendered_with_help_type_total_suffix_and_labels()
    {
        var (meter, reader, provider) = Create();
        using var _ = provider;
        using var __ = meter;
        var counter = meter.CreateCounter<long>("orders.placed", unit: "{order}", description: "Orders placed.");
        counter.Add(3, new KeyValuePair<string, object?>("region", "eu"));
        counter.Add(2, new KeyValuePair<string, object?>("region", "eu"));
        counter.Add(1, new KeyValuePair<string, object?>("region", "us \"west\"\n"));

        var text = await reader.ScrapeAsync(Ct);

        Assert.Contains("# HELP orders_placed_total Orders placed.\n# TYPE orders_placed_total counter\n", text);
        Assert.Contains("orders_placed_total{region=\"eu\"} 5\n", text);
        Assert.Contains("orders_placed_total{region=\"us \\\"west\\\"\\n\"} 1\n", text);
    }

    [Fact]
    public async Task Histogram_has_cumulative_buckets_with_le_plus_sum_and_count()
    {
        var (meter, reader, provider) = Create(histogramBounds: [0.1, 1]);
        using var _ = provider;
        using var __ = meter;
        var histogram = meter.CreateHistogram<double>("request.duration", unit: "s");
        histogram.Record(0.05);
        histogram.Record(0.5);
        histogram.Record(0.7);
        histogram.Record(3);

        var text = await reader.ScrapeAsync(Ct);

        Assert.Contains("# TYPE request_duration_seconds histogram\n", text);
        Assert.Contains("request_duration_seconds_bucket{le=\"0.1\"} 1\n", text);
        Assert.Contains("request_duration_seconds_bucket{le=\"1\"} 3\n", text);
        Assert.Contains("request_duration_seconds_bucket{le=\"+Inf\"} 4\n", text);
        Assert.Contains("request_duration_seconds_sum 4.25\n", text);
        Assert.Contains("request_duration_seconds_count 4\n", text);
    }

    [Fact]
    public async Task UpDownCounter_and_observable_gauge_are_gauges()
    {
        var (meter, reader, provider) = Create();
        using var _ = provider;
        using var __ = meter;
        meter.CreateUpDownCounter<int>("queue.depth", unit: "{message}").Add(-4);
        meter.CreateObservableGauge("pool.usage", () => 0.25, unit: "1");

        var text = await reader.ScrapeAsync(Ct);

        Assert.Contains("# TYPE queue_depth gauge\nqueue_depth -4\n", text);
        Assert.Contains("# TYPE pool_usage_ratio gauge\npool_usage_ratio 0.25\n", text);
    }

    [Theory]
    [InlineData("http.server.request.duration", "s", false, "http_server_request_duration_seconds")]
    [InlineData("dataflow.bytes.sent", "By", true, "dataflow_bytes_sent_bytes_total")]
    [InlineData("throughput", "By/s", false, "throughput_bytes_per_second")]
    [InlineData("accounts.conflicts", "{conflict}", true, "accounts_conflicts_total")]
    [InlineData("requests_total", "", true, "requests_total")]
    [InlineData("9lives", "ms", false, "_9lives_milliseconds")]
    public void Instrument_names_follow_the_OpenTelemetry_to_Prometheus_rules(string name, string unit, bool counter, string expected) =>
        Assert.Equal(expected, PrometheusTextSerializer.MetricName(name, unit, counter));

    private static (Meter Meter, PrometheusMetricReader Reader, MeterProvider Provider) Create(double[]? histogramBounds = null)
    {
        var meterName = $"Test.{Guid.NewGuid():N}";
        var reader = new PrometheusMetricReader();
        var builder = Sdk.CreateMeterProviderBuilder().AddMeter(meterName).AddReader(reader);
        if (histogramBounds is not null)
        {
            builder.AddView("*", new ExplicitBucketHistogramConfiguration { Boundaries = histogramBounds });
        }
        return (new Meter(meterName), reader, builder.Build());
    }
}
