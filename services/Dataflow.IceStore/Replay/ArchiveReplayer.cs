using System.Globalization;
using System.Text.Json;
using Dataflow.Google.Storage;
using Dataflow.Mqtt;
using Dataflow.Mqtt.Client;
using Dataflow.Mqtt.Protocol;

namespace Dataflow.IceStore.Replay;

/// <summary>Counts of one replay. <see cref="Complete"/> when every archived line was published.</summary>
public sealed record ReplayResult(int Objects, int Lines, int Published, int Invalid, int Failed)
{
    public bool Complete => Invalid == 0 && Failed == 0;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Objects} objects, {Lines} lines: {Published} published, {Invalid} invalid, {Failed} failed to publish");
}

/// <summary>
/// Publishes archived messages back to MQTT: every <c>.jsonl.gz</c> object under the prefix, in name order (dates
/// ascending), each line's device payload (or the archived envelope, see <see cref="ReplayOptions.UnwrapEnvelope"/>)
/// to the topic of its device. Sends of one object are pipelined and all awaited before the next object; a message
/// counts as published once the broker acknowledged it (QoS 1/2). Invalid lines, unreadable objects and refused
/// publishes are logged with object and line and counted, never dropped silently.
/// </summary>
public sealed class ArchiveReplayer(StorageClient storage, MqttClient mqtt, ReplayOptions options, ILogger logger)
{
    public const string ArchiveSuffix = ".jsonl.gz";

    public async Task<ReplayResult> RunAsync(CancellationToken cancellationToken)
    {
        int objects = 0, lines = 0, published = 0, invalid = 0, failed = 0;
        await foreach (var item in storage.ListObjectsAsync(options.Bucket, options.Prefix, cancellationToken: cancellationToken))
        {
            if (item.Name is not { } name || !name.EndsWith(ArchiveSuffix, StringComparison.Ordinal))
            {
                continue;
            }

            objects++;
            var sends = new List<(int Line, Task<MqttReasonCode> Send)>();
            try
            {
                await using var stream = await storage.OpenReadAsync(options.Bucket, name, null, cancellationToken);
                await foreach (var result in ArchiveReader.ReadAsync(stream, cancellationToken))
                {
                    lines++;
                    if (result.Message is null || Prepare(result.Message) is not { } message)
                    {
                        invalid++;
                        logger.LogWarning("Not replayed: {Object} line {Line}: {Reason}", name, result.LineNumber, result.Error ?? "no device id for the topic");
                        continue;
                    }

                    sends.Add((result.LineNumber, mqtt.PublishAsync(message, cancellationToken)));
                }
            }
            catch (InvalidDataException ex)
            {
                invalid++;
                logger.LogError(ex, "Not replayed: the rest of {Object} is unreadable", name);
            }

            foreach (var (line, send) in sends)
            {
                try
                {
                    await send;
                    published++;
                }
                catch (MqttPublishException ex)
                {
                    failed++;
                    logger.LogError(ex, "Broker refused {Object} line {Line}", name, line);
                }
            }
        }

        return new ReplayResult(objects, lines, published, invalid, failed);
    }

    private MqttApplicationMessage? Prepare(ArchivedMessage archived)
    {
        var envelope = archived.TryGetEnvelope();
        var payload = options.UnwrapEnvelope && envelope is not null ? envelope.Payload : archived.OriginalPubSubPayload;
        var topic = options.TopicTemplate;
        if (topic.Contains(ReplayOptions.DevicePlaceholder, StringComparison.Ordinal))
        {
            var device = envelope?.GetEnrichmentString("DeviceID") ?? DeviceIdOf(envelope?.Payload ?? archived.OriginalPubSubPayload);
            if (string.IsNullOrEmpty(device) || !MqttTopic.IsValidTopicName(device) || device.Contains('/', StringComparison.Ordinal))
            {
                return null;
            }

            topic = topic.Replace(ReplayOptions.DevicePlaceholder, device, StringComparison.Ordinal);
        }

        return new MqttApplicationMessage { Topic = topic, Payload = payload, QoS = (MqttQualityOfService)options.QoS };
    }

    private static string? DeviceIdOf(ReadOnlyMemory<byte> payload)
    {
        try
        {
            using var document = JsonDocument.Parse(payload);
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("device_id", out var id) && id.ValueKind == JsonValueKind.String
                ? id.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
