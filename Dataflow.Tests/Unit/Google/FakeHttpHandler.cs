using System.Collections.Concurrent;
using System.Net;
using System.Text;

namespace Dataflow.Tests.Unit.Google;

/// <summary>An in-memory HTTP endpoint: records every request and answers through a callback.</summary>
internal sealed class FakeHttpHandler(Func<FakeHttpHandler.RecordedRequest, int, HttpResponseMessage> respond) : HttpMessageHandler
{
    private int _count;

    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();

    public int Count => Volatile.Read(ref _count);

    public sealed record RecordedRequest(HttpMethod Method, Uri Uri, string Body, string? Authorization, IReadOnlyDictionary<string, string> Headers);

    public static HttpResponseMessage Json(HttpStatusCode status, string json) =>
        new(status) { Content = new StringContent(json, Encoding.UTF8, "application/json") };

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? "" : await request.Content.ReadAsStringAsync(cancellationToken);
        var headers = request.Headers.Concat(request.Content?.Headers ?? Enumerable.Empty<KeyValuePair<string, IEnumerable<string>>>())
            .ToDictionary(h => h.Key, h => string.Join(",", h.Value), StringComparer.OrdinalIgnoreCase);
        var recorded = new RecordedRequest(request.Method, request.RequestUri!, body, request.Headers.Authorization?.ToString(), headers);
        Requests.Enqueue(recorded);
        var attempt = Interlocked.Increment(ref _count);
        var response = respond(recorded, attempt);
        response.RequestMessage = request;
        return response;
    }
}
