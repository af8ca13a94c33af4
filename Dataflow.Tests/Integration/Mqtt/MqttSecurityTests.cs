using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
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

    private sealed record Pki(string CaPath, string ServerCertPath, string ServerKeyPath, string ClientCertPath, string ClientKeyPath);

    private Pki CreatePki()
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=Dataflow Test CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        using var ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));

        string Issue(string name, bool server)
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
                [server ? new Oid("1.3.6.1.5.5.7.3.1") : new Oid("1.3.6.1.5.5.7.3.2")], false));
            if (server)
            {
                var san = new SubjectAlternativeNameBuilder();
                san.AddIpAddress(IPAddress.Loopback);
                san.AddDnsName("localhost");
                request.CertificateExtensions.Add(san.Build());
            }

            var serial = RandomNumberGenerator.GetBytes(8);
            using var certificate = request.Create(ca, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddHours(12), serial);
            var certPath = Path.Combine(_directory, name + ".pem");
            File.WriteAllText(certPath, certificate.ExportCertificatePem());
            File.WriteAllText(Path.Combine(_directory, name + ".key"), key.ExportPkcs8PrivateKeyPem());
            return certPath;
        }

        var caPath = Path.Combine(_directory, "ca.pem");
        File.WriteAllText(caPath, ca.ExportCertificatePem());
        Issue("server", server: true);
        Issue("client", server: false);
        return new Pki(caPath, Path.Combine(_directory, "server.pem"), Path.Combine(_directory, "server.key"),
            Path.Combine(_directory, "client.pem"), Path.Combine(_directory, "client.key"));
    }

    private async Task<(MosquittoServer Server, int TlsPort, Pki Pki)> StartTlsMosquittoAsync(CancellationToken cancellationToken)
    {
        var pki = CreatePki();
        var tlsPort = FreePort.Next();
        var server = await MosquittoServer.StartAsync(
        [
            $"listener {tlsPort.ToString(CultureInfo.InvariantCulture)} 127.0.0.1",
            $"cafile {pki.CaPath}",
            $"certfile {pki.ServerCertPath}",
            $"keyfile {pki.ServerKeyPath}",
            "require_certificate true",
        ], cancellationToken);
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
