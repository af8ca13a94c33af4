using System.Net;
using System.Net.Sockets;
using System.Text;
using Dataflow.Redis;

namespace Dataflow.Tests.Unit.Redis;

/// <summary>
/// A scripted loopback peer (not a Redis server) checks what a real server never does: HELLO unknown (Redis
/// before 6), a malformed reply, and an unsolicited reply.
/// </summary>
[Trait("Category", "Unit")]
public sealed class RedisConnectionFaultTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact(Timeout = 120_000)]
    public async Task Malformed_reply_fails_the_pending_command_and_the_client_reconnects()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var peer = Task.Run(async () =>
        {
            using (var first = await listener.AcceptTcpClientAsync(Ct))
            {
                var stream = first.GetStream();
                await ExpectAsync(stream, "HELLO");
                await stream.WriteAsync("-ERR unknown command 'HELLO'\r\n"u8.ToArray(), Ct);
                await ExpectAsync(stream, "GET");
                await stream.WriteAsync("?this is not RESP\r\n"u8.ToArray(), Ct);
                await ReadUntilClosedAsync(stream);
            }
            using var second = await listener.AcceptTcpClientAsync(Ct);
            var again = second.GetStream();
            await ExpectAsync(again, "HELLO");
            await again.WriteAsync("-ERR unknown command 'HELLO'\r\n"u8.ToArray(), Ct);
            await ExpectAsync(again, "GET");
            await again.WriteAsync("$3\r\nabc\r\n"u8.ToArray(), Ct);
            await ReadUntilClosedAsync(again);
        }, Ct);

        await using var client = await RedisClient.ConnectAsync($"127.0.0.1:{port},syncTimeout=10000", Ct);
        Assert.Equal(2, client.Connections[0].ProtocolVersion);
        var error = await Assert.ThrowsAsync<RedisConnectionException>(() => client.GetAsync("k", Ct));
        Assert.IsType<RedisProtocolException>(error.InnerException?.InnerException ?? error.InnerException);
        Assert.Equal("abc", await client.GetAsync("k", Ct));
        await client.DisposeAsync();
        await peer.WaitAsync(TimeSpan.FromSeconds(30), Ct);
    }

    [Fact(Timeout = 120_000)]
    public async Task Reply_nobody_asked_for_closes_the_connection_with_a_protocol_error()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var peer = Task.Run(async () =>
        {
            using var connection = await listener.AcceptTcpClientAsync(Ct);
            var stream = connection.GetStream();
            await ExpectAsync(stream, "HELLO");
            await stream.WriteAsync("%1\r\n+server\r\n+fake\r\n"u8.ToArray(), Ct);
            await stream.WriteAsync("+unsolicited\r\n"u8.ToArray(), Ct);
            await ReadUntilClosedAsync(stream);
        }, Ct);

        var options = RedisConnectionOptions.Parse($"127.0.0.1:{port},syncTimeout=10000");
        options.ReconnectMinDelay = TimeSpan.FromSeconds(30);
        options.ReconnectMaxDelay = TimeSpan.FromSeconds(30);
        await using var client = await RedisClient.ConnectAsync(options, Ct);
        using var guard = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        guard.CancelAfter(TimeSpan.FromSeconds(30));
        while (client.IsConnected)
        {
            await Task.Delay(10, guard.Token);
        }
        var lastError = client.Connections[0].LastError;
        Assert.IsType<RedisProtocolException>(lastError?.InnerException ?? lastError);
        await client.DisposeAsync();
        await peer.WaitAsync(TimeSpan.FromSeconds(30), Ct);
    }

    [Fact(Timeout = 120_000)]
    public async Task Commands_beyond_the_pending_limit_wait_for_a_slot_and_time_out_when_none_frees()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var peer = Task.Run(async () =>
        {
            using var connection = await listener.AcceptTcpClientAsync(Ct);
            var stream = connection.GetStream();
            await ExpectAsync(stream, "HELLO");
            await stream.WriteAsync("%1\r\n+server\r\n+silent\r\n"u8.ToArray(), Ct);
            // Never answers anything else.
            await ReadUntilClosedAsync(stream);
        }, Ct);

        var options = RedisConnectionOptions.Parse($"127.0.0.1:{port},syncTimeout=1000");
        options.MaxPendingCommands = 2;
        await using var client = await RedisClient.ConnectAsync(options, Ct);
        var first = client.GetAsync("a", Ct);
        var second = client.GetAsync("b", Ct);
        var queueFull = await Assert.ThrowsAsync<RedisTimeoutException>(() => client.WithTimeout(TimeSpan.FromMilliseconds(100)).GetAsync("c", Ct));
        Assert.Contains("could not be queued", queueFull.Message, StringComparison.Ordinal);
        Assert.Contains("got no reply", (await Assert.ThrowsAsync<RedisTimeoutException>(() => first)).Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<RedisTimeoutException>(() => second);
        // The timed-out commands gave their slots back.
        var later = await Assert.ThrowsAsync<RedisTimeoutException>(() => client.GetAsync("d", Ct));
        Assert.Contains("got no reply", later.Message, StringComparison.Ordinal);
        await client.DisposeAsync();
        await peer.WaitAsync(TimeSpan.FromSeconds(30), Ct);
    }

    /// <summary>Reads until a whole command naming <paramref name="command"/> has arrived.</summary>
    private static async Task ExpectAsync(NetworkStream stream, string command)
    {
        var received = new StringBuilder();
        var buffer = new byte[4096];
        while (!received.ToString().Contains($"\r\n{command}\r\n", StringComparison.Ordinal)
            || !received.ToString().EndsWith("\r\n", StringComparison.Ordinal))
        {
            var read = await stream.ReadAsync(buffer, Ct);
            if (read == 0)
            {
                throw new InvalidOperationException($"The client closed the connection before sending {command}.");
            }
            received.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }
    }

    private static async Task ReadUntilClosedAsync(NetworkStream stream)
    {
        var buffer = new byte[4096];
        try
        {
            while (await stream.ReadAsync(buffer, Ct) > 0)
            {
            }
        }
        catch (IOException)
        {
            // The client reset the connection.
        }
    }
}
