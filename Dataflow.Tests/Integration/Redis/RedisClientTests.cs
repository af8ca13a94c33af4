using System.Text;
using Dataflow.Redis;
using Dataflow.Redis.Protocol;
using Dataflow.Tests.Infrastructure;

namespace Dataflow.Tests.Integration.Redis;

[Trait("Category", "Integration")]
public sealed class RedisClientTests(SharedServers servers) : IAsyncLifetime
{
    private readonly string _prefix = $"test:{Guid.NewGuid():N}:";
    private RedisServer _server = null!;
    private RedisClient _owner = null!;
    private RedisClient _client = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _server = await servers.GetRedisAsync();
        _owner = await RedisClient.ConnectAsync(_server.ConnectionString, Ct);
        _client = _owner.WithKeyPrefix(_prefix);
    }

    public async ValueTask DisposeAsync() => await _owner.DisposeAsync();

    [Fact]
    public async Task Connection_negotiates_resp3_with_hello()
    {
        Assert.Equal(3, _owner.Connections[0].ProtocolVersion);
        Assert.True(await _client.PingAsync(Ct) > TimeSpan.Zero);
    }

    [Fact]
    public async Task Set_then_get_round_trips_text()
    {
        Assert.True(await _client.SetAsync("greeting", "héllo wörld €", cancellationToken: Ct));
        Assert.Equal("héllo wörld €", await _client.GetAsync("greeting", Ct));
    }

    [Fact]
    public async Task Set_then_get_round_trips_binary_bytes()
    {
        var payload = Enumerable.Range(0, 256).Select(i => (byte)i).Concat("\r\n\r\n"u8.ToArray()).ToArray();
        await _client.SetAsync("blob", payload.AsMemory(), cancellationToken: Ct);
        var read = await _client.GetBytesAsync("blob", Ct);
        Assert.NotNull(read);
        Assert.Equal(payload, read.Value.ToArray());
    }

    [Fact]
    public async Task Large_value_round_trips()
    {
        var large = string.Concat(Enumerable.Repeat("0123456789abcdef", 256 * 1024));
        await _client.SetAsync("large", large, cancellationToken: Ct);
        Assert.Equal(large, await _client.GetAsync("large", Ct));
    }

    [Fact]
    public async Task Get_of_a_missing_key_returns_null()
    {
        Assert.Null(await _client.GetAsync("missing", Ct));
        Assert.Null(await _client.GetBytesAsync("missing", Ct));
    }

    [Fact]
    public async Task Set_if_not_exists_returns_false_and_keeps_the_old_value()
    {
        Assert.True(await _client.SetAsync("nx", "first", condition: RedisSetCondition.IfNotExists, cancellationToken: Ct));
        Assert.False(await _client.SetAsync("nx", "second", condition: RedisSetCondition.IfNotExists, cancellationToken: Ct));
        Assert.Equal("first", await _client.GetAsync("nx", Ct));
    }

    [Fact]
    public async Task Set_if_exists_returns_false_for_a_missing_key()
    {
        Assert.False(await _client.SetAsync("xx", "value", condition: RedisSetCondition.IfExists, cancellationToken: Ct));
        Assert.Null(await _client.GetAsync("xx", Ct));
        await _client.SetAsync("xx", "old", cancellationToken: Ct);
        Assert.True(await _client.SetAsync("xx", "new", condition: RedisSetCondition.IfExists, cancellationToken: Ct));
        Assert.Equal("new", await _client.GetAsync("xx", Ct));
    }

    [Fact]
    public async Task Set_with_expiry_in_seconds_and_milliseconds_sets_a_ttl()
    {
        await _client.SetAsync("ex", "v", TimeSpan.FromHours(2), cancellationToken: Ct);
        await _client.SetAsync("px", "v", TimeSpan.FromMilliseconds(90_500), cancellationToken: Ct);
        var ex = await _client.TtlAsync("ex", Ct);
        var px = await _client.TtlAsync("px", Ct);
        Assert.InRange(ex!.Value, TimeSpan.FromHours(2) - TimeSpan.FromMinutes(1), TimeSpan.FromHours(2));
        Assert.InRange(px!.Value, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(90_500));
    }

    [Fact]
    public async Task Ttl_is_null_without_expiry_or_key_and_expire_sets_it()
    {
        await _client.SetAsync("persistent", "v", cancellationToken: Ct);
        Assert.Null(await _client.TtlAsync("persistent", Ct));
        Assert.Null(await _client.TtlAsync("absent", Ct));
        Assert.True(await _client.ExpireAsync("persistent", TimeSpan.FromMinutes(10), Ct));
        Assert.False(await _client.ExpireAsync("absent", TimeSpan.FromMinutes(10), Ct));
        Assert.InRange((await _client.TtlAsync("persistent", Ct))!.Value, TimeSpan.FromMinutes(9), TimeSpan.FromMinutes(10));
    }

    [Fact]
    public async Task Expired_key_is_gone()
    {
        await _client.SetAsync("short", "v", TimeSpan.FromMilliseconds(50), cancellationToken: Ct);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (await _client.GetAsync("short", Ct) is not null && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20, Ct);
        }
        Assert.Null(await _client.GetAsync("short", Ct));
    }

    [Fact]
    public async Task MSet_then_MGet_returns_values_in_order_with_nulls_for_missing_keys()
    {
        await _client.MSetAsync([KeyValuePair.Create("a", "1"), KeyValuePair.Create("b", "2"), KeyValuePair.Create("c", "3")], Ct);
        Assert.Equal(new[] { "1", null, "3", "2" }, await _client.MGetAsync(["a", "nope", "c", "b"], Ct));
        var bytes = await _client.MGetBytesAsync(["b", "nope"], Ct);
        Assert.Equal("2"u8.ToArray(), bytes[0]!.Value.ToArray());
        Assert.Null(bytes[1]);
    }

    [Fact]
    public async Task Del_returns_the_number_of_keys_removed()
    {
        await _client.MSetAsync([KeyValuePair.Create("d1", "1"), KeyValuePair.Create("d2", "2")], Ct);
        Assert.Equal(2, await _client.DelAsync(["d1", "d2", "d3"], Ct));
        Assert.False(await _client.DelAsync("d1", Ct));
    }

    [Fact]
    public async Task Incr_counts_up_and_incrby_adds()
    {
        Assert.Equal(1, await _client.IncrAsync("counter", cancellationToken: Ct));
        Assert.Equal(2, await _client.IncrAsync("counter", cancellationToken: Ct));
        Assert.Equal(-8, await _client.IncrAsync("counter", -10, Ct));
    }

    [Fact]
    public async Task Incr_of_text_raises_the_server_error_with_its_message()
    {
        await _client.SetAsync("text", "abc", cancellationToken: Ct);
        var error = await Assert.ThrowsAsync<RedisServerException>(() => _client.IncrAsync("text", cancellationToken: Ct));
        Assert.Equal("ERR", error.ErrorCode);
        Assert.Contains("not an integer", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Wrong_type_raises_wrongtype_and_the_connection_keeps_working()
    {
        await _client.HSetAsync("hash", "f", "v", Ct);
        var error = await Assert.ThrowsAsync<RedisServerException>(() => _client.GetAsync("hash", Ct));
        Assert.Equal("WRONGTYPE", error.ErrorCode);
        Assert.Equal("v", await _client.HGetAsync("hash", "f", Ct));
    }

    [Fact]
    public async Task Hash_commands_set_get_all_and_delete_fields()
    {
        Assert.True(await _client.HSetAsync("user", "name", "Ada", Ct));
        Assert.False(await _client.HSetAsync("user", "name", "Ada L.", Ct));
        Assert.Equal(2, await _client.HSetAsync("user", [new("city", "London"), new("born", "1815")], Ct));
        await _client.HSetAsync("user", "photo", new byte[] { 1, 2, 3 }.AsMemory(), Ct);
        Assert.Equal("Ada L.", await _client.HGetAsync("user", "name", Ct));
        Assert.Equal(new byte[] { 1, 2, 3 }, (await _client.HGetBytesAsync("user", "photo", Ct))!.Value.ToArray());
        Assert.Null(await _client.HGetAsync("user", "missing", Ct));
        var all = await _client.HGetAllAsync("user", Ct);
        Assert.Equal(["born", "city", "name", "photo"], all.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("London", all["city"]);
        Assert.Equal(2, await _client.HDelAsync("user", ["city", "born", "nothing"], Ct));
        Assert.True(await _client.HDelAsync("user", "photo", Ct));
        Assert.Equal(["name"], (await _client.HGetAllAsync("user", Ct)).Keys);
        Assert.Empty(await _client.HGetAllAsync("absent", Ct));
    }

    [Fact]
    public async Task Key_prefix_is_applied_to_every_key_and_nests()
    {
        var nested = _client.WithKeyPrefix("inner:");
        await nested.SetAsync("k", "v", cancellationToken: Ct);
        Assert.Equal("v", (await _owner.ExecuteAsync("GET", $"{_prefix}inner:k")).AsString());
        Assert.Equal("v", await _owner.GetAsync($"{_prefix}inner:k", Ct));
        Assert.Null(await _client.GetAsync("k", Ct));
        Assert.Equal($"{_prefix}inner:", nested.KeyPrefix);
    }

    [Fact]
    public async Task Generic_command_returns_the_raw_reply()
    {
        await _client.SetAsync("g", "hello", cancellationToken: Ct);
        Assert.Equal(11, (await _owner.ExecuteAsync("APPEND", $"{_prefix}g", " world")).AsInt64());
        Assert.Equal("world", (await _owner.ExecuteAsync("GETRANGE", [$"{_prefix}g", 6, -1], Ct)).AsString());
        var error = await Assert.ThrowsAsync<RedisServerException>(() => _owner.ExecuteAsync("NOSUCHCOMMAND", "x"));
        Assert.Contains("unknown command", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Resp3_replies_carry_resp3_types()
    {
        await _owner.ExecuteAsync("ZADD", $"{_prefix}z", 1.5, "member");
        var score = await _owner.ExecuteAsync("ZSCORE", $"{_prefix}z", "member");
        Assert.Equal(RespType.Double, score.Type);
        Assert.Equal(1.5, score.AsDouble());
        await _client.HSetAsync("m", "f", "v", Ct);
        Assert.Equal(RespType.Map, (await _owner.ExecuteAsync("HGETALL", $"{_prefix}m")).Type);
        Assert.Equal(RespType.Set, (await _owner.ExecuteAsync("SMEMBERS", $"{_prefix}nothing")).Type);
    }

    [Fact]
    public async Task Resp2_connection_reads_the_same_commands()
    {
        await using var resp2 = await RedisClient.ConnectAsync($"{_server.ConnectionString},protocol=resp2", Ct);
        var client = resp2.WithKeyPrefix(_prefix);
        Assert.Equal(2, resp2.Connections[0].ProtocolVersion);
        await client.HSetAsync("h2", [new("a", "1"), new("b", "2")], Ct);
        Assert.Equal(new Dictionary<string, string> { ["a"] = "1", ["b"] = "2" }, await client.HGetAllAsync("h2", Ct));
        await resp2.ExecuteAsync("ZADD", $"{_prefix}z2", 2.25, "m");
        var score = await resp2.ExecuteAsync("ZSCORE", $"{_prefix}z2", "m");
        Assert.Equal(RespType.BulkString, score.Type);
        Assert.Equal(2.25, score.AsDouble());
        Assert.Null(await client.GetAsync("none", Ct));
    }

    [Fact]
    public async Task Connection_state_commands_are_refused_on_the_shared_connection()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => _owner.ExecuteAsync("SELECT", 1));
        await Assert.ThrowsAsync<ArgumentException>(() => _owner.ExecuteAsync("multi"));
        await Assert.ThrowsAsync<ArgumentException>(() => _owner.ExecuteAsync("SUBSCRIBE", "channel"));
        Assert.Equal("PONG", (await _owner.ExecuteAsync("PING")).AsString());
    }

    [Fact]
    public async Task Default_database_selects_the_database_for_every_command()
    {
        await using var db5 = await RedisClient.ConnectAsync($"{_server.ConnectionString},defaultDatabase=5", Ct);
        await db5.SetAsync($"{_prefix}db", "five", cancellationToken: Ct);
        Assert.Null(await _client.GetAsync("db", Ct));
        Assert.Equal("five", await RedisCli.RunAsync(_server, Ct, "-n", "5", "GET", $"{_prefix}db"));
    }

    [Fact]
    public async Task Many_concurrent_callers_each_get_their_own_reply()
    {
        const int Callers = 50;
        const int PerCaller = 200;
        var callers = Enumerable.Range(0, Callers).Select(async caller =>
        {
            for (var i = 0; i < PerCaller; i++)
            {
                var key = $"c{caller}:{i % 7}";
                var value = $"{caller}-{i}";
                await _client.SetAsync(key, value, cancellationToken: Ct);
                Assert.Equal(value, await _client.GetAsync(key, Ct));
                Assert.Equal(i + 1, await _client.IncrAsync($"n{caller}", cancellationToken: Ct));
            }
        });
        await Task.WhenAll(callers);
    }

    [Fact]
    public async Task Pipelined_commands_without_awaiting_complete_in_order()
    {
        var sets = Enumerable.Range(0, 1000).Select(i => _client.SetAsync($"p{i}", i.ToString(System.Globalization.CultureInfo.InvariantCulture), cancellationToken: Ct)).ToList();
        await Task.WhenAll(sets);
        var gets = Enumerable.Range(0, 1000).Select(i => _client.GetAsync($"p{i}", Ct)).ToList();
        var values = await Task.WhenAll(gets);
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), values);
    }

    [Fact]
    public async Task Timed_out_command_does_not_shift_later_replies()
    {
        // BLPOP blocks the connection for one second; the short timeout fires first.
        var impatient = _client.WithTimeout(TimeSpan.FromMilliseconds(200));
        var blocked = impatient.ExecuteAsync("BLPOP", [$"{_prefix}empty-list", 1], Ct);
        await _client.SetAsync("after", "mine", cancellationToken: Ct);
        var afterBlock = _client.GetAsync("after", Ct);
        await Assert.ThrowsAsync<RedisTimeoutException>(() => blocked);
        Assert.Equal("mine", await afterBlock);
        Assert.Equal("mine", await _client.GetAsync("after", Ct));
    }

    [Fact]
    public async Task Cancelled_command_throws_and_later_replies_stay_matched()
    {
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var blocked = _owner.ExecuteAsync("BLPOP", [$"{_prefix}empty-list-2", 1], cancel.Token);
        var next = _owner.ExecuteAsync("ECHO", "next");
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => blocked);
        Assert.Equal("next", (await next).AsString());
    }

    [Fact]
    public async Task Pooled_client_spreads_commands_over_its_connections()
    {
        await using var pooled = await RedisClient.ConnectAsync($"{_server.ConnectionString},poolSize=3,name=pooled-{_prefix}", Ct);
        Assert.Equal(3, pooled.Connections.Count);
        var client = pooled.WithKeyPrefix(_prefix);
        await Task.WhenAll(Enumerable.Range(0, 300).Select(i => client.SetAsync($"pool{i}", "v", cancellationToken: Ct)));
        Assert.Equal(300, (await client.MGetAsync([.. Enumerable.Range(0, 300).Select(i => $"pool{i}")], Ct)).Count(v => v == "v"));
        var clients = await RedisCli.RunAsync(_server, Ct, "CLIENT", "LIST");
        Assert.Equal(3, clients.Split('\n').Count(line => line.Contains($"name=pooled-{_prefix}", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Disposed_client_rejects_commands()
    {
        var client = await RedisClient.ConnectAsync(_server.ConnectionString, Ct);
        await client.SetAsync($"{_prefix}before-dispose", "v", cancellationToken: Ct);
        await client.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => client.GetAsync($"{_prefix}before-dispose", Ct));
    }

    [Fact(Timeout = 120_000)]
    public async Task Dispose_while_commands_stream_in_ends_every_command_and_never_hangs()
    {
        for (var round = 0; round < 20; round++)
        {
            var owner = await RedisClient.ConnectAsync(_server.ConnectionString, Ct);
            var client = owner.WithKeyPrefix(_prefix);
            using var stop = new CancellationTokenSource();
            var unexpected = new System.Collections.Concurrent.ConcurrentBag<Exception>();
            var callers = Enumerable.Range(0, 8).Select(caller => Task.Run(async () =>
            {
                for (var i = 0; !stop.IsCancellationRequested; i++)
                {
                    try
                    {
                        await client.SetAsync($"dispose{caller}", "v", cancellationToken: Ct);
                    }
                    catch (Exception ex) when (ex is ObjectDisposedException or RedisConnectionException)
                    {
                        return;
                    }
                    catch (Exception ex)
                    {
                        unexpected.Add(ex);
                        return;
                    }
                }
            }, Ct)).ToList();
            await Task.Delay(5 + round, Ct);
            await owner.DisposeAsync();
            await stop.CancelAsync();
            await Task.WhenAll(callers);
            Assert.Empty(unexpected);
        }
    }

    [Fact]
    public async Task Unicode_keys_and_values_are_utf8_on_the_wire()
    {
        await _client.SetAsync("ключ", "значение", cancellationToken: Ct);
        var raw = await _owner.ExecuteAsync("GET", Encoding.UTF8.GetBytes($"{_prefix}ключ"));
        Assert.Equal(Encoding.UTF8.GetBytes("значение"), raw.AsBytes().ToArray());
    }
}
