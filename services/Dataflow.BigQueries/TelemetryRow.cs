using System.Text.Json;
using System.Text.Json.Serialization;
using Dataflow.Google.BigQuery;
using Dataflow.Pipeline;
using Dataflow.Pipeline.Envelopes;

namespace Dataflow.BigQueries;

/// <summary>
/// The default row: a device reading <c>{"device_id","timestamp","value"}</c> from the envelope's payload, with the
/// enrichment fields and the routing attributes.
/// </summary>
public sealed record TelemetryRow
{
    [JsonPropertyName("message_id")]
    [BigQueryColumn(Mode = BigQueryMode.Required)]
    public required string MessageId { get; init; }

    [JsonPropertyName("device_id")]
    [BigQueryColumn(Mode = BigQueryMode.Required)]
    public string? DeviceId { get; init; }

    [JsonPropertyName("timestamp")]
    public DateTimeOffset? Timestamp { get; init; }

    [JsonPropertyName("value")]
    public double? Value { get; init; }

    [JsonPropertyName("publish_time")]
    public DateTimeOffset PublishTime { get; init; }

    [JsonPropertyName("mqtt_topic")]
    public string? MqttTopic { get; init; }

    [JsonPropertyName("name")]
    public string? Name { get; init; }

    [JsonPropertyName("location")]
    public string? Location { get; init; }

    [JsonPropertyName("service_tag")]
    public string? ServiceTag { get; init; }
}

/// <summary>
/// Envelope (or raw payload) → <see cref="TelemetryRow"/>. A payload that is not a JSON object is a transform error
/// (nacked); a row missing its required device id is rejected by BigQuery and dead-lettered.
/// </summary>
public sealed class TelemetryRowTransformer : IMessageTransformer<TelemetryRow>
{
    public ValueTask<TransformResult<TelemetryRow>> TransformAsync(Message message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var envelope = EnvelopeCodec.TryDecode(message.Data.Span, out var decoded) ? decoded : null;
        var payload = envelope?.Payload ?? message.Data;
        using var document = JsonDocument.Parse(payload);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException("the payload is not a JSON object");
        }

        var row = new TelemetryRow
        {
            MessageId = envelope?.Id ?? message.Id,
            DeviceId = String(root, "device_id") ?? envelope?.GetEnrichmentString("DeviceID") ?? message.Attributes.GetValueOrDefault(WellKnownAttributes.DeviceId),
            Timestamp = root.TryGetProperty("timestamp", out var ts) && ts.ValueKind == JsonValueKind.String && ts.TryGetDateTimeOffset(out var parsed) ? parsed : null,
            Value = root.TryGetProperty("value", out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null,
            PublishTime = envelope?.PublishTime.ToDateTimeOffset() ?? message.PublishTime,
            MqttTopic = message.Attributes.GetValueOrDefault(WellKnownAttributes.MqttTopic),
            Name = envelope?.GetEnrichmentString("name"),
            Location = envelope?.GetEnrichmentString("location"),
            ServiceTag = envelope?.GetEnrichmentString("serviceTag"),
        };
        return ValueTask.FromResult(TransformResult.Of(row));
    }

    private static string? String(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
