using System.Globalization;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Dataflow.Mqtt.Protocol;

namespace Dataflow.Mqtt.Client;

/// <summary>Settings of an <see cref="MqttClient"/>; bind from configuration or parse a connection string.</summary>
public sealed class MqttClientOptions
{
    public string Host { get; set; } = "localhost";

    /// <summary>0 means the default: 1883, or 8883 with TLS.</summary>
    public int Port { get; set; }

    /// <summary>Empty lets an MQTT 5.0 broker assign one (kept for reconnects); 3.1.1 requires one for persistent sessions.</summary>
    public string ClientId { get; set; } = "";

    public MqttProtocolVersion ProtocolVersion { get; set; } = MqttProtocolVersion.V500;

    /// <summary>True discards any previous session at the first connect. Reconnects always resume the session.</summary>
    public bool CleanStart { get; set; } = true;

    /// <summary>
    /// MQTT 5.0 session expiry in seconds after disconnect (uint.MaxValue = never). For 3.1.1 any non-zero value
    /// keeps the session (clean session = 0) across reconnects.
    /// </summary>
    public uint SessionExpirySeconds { get; set; }

    public TimeSpan KeepAlive { get; set; } = TimeSpan.FromSeconds(30);

    public string? Username { get; set; }

    public string? Password { get; set; }

    public MqttWill? Will { get; set; }

    /// <summary>Null for plain TCP; set (mqtts://) for TLS. TLS failures never fall back to plain text.</summary>
    public MqttTlsOptions? Tls { get; set; }

    /// <summary>How many unacknowledged QoS 1/2 messages the broker may send us at once (MQTT 5.0 Receive Maximum).</summary>
    public ushort ReceiveMaximum { get; set; } = 1000;

    /// <summary>Our cap on unacknowledged outgoing QoS 1/2 messages; the broker's Receive Maximum lowers it further.</summary>
    public int MaximumInflightPublishes { get; set; } = 1000;

    /// <summary>Received messages buffered for the application; when full the client stops reading the socket.</summary>
    public int ReceiveBufferCapacity { get; set; } = 1000;

    /// <summary>Largest packet accepted from the broker.</summary>
    public int MaximumPacketSize { get; set; } = 16 * 1024 * 1024;

    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    public TimeSpan ReconnectMinimumDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan ReconnectMaximumDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>User properties sent in CONNECT (MQTT 5.0).</summary>
    public IList<MqttUserProperty> ConnectUserProperties { get; } = [];

    internal int EffectivePort => Port != 0 ? Port : Tls is null ? 1883 : 8883;

    /// <summary>
    /// Parses <c>mqtt://[user[:password]@]host[:port][?clientId=..&amp;protocolVersion=5|3.1.1&amp;keepAlive=30&amp;cleanStart=false&amp;sessionExpiry=3600]</c>;
    /// <c>mqtts://</c> enables TLS with the system trust store.
    /// </summary>
    public static MqttClientOptions Parse(string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        if (!Uri.TryCreate(connectionString, UriKind.Absolute, out var uri) || uri.Scheme is not ("mqtt" or "mqtts") || string.IsNullOrEmpty(uri.Host))
        {
            throw new FormatException($"'{connectionString}' is not an MQTT connection string (mqtt://host:port or mqtts://host:port).");
        }

        var options = new MqttClientOptions
        {
            Host = uri.Host,
            Port = uri.IsDefaultPort ? 0 : uri.Port,
            Tls = uri.Scheme == "mqtts" ? new MqttTlsOptions() : null,
        };
        if (uri.UserInfo.Length > 0)
        {
            var colon = uri.UserInfo.IndexOf(':', StringComparison.Ordinal);
            options.Username = Uri.UnescapeDataString(colon < 0 ? uri.UserInfo : uri.UserInfo[..colon]);
            options.Password = colon < 0 ? null : Uri.UnescapeDataString(uri.UserInfo[(colon + 1)..]);
        }

        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            var key = Uri.UnescapeDataString(eq < 0 ? pair : pair[..eq]);
            var value = eq < 0 ? "" : Uri.UnescapeDataString(pair[(eq + 1)..]);
            switch (key.ToUpperInvariant())
            {
                case "CLIENTID": options.ClientId = value; break;
                case "PROTOCOLVERSION":
                    options.ProtocolVersion = value switch
                    {
                        "5" or "5.0" => MqttProtocolVersion.V500,
                        "3.1.1" or "4" => MqttProtocolVersion.V311,
                        _ => throw new FormatException($"protocolVersion '{value}' is not 5 or 3.1.1."),
                    };
                    break;
                case "KEEPALIVE": options.KeepAlive = TimeSpan.FromSeconds(ParseNumber(key, value)); break;
                case "CLEANSTART": options.CleanStart = bool.TryParse(value, out var clean) ? clean : throw new FormatException($"cleanStart '{value}' is not true or false."); break;
                case "SESSIONEXPIRY": options.SessionExpirySeconds = (uint)ParseNumber(key, value); break;
                default: throw new FormatException($"Unknown MQTT connection string parameter '{key}'.");
            }
        }

        return options;
    }

    private static long ParseNumber(string key, string value) =>
        long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number <= uint.MaxValue
            ? number
            : throw new FormatException($"{key} '{value}' is not a non-negative number.");

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Host))
        {
            throw new ArgumentException("Host is required.", nameof(Host));
        }

        if (Port is < 0 or > 65535)
        {
            throw new ArgumentException("Port must be 0..65535.", nameof(Port));
        }

        if (ProtocolVersion is not (MqttProtocolVersion.V311 or MqttProtocolVersion.V500))
        {
            throw new ArgumentException("ProtocolVersion must be V311 or V500.", nameof(ProtocolVersion));
        }

        if (KeepAlive < TimeSpan.Zero || KeepAlive.TotalSeconds > ushort.MaxValue)
        {
            throw new ArgumentException("KeepAlive must be 0..65535 seconds.", nameof(KeepAlive));
        }

        if (ReceiveMaximum == 0 || MaximumInflightPublishes is < 1 or > 65535 || ReceiveBufferCapacity < 1 || MaximumPacketSize < 16)
        {
            throw new ArgumentException("ReceiveMaximum, MaximumInflightPublishes (1..65535), ReceiveBufferCapacity and MaximumPacketSize must be positive.");
        }

        if (ProtocolVersion == MqttProtocolVersion.V311 && ClientId.Length == 0 && !CleanStart)
        {
            throw new ArgumentException("MQTT 3.1.1 needs a ClientId for a persistent session.", nameof(ClientId));
        }

        if (ProtocolVersion == MqttProtocolVersion.V311 && Password is not null && Username is null)
        {
            throw new ArgumentException("MQTT 3.1.1 does not allow a Password without a Username.", nameof(Password));
        }

        if (Will is not null && !MqttTopic.IsValidTopicName(Will.Topic))
        {
            throw new ArgumentException($"Will topic '{Will.Topic}' is not a valid topic name.", nameof(Will));
        }

        if (ReconnectMinimumDelay <= TimeSpan.Zero || ReconnectMaximumDelay < ReconnectMinimumDelay || ConnectTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException("ConnectTimeout and reconnect delays must be positive, maximum ≥ minimum.", nameof(ReconnectMaximumDelay));
        }

        Tls?.Validate();
    }
}

/// <summary>TLS settings. A missing or unreadable file is a configuration error at start, never a plain-text fallback.</summary>
public sealed class MqttTlsOptions
{
    /// <summary>Name checked against the server certificate; defaults to the host.</summary>
    public string? TargetHost { get; set; }

    /// <summary>PEM file with the CA certificate(s) to trust instead of the system store.</summary>
    public string? CaCertificatePath { get; set; }

    /// <summary>CA certificates to trust instead of the system store.</summary>
    public X509Certificate2Collection? CaCertificates { get; set; }

    /// <summary>PEM client certificate (with <see cref="ClientKeyPath"/>) for mutual TLS.</summary>
    public string? ClientCertificatePath { get; set; }

    public string? ClientKeyPath { get; set; }

    public X509Certificate2? ClientCertificate { get; set; }

    public SslProtocols EnabledProtocols { get; set; } = SslProtocols.None;

    internal void Validate()
    {
        if (CaCertificatePath is not null && !File.Exists(CaCertificatePath))
        {
            throw new ArgumentException($"Tls.CaCertificatePath '{CaCertificatePath}' does not exist.", nameof(CaCertificatePath));
        }

        if ((ClientCertificatePath is null) != (ClientKeyPath is null))
        {
            throw new ArgumentException("Tls.ClientCertificatePath and Tls.ClientKeyPath must be set together.", nameof(ClientCertificatePath));
        }

        if (ClientCertificatePath is not null && (!File.Exists(ClientCertificatePath) || !File.Exists(ClientKeyPath)))
        {
            throw new ArgumentException($"Tls client certificate '{ClientCertificatePath}' or key '{ClientKeyPath}' does not exist.", nameof(ClientCertificatePath));
        }
    }

    internal X509Certificate2Collection? LoadCaCertificates()
    {
        if (CaCertificates is not null)
        {
            return CaCertificates;
        }

        if (CaCertificatePath is null)
        {
            return null;
        }

        var collection = new X509Certificate2Collection();
        collection.ImportFromPemFile(CaCertificatePath);
        return collection.Count > 0
            ? collection
            : throw new ArgumentException($"Tls.CaCertificatePath '{CaCertificatePath}' holds no PEM certificate.", nameof(CaCertificatePath));
    }

    internal X509Certificate2? LoadClientCertificate()
    {
        if (ClientCertificate is not null || ClientCertificatePath is null)
        {
            return ClientCertificate;
        }

        // Round-trip through PKCS#12 so the private key is usable by SslStream on every platform.
        using var pem = X509Certificate2.CreateFromPemFile(ClientCertificatePath, ClientKeyPath);
        return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
    }
}
