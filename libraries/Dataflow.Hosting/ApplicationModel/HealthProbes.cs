using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Dataflow.Hosting.ApplicationModel;

/// <summary>Readiness probes that speak just enough of each protocol to tell "accepting work" from "port open".</summary>
public static class HealthProbes
{
    private static readonly HttpClient Http = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromSeconds(30) })
    {
        Timeout = TimeSpan.FromSeconds(3),
    };

    public static async Task<bool> HttpOkAsync(int port, string path, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await Http.GetAsync(new Uri($"http://127.0.0.1:{port}{path}"), cancellationToken);
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    public static Task<bool> TcpAcceptsAsync(int port, CancellationToken cancellationToken) =>
        ExchangeAsync(port, request: null, _ => true, cancellationToken);

    /// <summary>Redis: AUTH (when a password is set) then PING must answer +PONG.</summary>
    public static Task<bool> RedisPingAsync(int port, string? password, CancellationToken cancellationToken)
    {
        var request = password is null
            ? "*1\r\n$4\r\nPING\r\n"
            : $"*2\r\n$4\r\nAUTH\r\n${Encoding.UTF8.GetByteCount(password)}\r\n{password}\r\n*1\r\n$4\r\nPING\r\n";
        return ExchangeAsync(port, Encoding.UTF8.GetBytes(request),
            reply => Encoding.ASCII.GetString(reply).Contains("+PONG", StringComparison.Ordinal), cancellationToken, minimumReply: password is null ? 7 : 12);
    }

    /// <summary>MySQL/MariaDB: the server greeting (protocol version 10) arrives only once it accepts connections.</summary>
    public static Task<bool> MySqlGreetingAsync(int port, CancellationToken cancellationToken) =>
        ExchangeAsync(port, request: null, reply => reply.Length > 4 && reply[4] == 10, cancellationToken, minimumReply: 5);

    /// <summary>PostgreSQL: a startup message must be answered with an authentication request ('R'), not "starting up".</summary>
    public static Task<bool> PostgresStartupAsync(int port, CancellationToken cancellationToken)
    {
        var parameters = Encoding.ASCII.GetBytes("user\0postgres\0database\0postgres\0\0");
        var message = new byte[8 + parameters.Length];
        BinaryPrimitives.WriteInt32BigEndian(message, message.Length);
        BinaryPrimitives.WriteInt32BigEndian(message.AsSpan(4), 196608);
        parameters.CopyTo(message, 8);
        return ExchangeAsync(port, message, reply => reply[0] == (byte)'R', cancellationToken, minimumReply: 1);
    }

    /// <summary>MQTT: CONNECT (3.1.1, clean session) must be answered by CONNACK with return code 0.</summary>
    public static Task<bool> MqttConnAckAsync(int port, CancellationToken cancellationToken)
    {
        byte[] connect = [0x10, 0x13, 0x00, 0x04, (byte)'M', (byte)'Q', (byte)'T', (byte)'T', 0x04, 0x02, 0x00, 0x0A,
            0x00, 0x07, (byte)'a', (byte)'p', (byte)'p', (byte)'h', (byte)'o', (byte)'s', (byte)'t'];
        return ExchangeAsync(port, connect, reply => reply[0] == 0x20 && reply[3] == 0x00, cancellationToken, minimumReply: 4);
    }

    private static async Task<bool> ExchangeAsync(int port, byte[]? request, Func<byte[], bool> accept, CancellationToken cancellationToken,
        int minimumReply = 0)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(3));
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
            if (minimumReply == 0 && request is null)
            {
                return accept([]);
            }
            var stream = client.GetStream();
            if (request is not null)
            {
                await stream.WriteAsync(request, timeout.Token);
            }
            var buffer = new byte[256];
            var total = 0;
            while (total < minimumReply)
            {
                var read = await stream.ReadAsync(buffer.AsMemory(total), timeout.Token);
                if (read == 0)
                {
                    return false;
                }
                total += read;
            }
            return accept(buffer[..total]);
        }
        catch (SocketException)
        {
            return false;
        }
        catch (IOException)
        {
            return false;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }
}
