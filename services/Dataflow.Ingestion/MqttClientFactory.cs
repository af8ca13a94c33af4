using Dataflow.Mqtt.Client;
using Dataflow.Mqtt.Protocol;

namespace Dataflow.Ingestion;

/// <summary>Turns <see cref="MqttConnectionOptions"/> into client options; errors name the configuration key.</summary>
internal static class MqttClientFactory
{
    private const string Key = IngestionOptions.Section + ":Mqtt";

    public static MqttClientOptions CreateOptions(IngestionOptions ingestion)
    {
        var settings = ingestion.Mqtt;
        if (string.IsNullOrWhiteSpace(settings.ConnectionString))
        {
            throw new ArgumentException($"{Key}:ConnectionString (or ConnectionStrings:{settings.ConnectionName ?? "mqtt"}) is required (mqtt://host:port or mqtts://host:port).");
        }

        MqttClientOptions options;
        try
        {
            options = MqttClientOptions.Parse(settings.ConnectionString);
        }
        catch (FormatException ex)
        {
            throw new ArgumentException($"{(settings.ConnectionName is { } name ? $"ConnectionStrings:{name}" : $"{Key}:ConnectionString")}: {ex.Message}", ex);
        }

        options.ProtocolVersion = settings.ProtocolVersion switch
        {
            "5" or "5.0" => MqttProtocolVersion.V500,
            "3.1.1" or "4" => MqttProtocolVersion.V311,
            _ => throw new ArgumentException($"{Key}:ProtocolVersion must be \"5\" or \"3.1.1\" (was \"{settings.ProtocolVersion}\")."),
        };
        if (!string.IsNullOrEmpty(settings.ClientId))
        {
            options.ClientId = settings.ClientId;
        }

        // A persistent session keeps unacknowledged QoS 1/2 messages across reconnects: at-least-once.
        options.CleanStart = options.ClientId.Length == 0;
        options.SessionExpirySeconds = options.ClientId.Length == 0 ? 0 : settings.SessionExpirySeconds;
        options.Username = settings.Username ?? options.Username;
        options.Password = settings.Password ?? options.Password;
        options.ReceiveBufferCapacity = settings.ReceiveBufferCapacity;
        var receiveMaximum = settings.ReceiveMaximum ?? Math.Min(ingestion.Pipeline.MaxOutstandingMessages, ushort.MaxValue);
        if (receiveMaximum is < 1 or > ushort.MaxValue)
        {
            throw new ArgumentException($"{Key}:ReceiveMaximum must be 1 to 65535 (was {receiveMaximum}).");
        }

        options.ReceiveMaximum = (ushort)receiveMaximum;
        if (settings.Tls is { } tls && (tls.CaCertificatePath ?? tls.ClientCertificatePath ?? tls.ClientKeyPath ?? tls.TargetHost) is not null)
        {
            options.Tls = new MqttTlsOptions
            {
                CaCertificatePath = tls.CaCertificatePath,
                ClientCertificatePath = tls.ClientCertificatePath,
                ClientKeyPath = tls.ClientKeyPath,
                TargetHost = tls.TargetHost,
            };
        }

        try
        {
            options.Validate();
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException($"{Key}: {ex.Message}", ex);
        }

        return options;
    }
}
