namespace Dataflow.Google.Core;

/// <summary>Exponential backoff with jitter for transient errors.</summary>
public sealed record RetrySettings
{
    public static RetrySettings Default { get; } = new();

    /// <summary>No retries: every failure surfaces at once.</summary>
    public static RetrySettings None { get; } = new() { MaxAttempts = 1 };

    /// <summary>Total attempts including the first one.</summary>
    public int MaxAttempts { get; init; } = 5;

    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(100);

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(10);

    public double BackoffMultiplier { get; init; } = 2.0;

    /// <summary>
    /// The delay before retry number <paramref name="retry"/> (1-based): the exponential ceiling
    /// min(initial × multiplier^(retry-1), max), with the actual delay drawn uniformly from [ceiling/2, ceiling]
    /// so that many clients failing together do not retry in lock-step.
    /// </summary>
    public TimeSpan GetDelay(int retry, double random01)
    {
        var ceiling = InitialBackoff.TotalMilliseconds * Math.Pow(BackoffMultiplier, Math.Max(0, retry - 1));
        ceiling = Math.Min(ceiling, MaxBackoff.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(ceiling * (0.5 + (0.5 * random01)));
    }

    internal void Validate(string prefix)
    {
        if (MaxAttempts < 1)
        {
            throw new ArgumentOutOfRangeException(prefix + nameof(MaxAttempts), "must be at least 1");
        }

        if (InitialBackoff < TimeSpan.Zero || MaxBackoff < InitialBackoff || BackoffMultiplier < 1)
        {
            throw new ArgumentOutOfRangeException(prefix + nameof(InitialBackoff), "backoff must be non-negative, MaxBackoff ≥ InitialBackoff, multiplier ≥ 1");
        }
    }
}
