namespace Dataflow.Pipeline;

/// <summary>Sizing and shutdown of a pipeline (reference defaults: 5 workers; ingestion 20 and buffer 1000).</summary>
public sealed class PipelineOptions
{
    /// <summary>
    /// Concurrent workers (transform → process). In a streaming pipeline a worker does not wait for a processing that
    /// waits (a publish, a lookup): <see cref="MaxOutstandingMessages"/> bounds those.
    /// </summary>
    public int Workers { get; set; } = 5;

    /// <summary>Capacity of the bounded channel between the consumer and the workers.</summary>
    public int BufferSize { get; set; } = 1000;

    /// <summary>Flow control: most messages received and not yet settled.</summary>
    public int MaxOutstandingMessages { get; set; } = 1000;

    /// <summary>Flow control: most bytes received and not yet settled.</summary>
    public long MaxOutstandingBytes { get; set; } = 100L * 1024 * 1024;

    /// <summary>Upper bound of a graceful stop: stop the consumer, drain workers, final flush.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Validation errors, each naming the configuration key under <paramref name="section"/>.</summary>
    public IEnumerable<string> Validate(string section)
    {
        if (Workers is < 1 or > 1024)
        {
            yield return $"{section}:{nameof(Workers)} must be between 1 and 1024 (was {Workers}).";
        }

        if (BufferSize is < 1 or > 1_000_000)
        {
            yield return $"{section}:{nameof(BufferSize)} must be between 1 and 1000000 (was {BufferSize}).";
        }

        if (MaxOutstandingMessages < 1)
        {
            yield return $"{section}:{nameof(MaxOutstandingMessages)} must be at least 1 (was {MaxOutstandingMessages}).";
        }

        if (MaxOutstandingBytes < 1)
        {
            yield return $"{section}:{nameof(MaxOutstandingBytes)} must be at least 1 (was {MaxOutstandingBytes}).";
        }

        if (ShutdownTimeout <= TimeSpan.Zero)
        {
            yield return $"{section}:{nameof(ShutdownTimeout)} must be positive (was {ShutdownTimeout}).";
        }
    }
}

/// <summary>When a batch is flushed (reference defaults: 100 messages, 1 minute).</summary>
public sealed class BatchingOptions
{
    /// <summary>A key's batch is flushed when it holds this many messages.</summary>
    public int BatchSize { get; set; } = 100;

    /// <summary>A key's batch is flushed at the latest this long after its first message arrived.</summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromMinutes(1);

    public IEnumerable<string> Validate(string section)
    {
        if (BatchSize is < 1 or > 100_000)
        {
            yield return $"{section}:{nameof(BatchSize)} must be between 1 and 100000 (was {BatchSize}).";
        }

        if (FlushInterval <= TimeSpan.Zero)
        {
            yield return $"{section}:{nameof(FlushInterval)} must be positive (was {FlushInterval}).";
        }
    }
}
