using Dataflow.Redis;
using Dataflow.Tests.Infrastructure;

namespace Dataflow.Tests.Integration.Redis;

/// <summary>The official redis-cli reads what our client wrote, and our client reads what redis-cli wrote.</summary>
[Trait("Category", "Integration")]
public sealed class RedisCliCrossCheckTests(SharedServers servers) : IAsyncLifetime
{
    private readonly string _prefix = $"cli:{Guid.NewGuid():N}:";
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
    public async Task Redis_cli_reads_strings_we_set()
    {
        await _client.SetAsync("s", "grüße, world", cancellationToken: Ct);
        Assert.Equal("grüße, world", await RedisCli.RunAsync(_server, Ct, "GET", $"{_prefix}s"));
    }

    [Fact]
    public async Task Redis_cli_sees_the_expiry_we_set()
    {
        await _client.SetAsync("ttl", "v", TimeSpan.FromSeconds(600), cancellationToken: Ct);
        var ttl = int.Parse(await RedisCli.RunAsync(_server, Ct, "TTL", $"{_prefix}ttl"), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(ttl, 540, 600);
    }

    [Fact]
    public async Task Redis_cli_reads_hashes_and_counters_we_wrote()
    {
        await _client.HSetAsync("h", [new("name", "sensor 7"), new("place", "hall")], Ct);
        await _client.IncrAsync("n", 41, Ct);
        await _client.IncrAsync("n", cancellationToken: Ct);
        Assert.Equal("sensor 7", await RedisCli.RunAsync(_server, Ct, "HGET", $"{_prefix}h", "name"));
        Assert.Equal("2", await RedisCli.RunAsync(_server, Ct, "HLEN", $"{_prefix}h"));
        Assert.Equal("42", await RedisCli.RunAsync(_server, Ct, "GET", $"{_prefix}n"));
    }

    [Fact]
    public async Task Redis_cli_reads_the_keys_of_mset()
    {
        await _client.MSetAsync([KeyValuePair.Create("m1", "one"), KeyValuePair.Create("m2", "two")], Ct);
        Assert.Equal("one\ntwo", await RedisCli.RunAsync(_server, Ct, "MGET", $"{_prefix}m1", $"{_prefix}m2"));
    }

    [Fact]
    public async Task We_read_strings_redis_cli_set()
    {
        await RedisCli.RunAsync(_server, Ct, "SET", $"{_prefix}from-cli", "written by redis-cli ✓", "EX", "300");
        Assert.Equal("written by redis-cli ✓", await _client.GetAsync("from-cli", Ct));
        Assert.InRange((await _client.TtlAsync("from-cli", Ct))!.Value, TimeSpan.FromSeconds(200), TimeSpan.FromSeconds(300));
    }

    [Fact]
    public async Task We_read_hashes_and_lists_redis_cli_wrote()
    {
        await RedisCli.RunAsync(_server, Ct, "HSET", $"{_prefix}cli-hash", "a", "1", "b", "two words");
        await RedisCli.RunAsync(_server, Ct, "RPUSH", $"{_prefix}cli-list", "x", "y", "z");
        Assert.Equal(new Dictionary<string, string> { ["a"] = "1", ["b"] = "two words" }, await _client.HGetAllAsync("cli-hash", Ct));
        var list = await _owner.ExecuteAsync("LRANGE", $"{_prefix}cli-list", 0, -1);
        Assert.Equal(["x", "y", "z"], list.Items.Select(i => i.AsString()));
    }

    [Fact]
    public async Task Keys_redis_cli_deletes_are_gone_for_us()
    {
        await _client.SetAsync("gone", "v", cancellationToken: Ct);
        Assert.Equal("1", await RedisCli.RunAsync(_server, Ct, "DEL", $"{_prefix}gone"));
        Assert.Null(await _client.GetAsync("gone", Ct));
    }
}
