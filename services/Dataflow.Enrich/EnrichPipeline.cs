using Dataflow.Enrich.Lookup;
using Dataflow.Pipeline;
using Dataflow.Pipeline.Envelopes;

namespace Dataflow.Enrich;

/// <summary>An envelope to enrich and the key to look up (null when the message carries none).</summary>
internal sealed record EnrichInput(Envelope Envelope, string? Key);

/// <summary>
/// Unwraps the upstream envelope — only a real one; any other data becomes the payload of a new envelope — and
/// extracts the key: the configured attribute, else enrichmentData.DeviceID, else attribute uid, else device_id.
/// </summary>
internal sealed class EnrichTransformer(string? keyAttribute) : IMessageTransformer<EnrichInput>
{
    public ValueTask<TransformResult<EnrichInput>> TransformAsync(Message message, CancellationToken cancellationToken)
    {
        var envelope = EnvelopeCodec.TryDecode(message.Data.Span, out var decoded)
            ? decoded
            : new Envelope(message.Id, message.Data, RfcTimestamp.FromDateTimeOffset(message.PublishTime.ToUniversalTime()));
        var key = keyAttribute is not null
            ? message.Attributes.GetValueOrDefault(keyAttribute)
            : envelope.GetEnrichmentString("DeviceID")
              ?? message.Attributes.GetValueOrDefault("uid")
              ?? message.Attributes.GetValueOrDefault(WellKnownAttributes.DeviceId);
        return ValueTask.FromResult(TransformResult.Of(new EnrichInput(envelope, string.IsNullOrEmpty(key) ? null : key)));
    }
}

/// <summary>
/// Looks the key up and publishes the envelope with the mapped fields added to enrichmentData (payload unchanged,
/// one envelope level). No key or no document: published unenriched, or dead-lettered when configured. A store
/// outage throws, so the message is nacked and redelivered.
/// </summary>
internal sealed class EnrichProcessor(
    DeviceLookup lookup,
    IMessageProducer output,
    IDeadLetterSink? deadLetters,
    EnrichOptions options) : IMessageProcessor<EnrichInput>
{
    private readonly IReadOnlyDictionary<string, string> _mapping = options.EffectiveFieldMapping;

    public async ValueTask<ProcessOutcome> ProcessAsync(Message message, EnrichInput value, CancellationToken cancellationToken)
    {
        var envelope = value.Envelope;
        if (value.Key is { } key)
        {
            var entry = await lookup.GetAsync(key, cancellationToken);
            if (entry.Fields is { } fields)
            {
                envelope = Apply(envelope, key, fields);
            }
            else if (options.NotFound == NotFoundAction.DeadLetter && deadLetters is not null)
            {
                await deadLetters.DeadLetterAsync(message, $"no document '{key}' in {options.FirestoreCollection}", cancellationToken);
                return ProcessOutcome.DeadLettered;
            }
        }

        var attributes = WellKnownAttributes.Propagate(message.Attributes);
        if (value.Key is not null && !attributes.ContainsKey(WellKnownAttributes.DeviceId))
        {
            attributes[WellKnownAttributes.DeviceId] = value.Key;
        }

        await output.PublishAsync(new OutgoingMessage(EnvelopeCodec.Encode(envelope), attributes), cancellationToken);
        return ProcessOutcome.Done;
    }

    private Envelope Apply(Envelope envelope, string key, IReadOnlyDictionary<string, string> fields)
    {
        var enrichment = envelope.EnrichmentData is null
            ? new Dictionary<string, System.Text.Json.JsonElement>(StringComparer.Ordinal)
            : new Dictionary<string, System.Text.Json.JsonElement>(envelope.EnrichmentData, StringComparer.Ordinal);
        enrichment.TryAdd("DeviceID", Envelope.StringValue(key));
        foreach (var (target, source) in _mapping)
        {
            if (fields.TryGetValue(source, out var fieldValue))
            {
                enrichment[target] = Envelope.StringValue(fieldValue);
            }
        }

        return envelope with { EnrichmentData = enrichment };
    }
}
