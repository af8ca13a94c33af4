using Dataflow.Redis;
using Dataflow.Tests.Infrastructure;

namespace Dataflow.Tests.Integration.Redis;

/// <summary>A private server is killed and restarted: commands fail or complete with typed errors, never hang, and the client recovers.</summary>
[Trait("Category", "Integration")]
public sealed class RedisReconnectTests
{
    // A hang guard, not a timing assertion: every command has a 2 s timeout, so this is never reached by a correct client.
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(60);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact(Timeout = 120_000)]
    public async Task Server_killed_mid_stream_fails_or_completes_every_command_and_the_client_recovers()
    {
        await using var server = await RedisServer.StartAsync(cancellationToken: Ct);
        await using var client = await RedisClient.ConnectAsync($"{server.ConnectionString},syncTimeout=2000", Ct);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var succeeded = 0L;
        var failed = 0L;
        var unexpected = new System.Collections.Concurrent.ConcurrentBag<Exception>();
        var workers = Enumerable.Range(0, 20).Select(worker => Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                try
                {
                    await client.SetAsync($"w{worker}", i.ToString(System.Globalization.CultureInfo.InvariantCulture), cancellationToken: Ct);
                    await client.GetAsync($"w{worker}", Ct);
                    Interlocked.Increment(ref succeeded);
                }
                catch (Exception ex) when (ex is RedisConnectionException or RedisTimeoutException)
                {
                    Interlocked.Increment(ref failed);
                    await Task.Delay(10, Ct);
                }
                catch (Exception ex)
                {
                    unexpected.Add(ex);
                    return;
                }
            }
        }, Ct)).ToList();

        await WaitUntilAsync(() => Interlocked.Read(ref succeeded) > 200);
        server.Kill();
        await WaitUntilAsync(() => Interlocked.Read(ref failed) > 0);
        Assert.False(client.IsConnected);
        await server.StartAgainAsync(Ct);
        var beforeRestart = Interlocked.Read(ref succeeded);
        await WaitUntilAsync(() => Interlocked.Read(ref succeeded) > beforeRestart + 200);
        await stop.CancelAsync();
        await Task.WhenAll(workers).WaitAsync(HangGuard, Ct);

        Assert.Empty(unexpected);
        Assert.True(client.IsConnected);
        await client.SetAsync("after", "recovered", cancellationToken: Ct);
        Assert.Equal("recovered", await RedisCli.RunAsync(server, Ct, "GET", "after"));
    }

    [Fact(Timeout = 120_000)]
    public async Task Command_waiting_for_a_reply_fails_with_a_connection_error_when_the_server_dies()
    {
        await using var server = await RedisServer.StartAsync(cancellationToken: Ct);
        await using var client = await RedisClient.ConnectAsync($"{server.ConnectionString},syncTimeout=30000", Ct);
        var blocked = client.ExecuteAsync("BLPOP", ["never-filled", 0], Ct);
        await WaitUntilAsync(async () => (await RedisCli.RunAsync(server, Ct, "CLIENT", "LIST")).Contains("cmd=blpop", StringComparison.Ordinal));
        server.Kill();
        var error = await Assert.ThrowsAsync<RedisConnectionException>(() => blocked.WaitAsync(HangGuard, Ct));
        Assert.Contains("may or may not have run", error.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 120_000)]
    public async Task Command_issued_while_disconnected_runs_after_the_reconnect()
    {
        await using var server = await RedisServer.StartAsync(cancellationToken: Ct);
        await using var client = await RedisClient.ConnectAsync($"{server.ConnectionString},syncTimeout=30000", Ct);
        await server.StopAsync(Ct);
        await WaitUntilAsync(() => !client.IsConnected);
        var queued = client.SetAsync("queued", "while-down", cancellationToken: Ct);
        await server.StartAgainAsync(Ct);
        Assert.True(await queued.WaitAsync(HangGuard, Ct));
        Assert.Equal("while-down", await RedisCli.RunAsync(server, Ct, "GET", "queued"));
    }

    [Fact(Timeout = 120_000)]
    public async Task Command_issued_while_disconnected_times_out_when_the_server_stays_down()
    {
        await using var server = await RedisServer.StartAsync(cancellationToken: Ct);
        await using var client = await RedisClient.ConnectAsync($"{server.ConnectionString},syncTimeout=300", Ct);
        server.Kill();
        await WaitUntilAsync(() => !client.IsConnected);
        var error = await Assert.ThrowsAsync<RedisTimeoutException>(() => client.GetAsync("k", Ct).WaitAsync(HangGuard, Ct));
        Assert.Contains("not connected", error.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 120_000)]
    public async Task Fail_fast_option_rejects_commands_while_disconnected()
    {
        await using var server = await RedisServer.StartAsync(cancellationToken: Ct);
        var options = RedisConnectionOptions.Parse(server.ConnectionString);
        options.QueueWhileDisconnected = false;
        await using var client = await RedisClient.ConnectAsync(options, Ct);
        server.Kill();
        await WaitUntilAsync(() => !client.IsConnected);
        await Assert.ThrowsAsync<RedisConnectionException>(() => client.PingAsync(Ct));
    }

    [Fact(Timeout = 120_000)]
    public async Task Connect_without_abort_returns_while_the_server_is_down_and_connects_when_it_starts()
    {
        await using var server = await RedisServer.StartAsync(cancellationToken: Ct);
        await server.StopAsync(Ct);
        await using var client = await RedisClient.ConnectAsync($"{server.ConnectionString},abortConnect=false,syncTimeout=30000", Ct);
        Assert.False(client.IsConnected);
        Assert.NotNull(client.Connections[0].LastError);
        await server.StartAgainAsync(Ct);
        await client.SetAsync("late", "start", cancellationToken: Ct).WaitAsync(HangGuard, Ct);
        Assert.True(client.IsConnected);
        Assert.Equal("start", await client.GetAsync("late", Ct));
    }

    [Fact(Timeout = 120_000)]
    public async Task Connect_with_abort_fails_with_a_connection_error_when_no_server_listens()
    {
        var port = FreePort.Next();
        var error = await Assert.ThrowsAsync<RedisConnectionException>(() =>
            RedisClient.ConnectAsync($"127.0.0.1:{port},connectRetry=2", Ct));
        Assert.Contains($"127.0.0.1:{port}", error.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 120_000)]
    public async Task Health_ping_fails_while_down_and_succeeds_after_restart()
    {
        await using var server = await RedisServer.StartAsync(cancellationToken: Ct);
        await using var client = await RedisClient.ConnectAsync($"{server.ConnectionString},syncTimeout=500", Ct);
        await client.PingAsync(Ct);
        server.Kill();
        await Assert.ThrowsAnyAsync<RedisException>(() => client.PingAsync(Ct).WaitAsync(HangGuard, Ct));
        await server.StartAgainAsync(Ct);
        await WaitUntilAsync(async () =>
        {
            try
            {
                await client.PingAsync(Ct);
                return true;
            }
            catch (RedisException)
            {
                return false;
            }
        });
    }

    [Fact(Timeout = 120_000)]
    public async Task Reconnect_repeats_authentication_and_database_selection()
    {
        await using var server = await RedisServer.StartAsync(["--requirepass", "pw"], Ct);
        await using var client = await RedisClient.ConnectAsync($"{server.ConnectionString},password=pw,defaultDatabase=3,syncTimeout=30000", Ct);
        await client.SetAsync("before", "1", cancellationToken: Ct);
        server.Kill();
        await WaitUntilAsync(() => !client.IsConnected);
        await server.StartAgainAsync(Ct);
        await client.SetAsync("after", "2", cancellationToken: Ct).WaitAsync(HangGuard, Ct);
        Assert.Equal(3, client.Connections[0].ProtocolVersion);
        Assert.Equal("2", await RedisCli.RunAsync(server, Ct, "-a", "pw", "--no-auth-warning", "-n", "3", "GET", "after"));
    }

    private static Task WaitUntilAsync(Func<bool> condition) => WaitUntilAsync(() => Task.FromResult(condition()));

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        using var guard = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        guard.CancelAfter(HangGuard);
        while (!await condition())
        {
            await Task.Delay(20, guard.Token);
        }
    }
}
