using System.Net;

namespace Dataflow.Mqtt.Broker;

/// <summary>Settings of the embedded development broker.</summary>
public sealed class MqttBrokerOptions
{
    public IPAddress ListenAddress { get; set; } = IPAddress.Loopback;

    /// <summary>0 picks a free port; read the real one from <see cref="MqttBroker.Port"/>.</summary>
    public int Port { get; set; } = 1883;

    /// <summary>User name → password. When set and <see cref="AllowAnonymous"/> is false, every client must log in.</summary>
    public IDictionary<string, string> Users { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    public bool AllowAnonymous { get; set; } = true;

    /// <summary>QoS 1/2 messages kept per session while its client is offline or its in-flight window is full.</summary>
    public int MaximumQueuedMessagesPerSession { get; set; } = 10_000;

    /// <summary>How many unacknowledged QoS 2 messages a client may send us at once (MQTT 5.0 Receive Maximum).</summary>
    public ushort ReceiveMaximum { get; set; } = 1000;

    /// <summary>QoS 1/2 messages in flight to a MQTT 3.1.1 client, which cannot tell us its own limit.</summary>
    public int MaximumInflightToV311Clients { get; set; } = 100;

    public int MaximumPacketSize { get; set; } = 16 * 1024 * 1024;

    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(ListenAddress);
        if (Port is < 0 or > 65535)
        {
            throw new ArgumentException("Port must be 0..65535.", nameof(Port));
        }

        if (!AllowAnonymous && Users.Count == 0)
        {
            throw new ArgumentException("AllowAnonymous is false but no Users are configured.", nameof(AllowAnonymous));
        }

        if (MaximumQueuedMessagesPerSession < 1 || ReceiveMaximum == 0 || MaximumInflightToV311Clients < 1 || MaximumPacketSize < 16)
        {
            throw new ArgumentException("Queue, in-flight and packet size limits must be positive.");
        }
    }
}
