using Dataflow.Redis;
using Dataflow.Tests.Infrastructure;

namespace Dataflow.Tests.Integration.Redis;

/// <summary>AUTH with requirepass and ACL users, over RESP3 (HELLO … AUTH) and RESP2 (AUTH), on a private server.</summary>
[Trait("Category", "Integration")]
public sealed class RedisAuthTests : IAsyncLifetime
{
    private RedisServer _server = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() =>
        _server = await RedisServer.StartAsync(
            ["--requirepass", "s3cret", "--user", "alice", "on", ">alice-pw", "~*", "&*", "+@all", "-flushall",
             "--user", "reader", "on", ">reader-pw", "~*", "+get", "+ping", "+hello", "+auth"],
            Ct);

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    [Theory]
    [InlineData("resp3", 3)]
    [InlineData("resp2", 2)]
    public async Task Password_authenticates_the_default_user(string protocol, int expectedVersion)
    {
        await using var client = await RedisClient.ConnectAsync($"{_server.ConnectionString},password=s3cret,protocol={protocol}", Ct);
        Assert.Equal(expectedVersion, client.Connections[0].ProtocolVersion);
        Assert.Equal("default", (await client.ExecuteAsync("ACL", "WHOAMI")).AsString());
        await client.SetAsync("k", "v", cancellationToken: Ct);
        Assert.Equal("v", await client.GetAsync("k", Ct));
    }

    [Theory]
    [InlineData("resp3")]
    [InlineData("resp2")]
    public async Task Acl_user_authenticates_as_that_user(string protocol)
    {
        await using var client = await RedisClient.ConnectAsync($"{_server.ConnectionString},user=alice,password=alice-pw,protocol={protocol}", Ct);
        Assert.Equal("alice", (await client.ExecuteAsync("ACL", "WHOAMI")).AsString());
        var denied = await Assert.ThrowsAsync<RedisServerException>(() => client.ExecuteAsync("FLUSHALL"));
        Assert.Equal("NOPERM", denied.ErrorCode);
    }

    [Fact]
    public async Task Command_the_acl_user_may_not_run_raises_noperm_with_the_server_message()
    {
        await using var client = await RedisClient.ConnectAsync($"{_server.ConnectionString},user=reader,password=reader-pw", Ct);
        Assert.Null(await client.GetAsync("anything", Ct));
        var denied = await Assert.ThrowsAsync<RedisServerException>(() => client.SetAsync("anything", "v", cancellationToken: Ct));
        Assert.Equal("NOPERM", denied.ErrorCode);
        Assert.Contains("set", denied.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("password=wrong")]
    [InlineData("user=alice,password=wrong")]
    [InlineData("user=alice,password=wrong,protocol=resp2")]
    public async Task Wrong_password_fails_the_connect_with_the_server_error(string credentials)
    {
        var error = await Assert.ThrowsAsync<RedisConnectionException>(() =>
            RedisClient.ConnectAsync($"{_server.ConnectionString},{credentials},connectRetry=1", Ct));
        var server = Assert.IsType<RedisServerException>(error.InnerException);
        Assert.Equal("WRONGPASS", server.ErrorCode);
    }

    [Fact]
    public async Task Missing_password_fails_the_connect_with_noauth()
    {
        var error = await Assert.ThrowsAsync<RedisConnectionException>(() =>
            RedisClient.ConnectAsync($"{_server.ConnectionString},connectRetry=1", Ct));
        Assert.Equal("NOAUTH", Assert.IsType<RedisServerException>(error.InnerException).ErrorCode);
    }

    [Fact]
    public async Task Redis_cli_with_the_acl_user_reads_what_we_wrote()
    {
        await using var client = await RedisClient.ConnectAsync($"{_server.ConnectionString},user=alice,password=alice-pw", Ct);
        await client.SetAsync("shared", "from-dataflow", cancellationToken: Ct);
        Assert.Equal("from-dataflow", await RedisCli.RunAsync(_server, Ct, "--user", "alice", "--pass", "alice-pw", "--no-auth-warning", "GET", "shared"));
    }
}
