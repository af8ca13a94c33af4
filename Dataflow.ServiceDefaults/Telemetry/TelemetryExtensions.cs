using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Exporter;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Dataflow.ServiceDefaults.Telemetry;

/// <summary>
/// OpenTelemetry wired by hand on the SDK (the hosting extensions package is not available here): traces,
/// metrics and logs with OTLP export when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set, plus a Prometheus reader.
/// </summary>
public static class TelemetryExtensions
{
    /// <summary>Activity sources recorded besides the services' own <c>Dataflow.*</c> sources.</summary>
    public static readonly IReadOnlyList<string> BuiltInActivitySources = ["Microsoft.AspNetCore", "System.Net.Http"];

    /// <summary>Meters exported besides the services' own <c>Dataflow.*</c> meters.</summary>
    public static readonly IReadOnlyList<string> BuiltInMeters =
    [
        "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "Microsoft.AspNetCore.Routing",
        "Microsoft.AspNetCore.Diagnostics", "Microsoft.AspNetCore.RateLimiting", "System.Net.Http",
        "System.Net.NameResolution", "System.Runtime",
    ];

    internal static IHostApplicationBuilder ConfigureOpenTelemetry(this IHostApplicationBuilder builder)
    {
        var settings = OtlpSettings.From(builder.Configuration);
        var resource = CreateResource(builder.Configuration, builder.Environment.ApplicationName);

        if (settings is not null)
        {
            builder.Logging.AddOpenTelemetry(logging =>
            {
                logging.SetResourceBuilder(resource);
                logging.IncludeFormattedMessage = true;
                logging.IncludeScopes = true;
                logging.AddOtlpExporter(settings.Configure("logs"));
            });
        }

        builder.Services.AddSingleton(sp => TelemetryProviders.Create(resource, settings, sp.GetService<IMeterFactory>()));
        builder.Services.AddSingleton(sp => sp.GetRequiredService<TelemetryProviders>().Prometheus);
        builder.Services.AddHostedService<TelemetryLifetime>();
        builder.Services.AddTransient<IStartupFilter, HttpServerSpanStartupFilter>();
        return builder;
    }

    private static ResourceBuilder CreateResource(IConfiguration configuration, string applicationName)
    {
        var serviceName = configuration["OTEL_SERVICE_NAME"] is { Length: > 0 } name ? name : applicationName;
        // Read from configuration rather than the process environment so appsettings and tests can set them;
        // added last so that OTEL_RESOURCE_ATTRIBUTES (service.instance.id, …) wins over the defaults.
        return ResourceBuilder.CreateDefault()
            .AddService(serviceName, autoGenerateServiceInstanceId: true)
            .AddAttributes(ParseResourceAttributes(configuration["OTEL_RESOURCE_ATTRIBUTES"]));
    }

    /// <summary>Parses <c>key1=value1,key2=value2</c> (values percent-encoded) as the OpenTelemetry spec defines it.</summary>
    internal static IEnumerable<KeyValuePair<string, object>> ParseResourceAttributes(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            yield break;
        }
        foreach (var pair in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new InvalidOperationException($"OTEL_RESOURCE_ATTRIBUTES entry '{pair}' is not key=value.");
            }
            yield return new(pair[..equals].Trim(), Uri.UnescapeDataString(pair[(equals + 1)..].Trim()));
        }
    }

    /// <summary>The OTLP endpoint and protocol from configuration (<c>OTEL_EXPORTER_OTLP_*</c>).</summary>
    internal sealed record OtlpSettings(Uri Endpoint, OtlpExportProtocol Protocol)
    {
        public static OtlpSettings? From(IConfiguration configuration)
        {
            if (configuration["OTEL_EXPORTER_OTLP_ENDPOINT"] is not { Length: > 0 } endpoint)
            {
                return null;
            }
            if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri))
            {
                throw new InvalidOperationException($"OTEL_EXPORTER_OTLP_ENDPOINT is not an absolute URL: '{endpoint}'.");
            }
            var protocol = configuration["OTEL_EXPORTER_OTLP_PROTOCOL"] switch
            {
                null or "" or "grpc" => OtlpExportProtocol.Grpc,
                "http/protobuf" => OtlpExportProtocol.HttpProtobuf,
                var other => throw new InvalidOperationException(
                    $"OTEL_EXPORTER_OTLP_PROTOCOL '{other}' is not supported: use 'grpc' or 'http/protobuf'."),
            };
            return new OtlpSettings(uri, protocol);
        }

        /// <summary>Exporter options for one signal; over HTTP each signal has its own path under the base URL.</summary>
        public Action<OtlpExporterOptions> Configure(string signal) => options =>
        {
            options.Protocol = Protocol;
            options.Endpoint = Protocol == OtlpExportProtocol.HttpProtobuf
                ? new Uri(Endpoint, $"{Endpoint.AbsolutePath.TrimEnd('/')}/v1/{signal}")
                : Endpoint;
        };
    }
}

/// <summary>The tracer and meter providers of the process and its Prometheus reader.</summary>
public sealed class TelemetryProviders : IDisposable
{
    private TelemetryProviders(TracerProvider tracing, MeterProvider metrics, PrometheusMetricReader prometheus)
    {
        Tracing = tracing;
        Metrics = metrics;
        Prometheus = prometheus;
    }

    public TracerProvider Tracing { get; }

    public MeterProvider Metrics { get; }

    public PrometheusMetricReader Prometheus { get; }

    /// <param name="meterFactory">
    /// This host's meter factory: meters another host's factory created (several hosts in one process, as in tests)
    /// are left to that host, because providers subscribe by meter name, which both hosts share.
    /// </param>
    internal static TelemetryProviders Create(ResourceBuilder resource, TelemetryExtensions.OtlpSettings? otlp, IMeterFactory? meterFactory)
    {
        var tracing = OpenTelemetry.Sdk.CreateTracerProviderBuilder()
            .SetResourceBuilder(resource)
            .AddSource([.. TelemetryExtensions.BuiltInActivitySources, "Dataflow.*"]);
        var prometheus = new PrometheusMetricReader();
        var metrics = OpenTelemetry.Sdk.CreateMeterProviderBuilder()
            .SetResourceBuilder(resource)
            .AddMeter([.. TelemetryExtensions.BuiltInMeters, "Dataflow.*"])
            .AddView(instrument => instrument.Meter.Scope is IMeterFactory owner && owner != meterFactory ? MetricStreamConfiguration.Drop : null)
            .AddReader(prometheus);
        if (otlp is not null)
        {
            tracing.AddOtlpExporter(otlp.Configure("traces"));
            metrics.AddOtlpExporter(otlp.Configure("metrics"));
        }
        return new TelemetryProviders(tracing.Build(), metrics.Build(), prometheus);
    }

    public void Dispose()
    {
        Tracing.Dispose();
        Metrics.Dispose();
    }
}

/// <summary>Builds the providers when the host starts (so listeners exist before the first request) and flushes them at stop.</summary>
internal sealed class TelemetryLifetime(TelemetryProviders providers) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken)
    {
        providers.Tracing.ForceFlush(5000);
        providers.Metrics.ForceFlush(5000);
        return Task.CompletedTask;
    }
}
