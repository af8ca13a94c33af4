using System.Net.Sockets;
using System.Text;
using Dataflow.Hosting;
using Dataflow.Hosting.ApplicationModel;
using Dataflow.Hosting.Orchestration;
using Dataflow.Hosting.Testing;
using Dataflow.Mqtt.Client;
using Dataflow.Mqtt.Protocol;

namespace Dataflow.Tests.Integration.Hosting;

/// <summary>AddMosquitto on a machine without mosquitto: the embedded broker runs inside the AppHost, and clients use it as usual.</summary>
[Trait("Category", "Integration")]
public sealed class EmbeddedBrokerFallbackTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void Without_mosquitto_the_broker_is_backed_by_the_embedded_broker_and_says_what_to_install()
    {
        var broker = DistributedApplication.CreateBuilder([]).AddMosquitto("broker").Resource;
        var looked = new List<string>();
        broker.FindProgram = program =>
        {
            looked.Add(program);
            return null;
        };

        var backing = broker.ResolveBacking();

        Assert.Equal(["mosquitto"], looked);
        Assert.Equal(ResourceBackingKind.Embedded, backing.Kind);
        Assert.Null(backing.Path);
        Assert.Contains("embedded MQTT broker", backing.Description, StringComparison.Ordinal);
        Assert.Contains("apt-get install mosquitto", backing.Description, StringComparison.Ordinal);
    }

    [Fact]
    public void With_mosquitto_installed_the_local_program_is_chosen()
    {
        var broker = DistributedApplication.CreateBuilder([]).AddMosquitto("broker").Resource;
        broker.FindProgram = _ => "/opt/mosquitto/sbin/mosquitto";

        var backing = broker.ResolveBacking();

        Assert.Equal(ResourceBackingKind.LocalProcess, backing.Kind);
        Assert.Equal("/opt/mosquitto/sbin/mosquitto", backing.Path);
    }

    [Fact]
    public async Task The_orchestrated_embedded_broker_carries_qos1_messages_between_clients_and_frees_its_port_when_stopped()
    {
        var builder = TestingBuilder.Create(o => o.Log = line => TestContext.Current.TestOutputHelper?.WriteLine(line));
        builder.AddMosquitto("broker").Resource.FindProgram = _ => null;
        await using var app = await builder.BuildAsync();
        await app.StartAsync(Ct);
        await app.WaitForResourceHealthyAsync("broker", cancellationToken: Ct);

        var snapshot = app.GetResources().Single(r => r.Name == "broker");
        Assert.Null(snapshot.ProcessId);
        Assert.Contains("embedded MQTT broker", snapshot.Backing, StringComparison.Ordinal);
        Assert.Contains(app.Application.Orchestrator.GetLog("broker").Snapshot(), l => l.Text.Contains("[apphost] backing: embedded MQTT broker", StringComparison.Ordinal));
        var connectionString = await app.GetConnectionStringAsync("broker", Ct);
        await using var subscriber = new MqttClient(MqttClientOptions.Parse(connectionString));
        await subscriber.ConnectAsync(Ct);
        await subscriber.SubscribeAsync("devices/+/telemetry", MqttQualityOfService.AtLeastOnce, Ct);
        await using var publisher = new MqttClient(MqttClientOptions.Parse(connectionString));
        await publisher.ConnectAsync(Ct);

        await publisher.PublishAsync(new MqttApplicationMessage
        {
            Topic = "devices/dev-1/telemetry",
            Payload = Encoding.UTF8.GetBytes("""{"device_id":"dev-1","value":1.5}"""),
            QoS = MqttQualityOfService.AtLeastOnce,
        }, Ct);

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        var received = await subscriber.Messages.ReadAsync(timeout.Token);
        Assert.Equal("devices/dev-1/telemetry", received.Topic);
        Assert.Equal("""{"device_id":"dev-1","value":1.5}""", Encoding.UTF8.GetString(received.Payload.Span));
        await received.AckAsync(Ct);

        await app.StopResourceAsync("broker", Ct);
        Assert.Equal(KnownResourceStates.Exited, app.GetResources().Single(r => r.Name == "broker").State);
        using var probe = new TcpClient();
        await Assert.ThrowsAnyAsync<SocketException>(() => probe.ConnectAsync("127.0.0.1", new Uri(connectionString).Port, Ct).AsTask());
    }
}
