using Dataflow.Redis;

namespace Dataflow.Tests.Unit.Redis;

[Trait("Category", "Unit")]
public sealed class RedisConnectionOptionsTests
{
    [Fact]
    public void Aspire_connection_string_with_host_and_port_parses()
    {
        var options = RedisConnectionOptions.Parse("127.0.0.1:6380");
        Assert.Equal([new RedisEndPoint("127.0.0.1", 6380)], options.EndPoints);
        Assert.Null(options.Password);
        Assert.False(options.Ssl);
        Assert.True(options.AbortOnConnectFail);
    }

    [Fact]
    public void Host_without_port_uses_6379()
    {
        Assert.Equal(new RedisEndPoint("cache", 6379), RedisConnectionOptions.Parse("cache").EndPoints[0]);
    }

    [Fact]
    public void All_supported_keys_are_applied()
    {
        var options = RedisConnectionOptions.Parse(
            "redis.example:6390, password=p=ss ,user=app,ssl=True,sslHost=redis.example,abortConnect=false,defaultDatabase=3," +
            "connectTimeout=1500,syncTimeout=250,name=worker,protocol=resp2,poolSize=4,keepAlive=30,connectRetry=5,allowAdmin=true");
        Assert.Equal(new RedisEndPoint("redis.example", 6390), options.EndPoints[0]);
        Assert.Equal("p=ss", options.Password);
        Assert.Equal("app", options.User);
        Assert.True(options.Ssl);
        Assert.Equal("redis.example", options.SslHost);
        Assert.False(options.AbortOnConnectFail);
        Assert.Equal(3, options.DefaultDatabase);
        Assert.Equal(TimeSpan.FromMilliseconds(1500), options.ConnectTimeout);
        Assert.Equal(TimeSpan.FromMilliseconds(250), options.CommandTimeout);
        Assert.Equal("worker", options.ClientName);
        Assert.Equal(RedisProtocol.Resp2, options.Protocol);
        Assert.Equal(4, options.PoolSize);
        Assert.Equal(TimeSpan.FromSeconds(30), options.KeepAlive);
        Assert.Equal(5, options.ConnectRetry);
    }

    [Fact]
    public void Empty_password_and_user_mean_none()
    {
        var options = RedisConnectionOptions.Parse("cache:6379,password=,user=");
        Assert.Null(options.Password);
        Assert.Null(options.User);
    }

    [Fact]
    public void Several_endpoints_and_ipv6_parse()
    {
        var options = RedisConnectionOptions.Parse("[::1]:7000,10.0.0.2:7001");
        Assert.Equal([new RedisEndPoint("::1", 7000), new RedisEndPoint("10.0.0.2", 7001)], options.EndPoints);
    }

    [Theory]
    [InlineData("127.0.0.1:6379,colour=blue", "colour")]
    [InlineData("127.0.0.1:6379,ssl=maybe", "ssl")]
    [InlineData("127.0.0.1:6379,defaultDatabase=x", "defaultDatabase")]
    [InlineData("127.0.0.1:6379,connectTimeout=0", "connectTimeout")]
    [InlineData("127.0.0.1:6379,syncTimeout=-5", "syncTimeout")]
    [InlineData("127.0.0.1:6379,user=alice", "user")]
    [InlineData("127.0.0.1:6379,protocol=resp4", "protocol")]
    [InlineData("127.0.0.1:6379,poolSize=0", "poolSize")]
    [InlineData("127.0.0.1:99999", "port")]
    [InlineData("password=x", "endpoint")]
    [InlineData("127.0.0.1:6379,name=two words", "name")]
    public void Bad_connection_string_fails_naming_the_problem(string connectionString, string named)
    {
        var error = Assert.Throws<ArgumentException>(() => RedisConnectionOptions.Parse(connectionString));
        Assert.Contains(named, error.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void ToString_masks_the_password()
    {
        var text = RedisConnectionOptions.Parse("h:1,password=topsecret,user=u").ToString();
        Assert.DoesNotContain("topsecret", text, StringComparison.Ordinal);
        Assert.Contains("h:1", text, StringComparison.Ordinal);
    }
}
