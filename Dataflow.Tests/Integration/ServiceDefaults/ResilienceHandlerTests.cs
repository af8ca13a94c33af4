using System.Diagnostics;
using System.Net;
using Dataflow.ServiceDefaults.Resilience;
using Dataflow.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace Dataflow.Tests.Integration.ServiceDefaults;

/// <summary>Each behaviour of the standard resilience handler against a misbehaving local HTTP server.</summary>
[Trait("Category", "Integration")]
public sealed class ResilienceHandlerTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void Defaults_are_the_standard_handlers()
    {
        var options = new HttpStandardResilienceOptions();

        Assert.Equal(1000, options.RateLimitPermits);
        Assert.Equal(TimeSpan.FromSeconds(30), options.TotalRequestTimeout);
        Assert.Equal(3, options.MaxRetryAttempts);
        Assert.Equal(TimeSpan.FromSeconds(2), options.RetryBaseDelay);
        Assert.True(options.HonorRetryAfter);
        Assert.Equal(0.1, options.CircuitBreakerFailureRatio);
        Assert.Equal(100, options.CircuitBreakerMinimumThroughput);
        Assert.Equal(TimeSpan.FromSeconds(30), options.CircuitBreakerSamplingDuration);
        Assert.Equal(TimeSpan.FromSeconds(5), options.CircuitBreakerBreakDuration);
        Assert.Equal(TimeSpan.FromSeconds(10), options.AttemptTimeout);
    }

    [Fact]
    public async Task Transient_503_is_retried_until_it_succeeds()
    {
        await using var server = await TestHttpServer.StartAsync(
            FailFirst(2, HttpStatusCode.ServiceUnavailable), Ct);
        using var client = CreateClient(server, o => o.RetryBaseDelay = TimeSpan.FromMilliseconds(10));

        using var response = await client.GetAsync("/", Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(3, server.RequestCount);
    }

    [Fact]
    public async Task Retries_stop_after_three_and_the_last_response_is_returned()
    {
        await using var server = await TestHttpServer.StartAsync(context => Status(context, HttpStatusCode.BadGateway), Ct);
        using var client = CreateClient(server, o => o.RetryBaseDelay = TimeSpan.FromMilliseconds(10));

        using var response = await client.GetAsync("/", Ct);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal(4, server.RequestCount);
    }

    [Theory]
    [InlineData(HttpStatusCode.BadRequest)]
    [InlineData(HttpStatusCode.NotFound)]
    [InlineData(HttpStatusCode.Conflict)]
    public async Task Client_errors_are_not_retried(HttpStatusCode status)
    {
        await using var server = await TestHttpServer.StartAsync(context => Status(context, status), Ct);
        using var client = CreateClient(server, o => o.RetryBaseDelay = TimeSpan.FromMilliseconds(10));

        using var response = await client.GetAsync("/", Ct);

        Assert.Equal(status, response.StatusCode);
        Assert.Equal(1, server.RequestCount);
    }

    [Theory]
    [InlineData(HttpStatusCode.RequestTimeout)]
    [InlineData(HttpStatusCode.TooManyRequests)]
    [InlineData(HttpStatusCode.InternalServerError)]
    public async Task Request_timeout_too_many_requests_and_5xx_are_transient(HttpStatusCode status)
    {
        await using var server = await TestHttpServer.StartAsync(FailFirst(1, status), Ct);
        using var client = CreateClient(server, o => o.RetryBaseDelay = TimeSpan.FromMilliseconds(10));

        using var response = await client.GetAsync("/", Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, server.RequestCount);
    }

    [Fact]
    public async Task Retry_After_is_honoured_instead_of_the_computed_backoff()
    {
        var attempts = new List<TimeSpan>();
        var clock = Stopwatch.StartNew();
        await using var server = await TestHttpServer.StartAsync(context =>
        {
            lock (attempts)
            {
                attempts.Add(clock.Elapsed);
            }
            if (attempts.Count == 1)
            {
                context.Response.Headers.RetryAfter = "1";
                return Status(context, HttpStatusCode.TooManyRequests);
            }
            return Status(context, HttpStatusCode.OK);
        }, Ct);
        using var client = CreateClient(server, o => o.RetryBaseDelay = TimeSpan.FromMilliseconds(1));

        using var response = await client.GetAsync("/", Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(attempts[1] - attempts[0] >= TimeSpan.FromMilliseconds(950),
            $"the retry came {(attempts[1] - attempts[0]).TotalMilliseconds} ms after a 'Retry-After: 1'");
    }

    [Fact]
    public async Task A_slow_attempt_times_out_and_is_retried()
    {
        var calls = 0;
        await using var server = await TestHttpServer.StartAsync(async context =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                await Task.Delay(TimeSpan.FromSeconds(30), context.RequestAborted);
            }
            await Status(context, HttpStatusCode.OK);
        }, Ct);
        using var client = CreateClient(server, o =>
        {
            o.AttemptTimeout = TimeSpan.FromMilliseconds(300);
            o.RetryBaseDelay = TimeSpan.FromMilliseconds(10);
        });

        using var response = await client.GetAsync("/", Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, server.RequestCount);
    }

    [Fact]
    public async Task The_total_timeout_bounds_all_attempts_together()
    {
        await using var server = await TestHttpServer.StartAsync(async context =>
        {
            if (context.Request.Path != "/warm-up")
            {
                await Task.Delay(TimeSpan.FromSeconds(30), context.RequestAborted);
            }
        }, Ct);
        using var client = CreateClient(server, o =>
        {
            o.AttemptTimeout = TimeSpan.FromSeconds(1);
            o.TotalRequestTimeout = TimeSpan.FromMilliseconds(2500);
            o.RetryBaseDelay = TimeSpan.FromMilliseconds(10);
            o.MaxRetryAttempts = 10;
        });
        // A connected client and a warm server, so the budget below goes to attempts rather than start-up.
        using (var warm = await client.GetAsync("/warm-up", Ct))
        {
            Assert.Equal(HttpStatusCode.OK, warm.StatusCode);
        }

        await Assert.ThrowsAsync<TimeoutRejectedException>(() => client.GetAsync("/", Ct));
        // Two or three attempts fit in the total; without it all eleven would run. A loaded machine may still lose
        // part of the budget, so one attempt is accepted too.
        Assert.InRange(server.RequestCount - 1, 1, 3);
    }

    [Fact]
    public async Task The_circuit_opens_when_failures_pass_the_ratio_and_then_fails_fast()
    {
        await using var server = await TestHttpServer.StartAsync(context => Status(context, HttpStatusCode.InternalServerError), Ct);
        using var client = CreateClient(server, o =>
        {
            o.MaxRetryAttempts = 0;
            o.CircuitBreakerMinimumThroughput = 10;
            o.CircuitBreakerBreakDuration = TimeSpan.FromSeconds(30);
        });
        for (var i = 0; i < 10; i++)
        {
            using var failed = await client.GetAsync("/", Ct);
            Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
        }

        await Assert.ThrowsAsync<BrokenCircuitException>(() => client.GetAsync("/", Ct));
        Assert.Equal(10, server.RequestCount);
    }

    [Fact]
    public async Task Requests_beyond_the_concurrency_limit_are_rejected_at_once()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await TestHttpServer.StartAsync(async context =>
        {
            await release.Task.WaitAsync(context.RequestAborted);
            await Status(context, HttpStatusCode.OK);
        }, Ct);
        using var client = CreateClient(server, o => o.RateLimitPermits = 2);
        var first = client.GetAsync("/", Ct);
        var second = client.GetAsync("/", Ct);
        while (server.RequestCount < 2)
        {
            await Task.Delay(10, Ct);
        }

        await Assert.ThrowsAsync<HttpRateLimiterRejectedException>(() => client.GetAsync("/", Ct));

        release.SetResult();
        Assert.Equal(HttpStatusCode.OK, (await first).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await second).StatusCode);
        Assert.Equal(2, server.RequestCount);
    }

    private static HttpClient CreateClient(TestHttpServer server, Action<HttpStandardResilienceOptions> configure)
    {
        var services = new ServiceCollection();
        services.AddHttpClient("test", client => client.BaseAddress = server.BaseUri).AddStandardResilienceHandler(configure);
        var provider = services.BuildServiceProvider();
        return provider.GetRequiredService<IHttpClientFactory>().CreateClient("test");
    }

    /// <summary>Answers <paramref name="status"/> to the first <paramref name="failures"/> requests, then 200.</summary>
    private static RequestDelegate FailFirst(int failures, HttpStatusCode status)
    {
        var calls = 0;
        return context => Status(context, Interlocked.Increment(ref calls) <= failures ? status : HttpStatusCode.OK);
    }

    private static Task Status(HttpContext context, HttpStatusCode status)
    {
        context.Response.StatusCode = (int)status;
        return Task.CompletedTask;
    }
}
