using Dataflow.Pipeline;

namespace Dataflow.Ingestion;

/// <summary>Configuration of the ingestion service, bound from the <c>Ingestion</c> section.</summary>
public sealed class IngestionOptions
{
    public const string Section = "Ingestion";

    /// <summary>Path of the YAML routing file (routes and producers).</summary>
    public string RoutingFile { get; set; } = "";

    public MqttConnectionOptions Mqtt { get; set; } = new();

    /// <summary>Workers and buffer (reference defaults: 20 workers, 1000-message buffer).</summary>
    public PipelineOptions Pipeline { get; set; } = new() { Workers = 20, BufferSize = 1000, MaxOutstandingMessages = 2000 };

    /// <summary>Zero-based topic level holding the device id (1 for <c>devices/&lt;id&gt;/up</c>); null when topics carry none.</summary>
    public int? DeviceIdTopicLevel { get; set; }

    /// <summary>Adds <c>enrichmentData</c> {DeviceID, Topic, Timestamp} derived from the topic to each envelope.</summary>
    public bool EnrichFromTopic { get; set; }

    /// <summary>Longest wait between attempts to publish a message Pub/Sub did not accept (attempts continue until shutdown).</summary>
    public TimeSpan MaxPublishRetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Batching of each topic's Pub/Sub publisher.</summary>
    public IngestionPublisherOptions Publisher { get; set; } = new();
}

/// <summary><c>Ingestion:Publisher</c>: how many messages go into one Pub/Sub publish request, and how long a batch may wait to fill.</summary>
public sealed class IngestionPublisherOptions
{
    /// <summary>
    /// 1–1000 (Pub/Sub's limit per request). Defaults to the limit rather than the client libraries' 100: a batch still
    /// leaves after <see cref="DelayThreshold"/>, so latency is unchanged, and under load ten times fewer requests cost
    /// the Pub/Sub side about a third less CPU per message (docs/benchmarks.md, ingestion).
    /// </summary>
    public int MaxMessagesPerBatch { get; set; } = 1000;

    public TimeSpan DelayThreshold { get; set; } = TimeSpan.FromMilliseconds(10);
}

/// <summary>The broker connection (<c>Ingestion:Mqtt</c>).</summary>
public sealed class MqttConnectionOptions
{
    /// <summary><c>mqtt://[user[:password]@]host[:port]</c> or <c>mqtts://…</c> for TLS; when empty, <c>ConnectionStrings:mqtt</c>.</summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>The <c>ConnectionStrings</c> entry <see cref="ConnectionString"/> fell back to (named in validation errors); null when set directly.</summary>
    internal string? ConnectionName { get; set; }

    /// <summary>Client id; a persistent session needs one so unacknowledged messages survive reconnects.</summary>
    public string ClientId { get; set; } = "";

    /// <summary>"5" (default) or "3.1.1".</summary>
    public string ProtocolVersion { get; set; } = "5";

    /// <summary>How long the broker keeps the session (and unacknowledged messages) after a disconnect.</summary>
    public uint SessionExpirySeconds { get; set; } = 3600;

    public string? Username { get; set; }

    public string? Password { get; set; }

    /// <summary>Messages the client buffers before it stops reading from the socket.</summary>
    public int ReceiveBufferCapacity { get; set; } = 1000;

    /// <summary>
    /// Unacknowledged QoS 1/2 messages the broker may send at once (MQTT 5.0 Receive Maximum, 1–65535). A message is
    /// acknowledged only after Pub/Sub accepted it, so this window must hold more than one publish batch or the broker
    /// waits for every batch's round trip; when unset it is <c>Ingestion:Pipeline:MaxOutstandingMessages</c>. With MQTT
    /// 3.1.1 the broker's own limit applies (Mosquitto: <c>max_inflight_messages</c>, 20 by default).
    /// </summary>
    public int? ReceiveMaximum { get; set; }

    public MqttTlsSettings? Tls { get; set; }
}

/// <summary>TLS and mutual TLS to the broker (<c>Ingestion:Mqtt:Tls</c>); setting any of these enables TLS.</summary>
public sealed class MqttTlsSettings
{
    public string? CaCertificatePath { get; set; }

    public string? ClientCertificatePath { get; set; }

    public string? ClientKeyPath { get; set; }

    public string? TargetHost { get; set; }
}
