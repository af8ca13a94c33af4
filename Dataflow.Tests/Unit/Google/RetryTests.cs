using System.Net;
using System.Text.Json.Serialization;
using Dataflow.Google.Core;

namespace Dataflow.Tests.Unit.Google;

[Trait("Category", "Unit")]
public sealed class RetryTests
{
    private static readonly RetrySettings Fast = new() { MaxAttempts = 4, InitialBackoff = TimeSpan.FromMilliseconds(1), MaxBackoff = TimeSpan.FromMilliseconds(5) };

    private static GoogleRestTransport Transport(FakeHttpHandler handler, RetrySettings? retry = null, IGoogleAccessTokenSource? tokens = null) =>
        new(new HttpClient(handler), new GoogleEndpoint(new Uri("http://fake.test/"), IsEmulator: true), tokens ?? AnonymousTokenSource.Instance, retry ?? Fast);

    [Theory]
    [InlineData(HttpStatusCode.TooManyRequests)]
    [InlineData(HttpStatusCode.InternalServerError)]
    [InlineData(HttpStatusCode.BadGateway)]
    [InlineData(HttpStatusCode.ServiceUnavailable)]
    [InlineData(HttpStatusCode.GatewayTimeout)]
    public async Task Transient_status_is_retried_until_success(HttpStatusCode status)
    {
        var handler = new FakeHttpHandler((_, attempt) => attempt < 3
            ? FakeHttpHandler.Json(status, """{"error":{"code":1,"message":"busy"}}""")
            : FakeHttpHandler.Json(HttpStatusCode.OK, """{"value":"done"}"""));

        var result = await Transport(handler).SendJsonAsync(HttpMethod.Get, "v1/thing", TestJson.Default.Reply, TestContext.Current.CancellationToken);

        Assert.Equal("done", result.Value);
        Assert.Equal(3, handler.Count);
    }

    [Fact]
    public async Task Unavailable_status_in_the_body_is_retried_even_with_a_non_transient_http_code()
    {
        var handler = new FakeHttpHandler((_, attempt) => attempt == 1
            ? FakeHttpHandler.Json(HttpStatusCode.BadRequest, """{"error":{"code":14,"message":"try again","status":"UNAVAILABLE"}}""")
            : FakeHttpHandler.Json(HttpStatusCode.OK, """{"value":"ok"}"""));

        var result = await Transport(handler).SendJsonAsync(HttpMethod.Get, "v1/thing", TestJson.Default.Reply, TestContext.Current.CancellationToken);

        Assert.Equal("ok", result.Value);
        Assert.Equal(2, handler.Count);
    }

    [Fact]
    public async Task Permanent_error_is_not_retried_and_surfaces_the_google_error()
    {
        var handler = new FakeHttpHandler((_, _) =>
            FakeHttpHandler.Json(HttpStatusCode.Conflict, """{"error":{"code":409,"message":"Topic already exists","status":"ALREADY_EXISTS"}}"""));

        var error = await Assert.ThrowsAsync<GoogleApiException>(() =>
            Transport(handler).SendJsonAsync(HttpMethod.Put, "v1/projects/p/topics/t", TestJson.Default.Reply, TestContext.Current.CancellationToken));

        Assert.Equal(1, handler.Count);
        Assert.Equal("ALREADY_EXISTS", error.Status);
        Assert.Equal(HttpStatusCode.Conflict, error.HttpStatus);
        Assert.Equal("Topic already exists", error.ErrorMessage);
    }

    [Fact]
    public async Task Transient_error_surfaces_after_the_last_attempt()
    {
        var handler = new FakeHttpHandler((_, _) => FakeHttpHandler.Json(HttpStatusCode.ServiceUnavailable, """{"error":{"code":503,"message":"down","status":"UNAVAILABLE"}}"""));

        var error = await Assert.ThrowsAsync<GoogleApiException>(() =>
            Transport(handler).SendJsonAsync(HttpMethod.Get, "v1/x", TestJson.Default.Reply, TestContext.Current.CancellationToken));

        Assert.Equal(Fast.MaxAttempts, handler.Count);
        Assert.Equal("UNAVAILABLE", error.Status);
    }

    [Fact]
    public async Task Connection_failure_is_retried()
    {
        var handler = new FakeHttpHandler((_, attempt) => attempt == 1
            ? throw new HttpRequestException("connection refused")
            : FakeHttpHandler.Json(HttpStatusCode.OK, """{"value":"ok"}"""));

        var result = await Transport(handler).SendJsonAsync(HttpMethod.Get, "v1/x", TestJson.Default.Reply, TestContext.Current.CancellationToken);

        Assert.Equal("ok", result.Value);
        Assert.Equal(2, handler.Count);
    }

    [Fact]
    public async Task Cancellation_during_backoff_stops_retrying()
    {
        using var cts = new CancellationTokenSource();
        var handler = new FakeHttpHandler((_, _) =>
        {
            cts.Cancel();
            return FakeHttpHandler.Json(HttpStatusCode.ServiceUnavailable, "{}");
        });
        var slow = new RetrySettings { MaxAttempts = 5, InitialBackoff = TimeSpan.FromMinutes(1), MaxBackoff = TimeSpan.FromMinutes(1) };

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Transport(handler, slow).SendJsonAsync(HttpMethod.Get, "v1/x", TestJson.Default.Reply, cts.Token));

        Assert.Equal(1, handler.Count);
    }

    [Fact]
    public void Backoff_grows_exponentially_within_jitter_bounds_and_is_capped()
    {
        var settings = new RetrySettings { InitialBackoff = TimeSpan.FromMilliseconds(100), MaxBackoff = TimeSpan.FromSeconds(1), BackoffMultiplier = 2 };

        Assert.Equal(TimeSpan.FromMilliseconds(50), settings.GetDelay(1, 0));
        Assert.Equal(TimeSpan.FromMilliseconds(100), settings.GetDelay(1, 1));
        Assert.Equal(TimeSpan.FromMilliseconds(200), settings.GetDelay(2, 1));
        Assert.Equal(TimeSpan.FromMilliseconds(100), settings.GetDelay(2, 0));
        Assert.Equal(TimeSpan.FromMilliseconds(400), settings.GetDelay(3, 1));
        Assert.Equal(TimeSpan.FromSeconds(1), settings.GetDelay(10, 1));
        Assert.Equal(TimeSpan.FromMilliseconds(500), settings.GetDelay(10, 0));
    }

    [Fact]
    public async Task Bearer_token_is_sent_when_the_token_source_has_one()
    {
        var handler = new FakeHttpHandler((_, _) => FakeHttpHandler.Json(HttpStatusCode.OK, "{}"));

        await Transport(handler, tokens: new StaticTokenSource("owner")).SendAsync(HttpMethod.Delete, "v1/x", TestContext.Current.CancellationToken);
        await Transport(handler).SendAsync(HttpMethod.Delete, "v1/x", TestContext.Current.CancellationToken);

        var requests = handler.Requests.ToArray();
        Assert.Equal("Bearer owner", requests[0].Authorization);
        Assert.Null(requests[1].Authorization);
    }
}

internal sealed record Reply(string? Value);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(Reply))]
internal sealed partial class TestJson : JsonSerializerContext;
