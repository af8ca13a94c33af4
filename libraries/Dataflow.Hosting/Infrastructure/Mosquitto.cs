using System.Globalization;
using System.Net;
using Dataflow.Hosting.ApplicationModel;
using Dataflow.Hosting.Processes;
using Dataflow.Mqtt.Broker;

namespace Dataflow.Hosting;

/// <summary>
/// An MQTT broker: the local mosquitto (Debian package mosquitto) with anonymous access on loopback, or, when mosquitto
/// is not installed, the embedded development broker of Dataflow.Mqtt running inside the AppHost process.
/// </summary>
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

    /// <summary>How programs are looked up (replaced in tests to act as a machine without mosquitto).</summary>
    internal Func<string, string?> FindProgram { get; set; } = BinaryLocator.Find;

    public override ResourceBacking ResolveBacking() => FindProgram(Command) is { } mosquitto
        ? ResourceBacking.LocalProcess(mosquitto)
        : ResourceBacking.Embedded($"embedded MQTT broker (Dataflow.Mqtt) in the AppHost process: '{Command}' is not installed (apt-get install {Package})");

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

    public override async Task<IAsyncDisposable> StartEmbeddedAsync(ResourceRunContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        // The same limits as the mosquitto configuration above: anonymous, loopback only, deep offline queues.
        var broker = new MqttBroker(new MqttBrokerOptions
        {
            ListenAddress = IPAddress.Loopback,
            Port = context.Port(),
            AllowAnonymous = true,
            MaximumQueuedMessagesPerSession = 100_000,
        });
        try
        {
            await broker.StartAsync(cancellationToken);
        }
        catch
        {
            await broker.DisposeAsync();
            throw;
        }
        context.Log.Write(LogStream.StandardOutput, $"embedded MQTT broker listening on {broker.ConnectionString}");
        return broker;
    }
}

public static class MosquittoBuilderExtensions
{
    /// <summary>An MQTT broker: mosquitto when installed, otherwise the embedded development broker (the dashboard's Backing column says which).</summary>
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
