using System.Collections.Concurrent;
using System.Net;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace Dataflow.ServiceDefaults.Resilience;

/// <summary>One resilience pipeline (and so one circuit breaker and one concurrency limit) per named HttpClient.</summary>
public sealed class HttpResiliencePipelines(IOptionsMonitor<HttpStandardResilienceOptions> options) : IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<HttpResiliencePipeline>> _pipelines = new(StringComparer.Ordinal);

    public HttpResiliencePipeline Get(string clientName) =>
        _pipelines.GetOrAdd(clientName, name => new(() => HttpResiliencePipeline.Create(options.Get(name)))).Value;

    public void Dispose()
    {
        foreach (var pipeline in _pipelines.Values.Where(p => p.IsValueCreated))
        {
            pipeline.Value.Dispose();
        }
    }

    /// <summary>Transient failures: 5xx, 408, 429, connection failures and attempt timeouts.</summary>
    public static bool IsTransient(Outcome<HttpResponseMessage> outcome) => outcome switch
    {
        { Exception: HttpRequestException or TimeoutRejectedException } => true,
        { Result: { } response } => (int)response.StatusCode >= 500
            || response.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests,
        _ => false,
    };
}

public sealed class HttpResiliencePipeline : IDisposable
{
    private HttpResiliencePipeline(ConcurrencyLimiter limiter, ResiliencePipeline<HttpResponseMessage> pipeline)
    {
        Limiter = limiter;
        Pipeline = pipeline;
    }

    public ConcurrencyLimiter Limiter { get; }

    public ResiliencePipeline<HttpResponseMessage> Pipeline { get; }

    public static HttpResiliencePipeline Create(HttpStandardResilienceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var limiter = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = options.RateLimitPermits,
            QueueLimit = 0,
        });
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage>().AddTimeout(options.TotalRequestTimeout);
        if (options.MaxRetryAttempts > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = options.MaxRetryAttempts,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryBaseDelay,
                ShouldHandle = args => ValueTask.FromResult(HttpResiliencePipelines.IsTransient(args.Outcome)),
                DelayGenerator = options.HonorRetryAfter ? RetryAfterDelay : null,
            });
        }
        var pipeline = builder
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions<HttpResponseMessage>
            {
                FailureRatio = options.CircuitBreakerFailureRatio,
                MinimumThroughput = options.CircuitBreakerMinimumThroughput,
                SamplingDuration = options.CircuitBreakerSamplingDuration,
                BreakDuration = options.CircuitBreakerBreakDuration,
                ShouldHandle = args => ValueTask.FromResult(HttpResiliencePipelines.IsTransient(args.Outcome)),
            })
            .AddTimeout(options.AttemptTimeout)
            .Build();
        return new HttpResiliencePipeline(limiter, pipeline);
    }

    public void Dispose() => Limiter.Dispose();

    private static ValueTask<TimeSpan?> RetryAfterDelay(RetryDelayGeneratorArguments<HttpResponseMessage> arguments)
    {
        var retryAfter = arguments.Outcome.Result?.Headers.RetryAfter;
        TimeSpan? delay = retryAfter switch
        {
            { Delta: { } delta } => delta,
            { Date: { } date } => date - DateTimeOffset.UtcNow is var wait && wait > TimeSpan.Zero ? wait : TimeSpan.Zero,
            _ => null,
        };
        return ValueTask.FromResult(delay);
    }
}
