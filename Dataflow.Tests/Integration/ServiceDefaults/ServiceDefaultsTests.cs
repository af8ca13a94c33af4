using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using System.Text;
using System.Text.Json;
using Dataflow.ServiceDefaults.Resilience;
using Dataflow.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace Dataflow.Tests.Integration.ServiceDefaults;

[Trait("Category", "Integration")]
public sealed class ServiceDefaultsTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Liveness_stays_up_while_readiness_reports_the_failing_dependency()
    {
        await using var app = await ServiceDefaultsApp.StartAsync(configure: builder =>
            builder.Services.AddHealthChecks().AddCheck("database", () => HealthCheckResult.Unhealthy("database unreachable"), ["ready"]));

        Assert.Equal(HttpStatusCode.OK, (await app.Client.GetAsync("/healthz", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await app.Client.GetAsync("/alive", Ct)).StatusCode);
        using var ready = await app.Client.GetAsync("/readyz", Ct);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        using var body = JsonDocument.Parse(await ready.Content.ReadAsStringAsync(Ct));
        Assert.Equal("Unhealthy", body.RootElement.GetProperty("status").GetString());
        Assert.Equal("database unreachable", body.RootElement.GetProperty("checks").GetProperty("database").GetProperty("description").GetString());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await app.Client.GetAsync("/health", Ct)).StatusCode);
    }

    [Fact]
    public async Task Readiness_is_healthy_when_every_ready_check_passes()
    {
        await using var app = await ServiceDefaultsApp.StartAsync(configure: builder =>
            builder.Services.AddHealthChecks().AddCheck("database", () => HealthCheckResult.Healthy(), ["ready"]));

        using var ready = await app.Client.GetAsync("/readyz", Ct);

        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Contains("\"database\"", await ready.Content.ReadAsStringAsync(Ct));
    }

    [Fact]
    public async Task Metrics_endpoint_serves_Prometheus_text_with_the_built_in_http_server_histogram()
    {
        await using var app = await ServiceDefaultsApp.StartAsync(map: web => web.MapGet("/hello", () => "hi"));
        await app.Client.GetStringAsync("/hello", Ct);

        using var response = await app.Client.GetAsync("/metrics", Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);

        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType!.ToString());
        Assert.Contains("# TYPE http_server_request_duration_seconds histogram", text);
        Assert.Contains("http_server_request_duration_seconds_bucket{", text);
        Assert.Contains("http_route=\"/hello\"", text);
    }

    [Fact]
    public async Task Service_names_resolve_through_configuration_and_calls_are_resilient_by_default()
    {
        var calls = 0;
        await using var backend = await TestHttpServer.StartAsync(context =>
        {
            context.Response.StatusCode = Interlocked.Increment(ref calls) == 1 ? 503 : 200;
            return context.Response.WriteAsync("from backend", context.RequestAborted);
        }, Ct);
        await using var app = await ServiceDefaultsApp.StartAsync(
            settings: new Dictionary<string, string?> { ["services:backend:http:0"] = backend.BaseUri.ToString() },
            configure: builder => builder.Services.ConfigureAll<HttpStandardResilienceOptions>(o => o.RetryBaseDelay = TimeSpan.FromMilliseconds(10)));
        var client = app.App.Services.GetRequiredService<IHttpClientFactory>().CreateClient("backend-client");

        var body = await client.GetStringAsync(new Uri("https+http://backend/anything"), Ct);

        Assert.Equal("from backend", body);
        Assert.Equal(2, backend.RequestCount);
    }

    [Fact]
    public async Task Console_log_format_and_level_come_from_configuration()
    {
        await using var app = await ServiceDefaultsApp.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Logging:Console:FormatterName"] = "json",
            ["Logging:LogLevel:Default"] = "Warning",
        });

        var console = app.App.Services.GetRequiredService<IOptionsMonitor<ConsoleLoggerOptions>>().CurrentValue;
        Assert.Equal(ConsoleFormatterNames.Json, console.FormatterName);
        Assert.True(app.App.Services.GetRequiredService<IOptionsMonitor<JsonConsoleFormatterOptions>>().CurrentValue.UseUtcTimestamp);
        var logger = app.App.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Test");
        Assert.False(logger.IsEnabled(LogLevel.Information));
        Assert.True(logger.IsEnabled(LogLevel.Warning));
    }

    [Fact]
    public async Task Traces_metrics_and_logs_are_exported_over_OTLP_only_when_an_endpoint_is_configured()
    {
        var received = new ConcurrentBag<(string Path, string ContentType, byte[] Body)>();
        await using var collector = await TestHttpServer.StartAsync(async context =>
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
            received.Add((context.Request.Path, context.Request.ContentType ?? "", buffer.ToArray()));
        }, Ct);

        var app = await ServiceDefaultsApp.StartAsync(
            settings: new Dictionary<string, string?>
            {
                ["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.BaseUri.ToString(),
                ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
                ["OTEL_SERVICE_NAME"] = "otlp-probe-service",
                ["OTEL_RESOURCE_ATTRIBUTES"] = "service.instance.id=instance-42",
            },
            map: web => web.MapGet("/work", (ILogger<ServiceDefaultsTests> logger) =>
            {
                logger.LogWarning("work done for the OTLP test");
                return "ok";
            }));
        await app.Client.GetStringAsync("/work", Ct);
        await app.DisposeAsync(); // Stopping flushes every exporter.

        foreach (var signal in new[] { "/v1/traces", "/v1/metrics", "/v1/logs" })
        {
            var exports = received.Where(r => r.Path == signal).ToList();
            Assert.True(exports.Count > 0, $"nothing was exported to {signal}; got {string.Join(", ", received.Select(r => r.Path))}");
            Assert.All(exports, e => Assert.Equal("application/x-protobuf", e.ContentType));
            var text = string.Join("", exports.Select(e => Encoding.UTF8.GetString(e.Body)));
            Assert.Contains("otlp-probe-service", text);
            Assert.Contains("instance-42", text);
        }
        Assert.Contains("work done for the OTLP test", string.Join("", received.Where(r => r.Path == "/v1/logs").Select(r => Encoding.UTF8.GetString(r.Body))));
    }

    [Fact]
    public async Task Each_host_in_a_process_exports_the_meters_of_its_own_meter_factory_and_the_process_wide_ones()
    {
        using var processWide = new Meter("Dataflow.Tests.ProcessWide");
        processWide.CreateObservableGauge("process_wide.probe", () => 1);
        await using var first = await ServiceDefaultsApp.StartAsync();
        await using var second = await ServiceDefaultsApp.StartAsync();
        first.App.Services.GetRequiredService<IMeterFactory>().Create("Dataflow.Tests.PerHost").CreateCounter<long>("per_host.widgets").Add(3);
        second.App.Services.GetRequiredService<IMeterFactory>().Create("Dataflow.Tests.PerHost").CreateCounter<long>("per_host.widgets").Add(5);

        var firstText = await first.Client.GetStringAsync("/metrics", Ct);
        var secondText = await second.Client.GetStringAsync("/metrics", Ct);

        Assert.Contains("\nper_host_widgets_total 3\n", firstText, StringComparison.Ordinal);
        Assert.Contains("\nper_host_widgets_total 5\n", secondText, StringComparison.Ordinal);
        Assert.Contains("\nprocess_wide_probe 1\n", firstText, StringComparison.Ordinal);
        Assert.Contains("\nprocess_wide_probe 1\n", secondText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_real_Prometheus_server_scrapes_the_service_and_answers_a_query_for_its_metric()
    {
        using var meter = new Meter("Dataflow.Tests.PrometheusScrape");
        var widgets = meter.CreateCounter<long>("scrape_probe.widgets", description: "Widgets made by the scrape test.");
        await using var app = await ServiceDefaultsApp.StartAsync();
        widgets.Add(7, new KeyValuePair<string, object?>("colour", "blue"));
        await using var prometheus = await PrometheusServer.StartAsync([$"{app.BaseUri.Host}:{app.BaseUri.Port}"], Ct);
        using var http = new HttpClient { BaseAddress = prometheus.BaseUri };

        string? value = null;
        for (var attempt = 0; attempt < 300 && value is null; attempt++)
        {
            using var answer = JsonDocument.Parse(await http.GetStringAsync("api/v1/query?query=scrape_probe_widgets_total", Ct));
            var result = answer.RootElement.GetProperty("data").GetProperty("result");
            if (result.GetArrayLength() > 0)
            {
                Assert.Equal("blue", result[0].GetProperty("metric").GetProperty("colour").GetString());
                value = result[0].GetProperty("value")[1].GetString();
            }
            else
            {
                await Task.Delay(100, Ct);
            }
        }

        Assert.Equal("7", value);
    }
}
