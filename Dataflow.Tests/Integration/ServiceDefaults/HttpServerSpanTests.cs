using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Dataflow.Tests.Integration.ServiceDefaults;

/// <summary>The server span of each request is named and described as the OpenTelemetry HTTP conventions say; probes are not recorded.</summary>
[Trait("Category", "Integration")]
public sealed class HttpServerSpanTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_request_span_is_named_by_method_and_route_and_carries_the_http_attributes_while_probes_stay_unrecorded()
    {
        // Requests are told apart from other tests' by the trace id each one is sent with.
        var stopped = new ConcurrentDictionary<ActivityTraceId, Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Microsoft.AspNetCore",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.PropagationData,
            ActivityStopped = activity => stopped[activity.TraceId] = activity,
        };
        ActivitySource.AddActivityListener(listener);
        await using var app = await ServiceDefaultsApp.StartAsync(map: web =>
        {
            web.MapGet("/items/{id}", (int id) => TypedResults.Ok(id));
            web.MapGet("/broken", IResult () => throw new InvalidOperationException("broken on purpose"));
        });

        var item = await SendAsync(app, "/items/42");
        var broken = await SendAsync(app, "/broken");
        var probe = await SendAsync(app, "/readyz");

        var itemSpan = await SpanAsync(stopped, item);
        Assert.Equal("GET /items/{id}", itemSpan.DisplayName);
        Assert.Equal(ActivityKind.Server, itemSpan.Kind);
        Assert.True(itemSpan.Recorded);
        Assert.Equal("GET", itemSpan.GetTagItem("http.request.method"));
        Assert.Equal("/items/{id}", itemSpan.GetTagItem("http.route"));
        Assert.Equal("/items/42", itemSpan.GetTagItem("url.path"));
        Assert.Equal("http", itemSpan.GetTagItem("url.scheme"));
        Assert.Equal(app.BaseUri.Port, itemSpan.GetTagItem("server.port"));
        Assert.Equal(200, itemSpan.GetTagItem("http.response.status_code"));
        Assert.Equal(ActivityStatusCode.Unset, itemSpan.Status);

        var brokenSpan = await SpanAsync(stopped, broken);
        Assert.Equal("GET /broken", brokenSpan.DisplayName);
        Assert.Equal(ActivityStatusCode.Error, brokenSpan.Status);
        Assert.Equal(typeof(InvalidOperationException).FullName, brokenSpan.GetTagItem("error.type"));

        var probeSpan = await SpanAsync(stopped, probe);
        Assert.False(probeSpan.Recorded);
        Assert.Null(probeSpan.GetTagItem("http.route"));
    }

    private static async Task<ActivityTraceId> SendAsync(ServiceDefaultsApp app, string path)
    {
        var traceId = ActivityTraceId.CreateRandom();
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add("traceparent", $"00-{traceId.ToHexString()}-{ActivitySpanId.CreateRandom().ToHexString()}-01");
        using var response = await app.Client.SendAsync(request, Ct);
        return traceId;
    }

    private static async Task<Activity> SpanAsync(ConcurrentDictionary<ActivityTraceId, Activity> stopped, ActivityTraceId traceId)
    {
        // The activity stops just after the response is sent.
        for (var attempt = 0; attempt < 100; attempt++)
        {
            if (stopped.TryGetValue(traceId, out var activity))
            {
                return activity;
            }
            await Task.Delay(50, Ct);
        }
        throw new TimeoutException($"No server span with trace id {traceId} was stopped.");
    }
}
