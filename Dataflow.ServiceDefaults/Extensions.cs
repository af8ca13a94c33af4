using Dataflow.ServiceDefaults.Health;
using Dataflow.ServiceDefaults.Resilience;
using Dataflow.ServiceDefaults.ServiceDiscovery;
using Dataflow.ServiceDefaults.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// The platform's common service wiring (platform.md §4): health endpoints, OpenTelemetry with OTLP and a
/// Prometheus scrape endpoint, the standard HTTP resilience handler, service discovery, console logging.
/// </summary>
public static class ServiceDefaultsExtensions
{
    /// <summary>Tag of the health checks that <c>/readyz</c> runs: each real dependency of a service.</summary>
    public const string ReadyTag = "ready";

    /// <summary>Tag of the health checks that <c>/healthz</c> and <c>/alive</c> run.</summary>
    public const string LiveTag = "live";

    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.ConfigureConsoleLogging();
        builder.ConfigureOpenTelemetry();
        builder.AddDefaultHealthChecks();
        builder.Services.AddServiceDiscovery();
        builder.Services.ConfigureHttpClientDefaults(http =>
        {
            http.AddStandardResilienceHandler();
            http.AddServiceDiscovery();
        });
        return builder;
    }

    public static TBuilder AddDefaultHealthChecks<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddHealthChecks().AddCheck("self", () => HealthCheckResult.Healthy(), [LiveTag]);
        return builder;
    }

    /// <summary>
    /// Maps <c>/healthz</c> and <c>/alive</c> (liveness), <c>/readyz</c> (checks tagged <see cref="ReadyTag"/>),
    /// <c>/health</c> (every check) and <c>/metrics</c> (Prometheus text format).
    /// </summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var live = new HealthCheckOptions { Predicate = r => r.Tags.Contains(LiveTag), ResponseWriter = HealthResponseWriter.WriteAsync };
        app.MapHealthChecks("/healthz", live);
        app.MapHealthChecks("/alive", live);
        app.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = r => r.Tags.Contains(ReadyTag), ResponseWriter = HealthResponseWriter.WriteAsync });
        app.MapHealthChecks("/health", new HealthCheckOptions { ResponseWriter = HealthResponseWriter.WriteAsync });
        app.MapPrometheusScrapingEndpoint();
        return app;
    }

    private static void ConfigureConsoleLogging(this IHostApplicationBuilder builder)
    {
        // The console formatter is chosen by Logging:Console:FormatterName ("simple", the default, or "json");
        // levels come from Logging:LogLevel. Both formats get UTC timestamps; "simple" keeps one line per entry.
        builder.Logging.AddConsole();
        builder.Services.Configure<SimpleConsoleFormatterOptions>(options =>
        {
            options.SingleLine = true;
            options.UseUtcTimestamp = true;
            options.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
        });
        builder.Services.Configure<JsonConsoleFormatterOptions>(options =>
        {
            options.UseUtcTimestamp = true;
            options.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
            options.IncludeScopes = true;
        });
    }

    private static RouteHandlerBuilder MapPrometheusScrapingEndpoint(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapGet("/metrics", PrometheusScrapeEndpoint.HandleAsync).ExcludeFromDescription();
}
