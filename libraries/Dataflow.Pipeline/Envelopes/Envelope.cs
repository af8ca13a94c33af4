using System.Text.Json;

namespace Dataflow.Pipeline.Envelopes;

/// <summary>
/// The JSON envelope carried as Pub/Sub data between the services (spec §0):
/// <c>{"id","payload"(base64),"publishTime"(RFC 3339 ns),"enrichmentData"?}</c>.
/// </summary>
public sealed record Envelope(
    string Id,
    ReadOnlyMemory<byte> Payload,
    RfcTimestamp PublishTime,
    IReadOnlyDictionary<string, JsonElement>? EnrichmentData = null)
{
    /// <summary>Reads a string value of <see cref="EnrichmentData"/>, or null when absent or not a string.</summary>
    public string? GetEnrichmentString(string name) =>
        EnrichmentData is not null && EnrichmentData.TryGetValue(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;

    /// <summary>Creates a JSON string value for <see cref="EnrichmentData"/>.</summary>
    public static JsonElement StringValue(string value) => JsonSerializer.SerializeToElement(value, EnvelopeJsonContext.Default.String);
}
