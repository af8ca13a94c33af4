using System.Globalization;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Dataflow.Redis;

/// <summary>The RESP version to speak.</summary>
public enum RedisProtocol
{
    /// <summary>RESP2 only (no HELLO).</summary>
    Resp2 = 2,

    /// <summary>HELLO 3; falls back to RESP2 when the server does not support it.</summary>
    Resp3 = 3,
}

/// <summary>A server address.</summary>
public readonly record struct RedisEndPoint(string Host, int Port)
{
    public override string ToString() => Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}

/// <summary>
/// Settings of a Redis connection. <see cref="Parse"/> reads the StackExchange.Redis/Aspire connection string
/// format: <c>host:port[,host2:port2],password=…,user=…,ssl=true,abortConnect=false,defaultDatabase=2,connectTimeout=5000,syncTimeout=5000</c>.
/// </summary>
public sealed class RedisConnectionOptions
{
    public const int DefaultPort = 6379;

    // Keys StackExchange.Redis users commonly carry that have no meaning for this client; accepted and ignored
    // so an existing connection string keeps working.
    private static readonly HashSet<string> IgnoredKeys = new(StringComparer.OrdinalIgnoreCase)
    {
        "allowAdmin", "tiebreaker", "version", "resolveDns", "configCheckSeconds", "configChannel", "channelPrefix",
        "responseTimeout", "setlib", "highPrioritySocketThreads", "heartbeatInterval", "writeBuffer", "proxy",
    };

    /// <summary>Servers to connect to, tried in order; at least one.</summary>
    public IList<RedisEndPoint> EndPoints { get; } = new List<RedisEndPoint>();

    /// <summary>ACL user name (Redis 6+); null authenticates as the default user.</summary>
    public string? User { get; set; }

    public string? Password { get; set; }

    public bool Ssl { get; set; }

    /// <summary>The host name the server certificate must carry (and SNI); defaults to the endpoint's host.</summary>
    public string? SslHost { get; set; }

    public SslProtocols SslProtocols { get; set; } = SslProtocols.None;

    public bool CheckCertificateRevocation { get; set; }

    /// <summary>Custom server certificate validation (for a private CA); null uses the system's trust store.</summary>
    public RemoteCertificateValidationCallback? CertificateValidation { get; set; }

    /// <summary>Client certificates for mutual TLS.</summary>
    public X509CertificateCollection? ClientCertificates { get; set; }

    /// <summary>When true (the default), <c>ConnectAsync</c> fails if no server can be reached; when false it returns and keeps retrying.</summary>
    public bool AbortOnConnectFail { get; set; } = true;

    /// <summary>Connection attempts made by <c>ConnectAsync</c> before it gives up (with <see cref="AbortOnConnectFail"/>).</summary>
    public int ConnectRetry { get; set; } = 3;

    public int? DefaultDatabase { get; set; }

    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a command may wait for its reply, including time queued while reconnecting.</summary>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Sent as the connection name (<c>CLIENT SETNAME</c>); visible in <c>CLIENT LIST</c>.</summary>
    public string? ClientName { get; set; }

    public RedisProtocol Protocol { get; set; } = RedisProtocol.Resp3;

    /// <summary>Number of multiplexed connections; commands are spread over them. One is enough for most apps.</summary>
    public int PoolSize { get; set; } = 1;

    /// <summary>TCP keep-alive idle time; zero disables it.</summary>
    public TimeSpan KeepAlive { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Commands that may be outstanding (queued or awaiting a reply) per connection; callers beyond it wait.</summary>
    public int MaxPendingCommands { get; set; } = 10_000;

    /// <summary>When true, commands issued while disconnected wait (up to their timeout) for the reconnect; when false they fail at once.</summary>
    public bool QueueWhileDisconnected { get; set; } = true;

    public TimeSpan ReconnectMinDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Parses a StackExchange.Redis-style connection string; an unknown key or bad value fails naming it.</summary>
    public static RedisConnectionOptions Parse(string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        var options = new RedisConnectionOptions();
        foreach (var rawPart in connectionString.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = rawPart.IndexOf('=', StringComparison.Ordinal);
            if (equals < 0)
            {
                options.EndPoints.Add(ParseEndPoint(rawPart));
                continue;
            }
            var key = rawPart[..equals].Trim();
            var value = rawPart[(equals + 1)..].Trim();
            options.Apply(key, value);
        }
        options.Validate();
        return options;
    }

    /// <summary>Checks the settings; throws <see cref="ArgumentException"/> naming the offending setting.</summary>
    public void Validate()
    {
        if (EndPoints.Count == 0)
        {
            throw new ArgumentException("The Redis connection string names no endpoint (expected host:port).");
        }
        if (User is not null && Password is null)
        {
            throw new ArgumentException("Redis 'user' is set without 'password'; ACL authentication needs both.");
        }
        RequirePositive(ConnectTimeout, "connectTimeout");
        RequirePositive(CommandTimeout, "syncTimeout");
        RequirePositive(ReconnectMinDelay, nameof(ReconnectMinDelay));
        if (ReconnectMaxDelay < ReconnectMinDelay)
        {
            throw new ArgumentException($"Redis {nameof(ReconnectMaxDelay)} must not be less than {nameof(ReconnectMinDelay)}.");
        }
        if (PoolSize is < 1 or > 64)
        {
            throw new ArgumentException("Redis 'poolSize' must be between 1 and 64.");
        }
        if (MaxPendingCommands < 1)
        {
            throw new ArgumentException($"Redis {nameof(MaxPendingCommands)} must be positive.");
        }
        if (ConnectRetry < 1)
        {
            throw new ArgumentException("Redis 'connectRetry' must be at least 1.");
        }
        if (DefaultDatabase is < 0)
        {
            throw new ArgumentException("Redis 'defaultDatabase' must not be negative.");
        }
        if (ClientName is not null && (ClientName.Length == 0 || ClientName.Any(c => c <= ' ' || c > '~')))
        {
            throw new ArgumentException("Redis 'name' must be non-empty printable ASCII without spaces.");
        }
        if (KeepAlive < TimeSpan.Zero)
        {
            throw new ArgumentException("Redis 'keepAlive' must not be negative.");
        }
    }

    /// <summary>The connection string with the password masked.</summary>
    public override string ToString()
    {
        var text = new StringBuilder(string.Join(',', EndPoints));
        if (User is not null)
        {
            text.Append(",user=").Append(User);
        }
        if (Password is not null)
        {
            text.Append(",password=*****");
        }
        if (Ssl)
        {
            text.Append(",ssl=true");
        }
        if (DefaultDatabase is { } database)
        {
            text.Append(CultureInfo.InvariantCulture, $",defaultDatabase={database}");
        }
        return text.ToString();
    }

    private void Apply(string key, string value)
    {
        switch (key.ToUpperInvariant())
        {
            // An empty value (as templated connection strings produce) means "not set".
            case "PASSWORD":
                Password = value.Length == 0 ? null : value;
                break;
            case "USER":
                User = value.Length == 0 ? null : value;
                break;
            case "SSL":
                Ssl = ParseBool(key, value);
                break;
            case "SSLHOST":
                SslHost = value;
                break;
            case "SSLPROTOCOLS":
                SslProtocols = Enum.TryParse<SslProtocols>(value.Replace('|', ','), ignoreCase: true, out var protocols)
                    ? protocols
                    : throw Invalid(key, value, "TLS protocol names such as Tls12|Tls13");
                break;
            case "CHECKCERTIFICATEREVOCATION":
                CheckCertificateRevocation = ParseBool(key, value);
                break;
            case "ABORTCONNECT":
                AbortOnConnectFail = ParseBool(key, value);
                break;
            case "CONNECTRETRY":
                ConnectRetry = ParseInt(key, value);
                break;
            case "DEFAULTDATABASE":
                DefaultDatabase = ParseInt(key, value);
                break;
            case "CONNECTTIMEOUT":
                ConnectTimeout = TimeSpan.FromMilliseconds(ParseInt(key, value));
                break;
            case "SYNCTIMEOUT" or "ASYNCTIMEOUT":
                CommandTimeout = TimeSpan.FromMilliseconds(ParseInt(key, value));
                break;
            case "KEEPALIVE":
                KeepAlive = TimeSpan.FromSeconds(ParseInt(key, value));
                break;
            case "NAME":
                ClientName = value;
                break;
            case "PROTOCOL":
                Protocol = value.ToUpperInvariant() switch
                {
                    "RESP3" or "3" => RedisProtocol.Resp3,
                    "RESP2" or "2" => RedisProtocol.Resp2,
                    _ => throw Invalid(key, value, "resp2 or resp3"),
                };
                break;
            case "POOLSIZE":
                PoolSize = ParseInt(key, value);
                break;
            case "SERVICENAME":
                throw new ArgumentException("Redis 'serviceName' (Sentinel) is not supported by this client.");
            default:
                if (!IgnoredKeys.Contains(key))
                {
                    throw new ArgumentException($"Unknown Redis connection string key '{key}'.");
                }
                break;
        }
    }

    private static RedisEndPoint ParseEndPoint(string text)
    {
        string host;
        var portText = (string?)null;
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                throw new ArgumentException($"Invalid Redis endpoint '{text}'.");
            }
            host = text[1..close];
            if (close + 1 < text.Length)
            {
                portText = text[(close + 1)..].StartsWith(':') ? text[(close + 2)..] : throw new ArgumentException($"Invalid Redis endpoint '{text}'.");
            }
        }
        else
        {
            var colon = text.LastIndexOf(':');
            host = colon < 0 ? text : text[..colon];
            portText = colon < 0 ? null : text[(colon + 1)..];
        }
        var port = DefaultPort;
        if (portText is not null && (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535))
        {
            throw new ArgumentException($"Invalid port in Redis endpoint '{text}'.");
        }
        if (host.Length == 0)
        {
            throw new ArgumentException($"Invalid Redis endpoint '{text}': the host is empty.");
        }
        return new RedisEndPoint(host, port);
    }

    private static bool ParseBool(string key, string value) =>
        bool.TryParse(value, out var result) ? result : throw Invalid(key, value, "true or false");

    private static int ParseInt(string key, string value) =>
        int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var result) ? result : throw Invalid(key, value, "an integer");

    private static ArgumentException Invalid(string key, string value, string expected) =>
        new($"Redis connection string key '{key}' has the invalid value '{value}' (expected {expected}).");

    private static void RequirePositive(TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero)
        {
            throw new ArgumentException($"Redis '{name}' must be positive.");
        }
    }
}
