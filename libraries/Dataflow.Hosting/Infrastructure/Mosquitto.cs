using System.Globalization;
using Dataflow.Hosting.ApplicationModel;

namespace Dataflow.Hosting;

/// <summary>An MQTT broker: the local mosquitto (Debian package mosquitto) with anonymous access on loopback.</summary>
public sealed class MosquittoResource : ExecutableResource, IResourceWithConnectionString
{
    public MosquittoResource(string name)
        : base(name, "mosquitto")
    {
        Package = "mosquitto";
        // Started as mosquitto rather than dropping privileges itself, which would clear the parent-death signal.
        RunAsUser = "mosquitto";
    }

    public EndpointReference PrimaryEndpoint => new(this, "tcp");

    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create(
        $"mqtt://{PrimaryEndpoint.Property(EndpointProperty.Host)}:{PrimaryEndpoint.Property(EndpointProperty.Port)}");

    public override async Task PrepareAsync(ResourceRunContext context, CancellationToken cancellationToken)
    {
        var config = $"""
            listener {context.Port().ToString(CultureInfo.InvariantCulture)} 127.0.0.1
            allow_anonymous true
            persistence false
            log_dest stdout
            max_queued_messages 100000
            """;
        await File.WriteAllTextAsync(Path.Combine(context.DataDirectory, "mosquitto.conf"), config + "\n", cancellationToken);
        ProcessUser.OpenToAll(context.DataDirectory);
    }

    public override ValueTask<(string FileName, IReadOnlyList<string> Arguments)> GetStartCommandAsync(
        ResourceRunContext context, IReadOnlyList<string> arguments, CancellationToken cancellationToken) =>
        ValueTask.FromResult<(string, IReadOnlyList<string>)>((context.Backing.Path!,
            ["-c", Path.Combine(context.DataDirectory, "mosquitto.conf"), .. arguments]));
}

public static class MosquittoBuilderExtensions
{
    public static IResourceBuilder<MosquittoResource> AddMosquitto(this IDistributedApplicationBuilder builder, string name)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var broker = new MosquittoResource(name);
        broker.Annotations.Add(new EndpointAnnotation("tcp", "tcp", "tcp", 1883, isExternal: false));
        broker.Annotations.Add(new HealthProbeAnnotation("MQTT CONNECT/CONNACK", (c, ct) => HealthProbes.MqttConnAckAsync(c.Port, ct)));
        broker.Annotations.Add(new ContainerImageAnnotation("docker.io/library/eclipse-mosquitto", "2.0")
        {
            Args = ["mosquitto", "-c", "/mosquitto-no-auth.conf"],
        });
        return builder.AddResource(broker);
    }
}
