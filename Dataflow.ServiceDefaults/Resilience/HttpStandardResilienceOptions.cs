namespace Dataflow.ServiceDefaults.Resilience;

/// <summary>
/// Settings of the standard HTTP resilience handler. The defaults are those of .NET's standard resilience
/// handler (platform.md §4). Configure per client name with <c>services.Configure&lt;HttpStandardResilienceOptions&gt;(name, …)</c>.
/// </summary>
public sealed class HttpStandardResilienceOptions
{
    /// <summary>Concurrent requests allowed through one client before further ones are rejected at once.</summary>
    public int RateLimitPermits { get; set; } = 1000;

    /// <summary>Bound on the whole operation, retries included.</summary>
    public TimeSpan TotalRequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    public int MaxRetryAttempts { get; set; } = 3;

    /// <summary>Base of the exponential back-off (with jitter) between attempts.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Wait as long as a 429/503's <c>Retry-After</c> says instead of the computed back-off.</summary>
    public bool HonorRetryAfter { get; set; } = true;

    public double CircuitBreakerFailureRatio { get; set; } = 0.1;

    public int CircuitBreakerMinimumThroughput { get; set; } = 100;

    public TimeSpan CircuitBreakerSamplingDuration { get; set; } = TimeSpan.FromSeconds(30);

    public TimeSpan CircuitBreakerBreakDuration { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Bound on each single attempt.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);
}
