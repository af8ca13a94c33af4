using System.Globalization;
using Dataflow.Mqtt;
using Dataflow.Mqtt.Broker;
using Dataflow.Mqtt.Client;
using Dataflow.Mqtt.Protocol;
using Dataflow.Tests.Infrastructure;
using static Dataflow.Tests.Integration.Mqtt.MqttTestClients;

namespace Dataflow.Tests.Integration.Mqtt;

/// <summary>TLS (custom CA, client certificates) and user name/password, against private Mosquitto instances and our broker.</summary>
[Trait("Category", "Integration")]
public sealed class MqttSecurityTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("mqtt-tls-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private async Task<(MosquittoServer Server, int TlsPort, TestPki Pki)> StartTlsMosquittoAsync(CancellationToken cancellationToken)
    {
        var pki = TestPki.Create(_directory);
        var tlsPort = FreePort.Next();
        var server = await MosquittoServer.StartAsync(pki.MosquittoListener(tlsPort), cancellationToken);
        return (server, tlsPort, pki);
    }

    [Fact]
    public async Task Mutual_tls_with_a_custom_ca_exchanges_messages()
    {
        using var deadline = Deadline(60);
        var (server, tlsPort, pki) = await StartTlsMosquittoAsync(deadline.Token);
        await using var _ = server;
        await using var client = Create($"mqtts://127.0.0.1:{tlsPort}", MqttProtocolVersion.V500, o =>
        {
            o.Tls!.CaCertificatePath = pki.CaPath;
            o.Tls.ClientCertificatePath = pki.ClientCertPath;
            o.Tls.ClientKeyPath = pki.ClientKeyPath;
        });
        await client.ConnectAsync(deadline.Token);
        var topic = NewTopicPrefix() + "/tls";
        await client.SubscribeAsync(topic, MqttQualityOfService.AtLeastOnce, deadline.Token);

        await client.PublishAsync(Message(topic, "secret", MqttQualityOfService.AtLeastOnce), deadline.Token);

        Assert.Equal("secret", (await ReceiveAsync(client, 1, deadline.Token))[0].Text());
    }

    [Fact]
    public async Task Server_certificate_from_an_untrusted_ca_fails_the_connect_instead_of_falling_back()
    {
        using var deadline = Deadline(60);
        var (server, tlsPort, pki) = await StartTlsMosquittoAsync(deadline.Token);
        await using var _ = server;
        await using var client = Create($"mqtts://127.0.0.1:{tlsPort}", MqttProtocolVersion.V500, o =>
        {
            o.Tls!.ClientCertificatePath = pki.ClientCertPath;
            o.Tls.ClientKeyPath = pki.ClientKeyPath;
        });

        var error = await Assert.ThrowsAsync<MqttConnectException>(() => client.ConnectAsync(deadline.Token));

        Assert.Contains("TLS", error.Message, StringComparison.Ordinal);
        Assert.Equal(MqttConnectionState.Faulted, client.State);
    }

    [Fact]
    public async Task Server_certificate_for_another_host_name_is_rejected()
    {
        using var deadline = Deadline(60);
        var (server, tlsPort, pki) = await StartTlsMosquittoAsync(deadline.Token);
        await using var _ = server;
        await using var client = Create($"mqtts://127.0.0.1:{tlsPort}", MqttProtocolVersion.V311, o =>
        {
            o.Tls!.CaCertificatePath = pki.CaPath;
            o.Tls.TargetHost = "broker.example.com";
            o.Tls.ClientCertificatePath = pki.ClientCertPath;
            o.Tls.ClientKeyPath = pki.ClientKeyPath;
        });

        await Assert.ThrowsAsync<MqttConnectException>(() => client.ConnectAsync(deadline.Token));
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V311)]
    [InlineData(MqttProtocolVersion.V500)]
    public async Task Mosquitto_password_file_accepts_the_right_password_and_refuses_a_wrong_one(MqttProtocolVersion version)
    {
        using var deadline = Deadline(60);
        var passwordFile = Path.Combine(_directory, "passwords");
        var (exitCode, _, error) = await MqttCli.RunAsync("/usr/bin/mosquitto_passwd", ["-b", "-c", passwordFile, "ingest", "s3cret"], deadline.Token);
        Assert.True(exitCode == 0, error);
        await using var mosquitto = await MosquittoServer.StartAsync(["allow_anonymous false", $"password_file {passwordFile}"], deadline.Token);

        await using var good = Create(mosquitto.ConnectionString, version, o => (o.Username, o.Password) = ("ingest", "s3cret"));
        await good.ConnectAsync(deadline.Token);
        await using var bad = Create(mosquitto.ConnectionString, version, o => (o.Username, o.Password) = ("ingest", "wrong"));
        var refused = await Assert.ThrowsAsync<MqttConnectException>(() => bad.ConnectAsync(deadline.Token));
        await using var anonymous = Create(mosquitto.ConnectionString, version);
        var anonymousRefused = await Assert.ThrowsAsync<MqttConnectException>(() => anonymous.ConnectAsync(deadline.Token));

        Assert.True(good.IsConnected);
        Assert.Contains(refused.ReasonCode, new[] { MqttReasonCode.BadUserNameOrPassword, MqttReasonCode.NotAuthorized });
        Assert.Contains(anonymousRefused.ReasonCode, new[] { MqttReasonCode.BadUserNameOrPassword, MqttReasonCode.NotAuthorized });
        Assert.Equal(MqttConnectionState.Faulted, bad.State);
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V311)]
    [InlineData(MqttProtocolVersion.V500)]
    public async Task Embedded_broker_with_users_accepts_the_right_password_and_refuses_others(MqttProtocolVersion version)
    {
        using var deadline = Deadline(30);
        var options = new MqttBrokerOptions { Port = 0, AllowAnonymous = false };
        options.Users["ingest"] = "s3cret";
        await using var broker = new MqttBroker(options);
        await broker.StartAsync(deadline.Token);

        await using var good = Create(broker.ConnectionString, version, o => (o.Username, o.Password) = ("ingest", "s3cret"));
        await good.ConnectAsync(deadline.Token);
        await using var bad = Create(broker.ConnectionString, version, o => (o.Username, o.Password) = ("ingest", "wrong"));
        var refused = await Assert.ThrowsAsync<MqttConnectException>(() => bad.ConnectAsync(deadline.Token));
        await using var anonymous = Create(broker.ConnectionString, version);
        var anonymousRefused = await Assert.ThrowsAsync<MqttConnectException>(() => anonymous.ConnectAsync(deadline.Token));

        Assert.True(good.IsConnected);
        Assert.Equal(MqttReasonCode.BadUserNameOrPassword, refused.ReasonCode);
        Assert.Equal(MqttReasonCode.NotAuthorized, anonymousRefused.ReasonCode);
        var (exitCode, _, _) = await MqttCli.RunAsync(ServerBinaries.MosquittoPub,
            ["-h", "127.0.0.1", "-p", broker.Port.ToString(CultureInfo.InvariantCulture), "-t", "x", "-m", "y", "-u", "ingest", "-P", "wrong"], deadline.Token);
        Assert.NotEqual(0, exitCode);
    }
}
