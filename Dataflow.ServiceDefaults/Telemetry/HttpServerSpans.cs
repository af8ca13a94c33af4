using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;

namespace Dataflow.ServiceDefaults.Telemetry;

/// <summary>
/// ASP.NET Core's request activity carries no attributes and is named <c>Microsoft.AspNetCore.Hosting.HttpRequestIn</c>;
/// the OpenTelemetry ASP.NET Core instrumentation that fixes this is not obtainable here. This middleware, first in the
/// pipeline, adds the HTTP semantic-convention attributes and the <c>{method} {route}</c> span name, and — as Aspire's
/// service defaults do — leaves health probes and metric scrapes unrecorded so they do not drown the traces.
/// </summary>
internal sealed class HttpServerSpanStartupFilter : IStartupFilter
{
    private static readonly string[] UnrecordedPaths = ["/healthz", "/readyz", "/alive", "/health", "/metrics"];

    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use(EnrichAsync);
        next(app);
    };

    private static async Task EnrichAsync(HttpContext context, RequestDelegate next)
    {
        var activity = context.Features.Get<IHttpActivityFeature>()?.Activity;
        if (activity is null || !activity.IsAllDataRequested)
        {
            await next(context);
            return;
        }
        var request = context.Request;
        if (UnrecordedPaths.Any(path => request.Path.Equals(path, StringComparison.OrdinalIgnoreCase)))
        {
            activity.ActivityTraceFlags &= ~ActivityTraceFlags.Recorded;
            activity.IsAllDataRequested = false;
            await next(context);
            return;
        }
        activity.DisplayName = request.Method;
        activity.SetTag("http.request.method", request.Method);
        activity.SetTag("url.scheme", request.Scheme);
        activity.SetTag("url.path", request.Path.Value);
        activity.SetTag("server.address", request.Host.Host);
        if (request.Host.Port is { } port)
        {
            activity.SetTag("server.port", port);
        }
        try
        {
            await next(context);
        }
        catch (Exception ex)
        {
            activity.SetTag("error.type", ex.GetType().FullName);
            activity.SetStatus(ActivityStatusCode.Error, ex.Message);
            throw;
        }
        finally
        {
            if ((context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText is { } route)
            {
                activity.SetTag("http.route", route);
                activity.DisplayName = $"{request.Method} {route}";
            }
        }
        var status = context.Response.StatusCode;
        activity.SetTag("http.response.status_code", status);
        if (status >= 500)
        {
            activity.SetTag("error.type", status.ToString(CultureInfo.InvariantCulture));
            activity.SetStatus(ActivityStatusCode.Error);
        }
    }
}
