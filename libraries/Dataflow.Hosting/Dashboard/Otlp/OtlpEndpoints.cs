using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Serialization;
using Dataflow.Hosting.Dashboard.Otlp.Proto;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Dataflow.Hosting.Dashboard.Otlp;

/// <summary>OTLP/HTTP receiver (binary protobuf, optionally gzip) plus the dashboard's telemetry queries.</summary>
internal static class OtlpEndpoints
{
    private const string Protobuf = "application/x-protobuf";
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };

    public static void Map(WebApplication app, TelemetryStore store)
    {
        app.MapPost("/v1/traces", (HttpContext context) => ReceiveAsync(context, ExportTraceServiceRequest.Parser, store.Add, new ExportTraceServiceResponse()));
        app.MapPost("/v1/logs", (HttpContext context) => ReceiveAsync(context, ExportLogsServiceRequest.Parser, store.Add, new ExportLogsServiceResponse()));
        app.MapPost("/v1/metrics", (HttpContext context) => ReceiveAsync(context, ExportMetricsServiceRequest.Parser, store.Add, new ExportMetricsServiceResponse()));

        app.MapGet("/api/traces", (string? service, string? q) => Results.Json(store.GetTraces(Blank(service), Blank(q)), Json));
        app.MapGet("/api/traces/{traceId}", (string traceId) => Results.Json(store.GetTrace(traceId), Json));
        app.MapGet("/api/logs", (string? service, string? q, int? minSeverity) => Results.Json(store.GetLogs(Blank(service), Blank(q), minSeverity ?? 0), Json));
        app.MapGet("/api/metrics", () => Results.Json(store.GetMetrics(), Json));
        app.MapGet("/api/metrics/series", (string service, string name) => Results.Json(store.GetSeries(service, name), Json));
    }

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    private static async Task ReceiveAsync<TRequest>(HttpContext context, MessageParser<TRequest> parser, Action<TRequest> add, IMessage response)
        where TRequest : IMessage<TRequest>
    {
        if (!string.Equals(context.Request.ContentType?.Split(';')[0].Trim(), Protobuf, StringComparison.OrdinalIgnoreCase))
        {
            context.Response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            await context.Response.WriteAsync("This receiver accepts OTLP/HTTP binary protobuf (application/x-protobuf) only.", context.RequestAborted);
            return;
        }
        using var body = new MemoryStream();
        var source = string.Equals(context.Request.Headers.ContentEncoding, "gzip", StringComparison.OrdinalIgnoreCase)
            ? new GZipStream(context.Request.Body, CompressionMode.Decompress)
            : context.Request.Body;
        await using (source)
        {
            await source.CopyToAsync(body, context.RequestAborted);
        }
        TRequest request;
        try
        {
            request = parser.ParseFrom(body.GetBuffer().AsSpan(0, (int)body.Length));
        }
        catch (InvalidProtocolBufferException ex)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsync($"Malformed OTLP payload: {ex.Message}", context.RequestAborted);
            return;
        }
        add(request);
        context.Response.ContentType = Protobuf;
        await context.Response.Body.WriteAsync(response.ToByteArray(), context.RequestAborted);
    }
}
