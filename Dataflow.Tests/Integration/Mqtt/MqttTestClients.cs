using System.Text;
using Dataflow.Mqtt.Client;
using Dataflow.Mqtt.Protocol;

namespace Dataflow.Tests.Integration.Mqtt;

internal static class MqttTestClients
{
    public static string NewTopicPrefix() => "test/" + Guid.NewGuid().ToString("N")[..12];

    public static MqttClient Create(string connectionString, MqttProtocolVersion version, Action<MqttClientOptions>? configure = null)
    {
        var options = MqttClientOptions.Parse(connectionString);
        options.ProtocolVersion = version;
        options.ClientId = "t-" + Guid.NewGuid().ToString("N")[..16];
        options.ReconnectMinimumDelay = TimeSpan.FromMilliseconds(100);
        options.ReconnectMaximumDelay = TimeSpan.FromSeconds(1);
        configure?.Invoke(options);
        return new MqttClient(options);
    }

    /// <summary>A token for one test step: the test's own token, bounded so a lost message fails instead of hanging.</summary>
    public static CancellationTokenSource Deadline(int seconds = 30)
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(TimeSpan.FromSeconds(seconds));
        return cts;
    }

    public static async Task<List<MqttReceivedMessage>> ReceiveAsync(MqttClient client, int count, CancellationToken cancellationToken, bool ack = true)
    {
        var messages = new List<MqttReceivedMessage>(count);
        while (messages.Count < count)
        {
            var message = await client.Messages.ReadAsync(cancellationToken);
            if (ack)
            {
                await message.AckAsync(cancellationToken);
            }

            messages.Add(message);
        }

        return messages;
    }

    public static MqttApplicationMessage Message(string topic, string payload, MqttQualityOfService qos, bool retain = false, MqttProperties? properties = null) => new()
    {
        Topic = topic,
        Payload = Encoding.UTF8.GetBytes(payload),
        QoS = qos,
        Retain = retain,
        Properties = properties,
    };

    public static string Text(this MqttReceivedMessage message) => Encoding.UTF8.GetString(message.Payload.Span);
}
