using System.Globalization;
using Dataflow.Hosting.ApplicationModel;

namespace Dataflow.Hosting;

/// <summary>A Redis server run from the local redis-server (Debian package redis-server), password-protected, no persistence.</summary>
public sealed class RedisResource : ExecutableResource, IResourceWithConnectionString
{
    public RedisResource(string name, ParameterResource password)
        : base(name, "redis-server")
    {
        Password = password;
        Package = "redis-server";
    }

    public ParameterResource Password { get; }

    public EndpointReference PrimaryEndpoint => new(this, "tcp");

    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create(
        $"{PrimaryEndpoint.Property(EndpointProperty.Host)}:{PrimaryEndpoint.Property(EndpointProperty.Port)},password={Password}");

    public override ValueTask<(string FileName, IReadOnlyList<string> Arguments)> GetStartCommandAsync(
        ResourceRunContext context, IReadOnlyList<string> arguments, CancellationToken cancellationToken) =>
        ValueTask.FromResult<(string, IReadOnlyList<string>)>((context.Backing.Path!,
        [
            "--port", context.Port().ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", context.DataDirectory, "--requirepass", Password.Value, .. arguments,
        ]));
}

public static class RedisBuilderExtensions
{
    public static IResourceBuilder<RedisResource> AddRedis(this IDistributedApplicationBuilder builder, string name,
        IResourceBuilder<ParameterResource>? password = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var passwordParameter = password?.Resource ?? builder.AddParameter($"{name}-password", new GenerateParameterDefault(22)).Resource;
        var redis = new RedisResource(name, passwordParameter);
        redis.Annotations.Add(new EndpointAnnotation("tcp", "tcp", "tcp", 6379, isExternal: false));
        redis.Annotations.Add(new HealthProbeAnnotation("Redis AUTH + PING", (c, ct) => HealthProbes.RedisPingAsync(c.Port, passwordParameter.Value, ct)));
        redis.Annotations.Add(new ContainerImageAnnotation("docker.io/library/redis", "7.0")
        {
            Entrypoint = "/bin/sh",
            Args = ["-c", "redis-server --requirepass $REDIS_PASSWORD --save ''"],
            Environment = new Dictionary<string, object> { ["REDIS_PASSWORD"] = passwordParameter },
        });
        return builder.AddResource(redis);
    }
}
