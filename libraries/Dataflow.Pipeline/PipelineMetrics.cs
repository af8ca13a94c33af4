using System.Diagnostics.Metrics;

namespace Dataflow.Pipeline;

/// <summary>
/// Per-stage instruments of one pipeline, on the Meter "Dataflow.Pipeline", tagged <c>pipeline=&lt;name&gt;</c>.
/// </summary>
public sealed class PipelineMetrics
{
    public const string MeterName = "Dataflow.Pipeline";

    private readonly KeyValuePair<string, object?> _pipelineTag;
    private readonly Counter<long> _received;
    private readonly Counter<long> _acked;
    private readonly Counter<long> _nacked;
    private readonly Counter<long> _skipped;
    private readonly Counter<long> _deadLettered;
    private readonly UpDownCounter<long> _inFlight;
    private readonly Histogram<int> _batchSize;
    private readonly Histogram<double> _processingDuration;
    private readonly Histogram<double> _flushDuration;

    public PipelineMetrics(string pipelineName, IMeterFactory? meterFactory = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(pipelineName);
        PipelineName = pipelineName;
        _pipelineTag = new("pipeline", pipelineName);
        var meter = meterFactory?.Create(MeterName) ?? SharedMeter;
        _received = meter.CreateCounter<long>("dataflow.pipeline.messages.received", "{message}", "Messages taken from the consumer.");
        _acked = meter.CreateCounter<long>("dataflow.pipeline.messages.acked", "{message}", "Messages acknowledged to their source.");
        _nacked = meter.CreateCounter<long>("dataflow.pipeline.messages.nacked", "{message}", "Messages negatively acknowledged (to be redelivered).");
        _skipped = meter.CreateCounter<long>("dataflow.pipeline.messages.skipped", "{message}", "Messages the transform chose to skip (acked).");
        _deadLettered = meter.CreateCounter<long>("dataflow.pipeline.messages.dead_lettered", "{message}", "Messages sent to a dead-letter destination (acked).");
        _inFlight = meter.CreateUpDownCounter<long>("dataflow.pipeline.messages.in_flight", "{message}", "Messages received and not yet settled.");
        _batchSize = meter.CreateHistogram<int>("dataflow.pipeline.batch.size", "{message}", "Messages per flushed batch.");
        _processingDuration = meter.CreateHistogram<double>("dataflow.pipeline.processing.duration", "s", "Time from dequeue to transform and process (or hand to a batch).");
        _flushDuration = meter.CreateHistogram<double>("dataflow.pipeline.batch.flush.duration", "s", "Time to write one batch to its sink.");
    }

    public string PipelineName { get; }

    private static Meter SharedMeter { get; } = new(MeterName);

    internal void Received() { _received.Add(1, _pipelineTag); _inFlight.Add(1, _pipelineTag); }

    internal void Settled(MessageOutcome outcome)
    {
        _inFlight.Add(-1, _pipelineTag);
        (outcome == MessageOutcome.Acked ? _acked : _nacked).Add(1, _pipelineTag);
    }

    internal void Skipped() => _skipped.Add(1, _pipelineTag);

    internal void DeadLettered() => _deadLettered.Add(1, _pipelineTag);

    internal void BatchFlushed(int size, TimeSpan duration)
    {
        _batchSize.Record(size, _pipelineTag);
        _flushDuration.Record(duration.TotalSeconds, _pipelineTag);
    }

    internal void Processed(TimeSpan duration) => _processingDuration.Record(duration.TotalSeconds, _pipelineTag);
}
