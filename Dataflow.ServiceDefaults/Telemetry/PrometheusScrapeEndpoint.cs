using Microsoft.AspNetCore.Http;

namespace Dataflow.ServiceDefaults.Telemetry;

internal static class PrometheusScrapeEndpoint
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    public static async Task<IResult> HandleAsync(PrometheusMetricReader reader, CancellationToken cancellationToken) =>
        TypedResults.Text(await reader.ScrapeAsync(cancellationToken), ContentType);
}
