using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Dataflow.Redis;
using Dataflow.Tests.Infrastructure;

namespace Dataflow.Tests.Integration.Redis;

/// <summary>Mutual TLS to a private redis-server with a test CA made here; an untrusted server or a missing client certificate fails the connect.</summary>
[Trait("Category", "Integration")]
public sealed class RedisTlsTests : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("dataflow-redis-tls-").FullName;
    private X509Certificate2 _ca = null!;
    private X509Certificate2 _clientCertificate = null!;
    private RedisServer _server = null!;
    private int _tlsPort;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        using var caKey = RSA.Create(2048);
        var caRequest = new CertificateRequest("CN=Dataflow Test CA", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        _ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var (serverCert, serverKey) = Issue("CN=localhost", server: true);
        var (clientCert, clientKey) = Issue("CN=dataflow-client", server: false);
        _clientCertificate = clientCert.CopyWithPrivateKey(clientKey);
        await File.WriteAllTextAsync(Path.Combine(_directory, "ca.crt"), _ca.ExportCertificatePem(), Ct);
        await File.WriteAllTextAsync(Path.Combine(_directory, "server.crt"), serverCert.ExportCertificatePem(), Ct);
        await File.WriteAllTextAsync(Path.Combine(_directory, "server.key"), serverKey.ExportPkcs8PrivateKeyPem(), Ct);
        _tlsPort = FreePort.Next();
        _server = await RedisServer.StartAsync(
            ["--tls-port", _tlsPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
             "--tls-cert-file", Path.Combine(_directory, "server.crt"), "--tls-key-file", Path.Combine(_directory, "server.key"),
             "--tls-ca-cert-file", Path.Combine(_directory, "ca.crt"), "--tls-auth-clients", "yes"],
            Ct);
        serverKey.Dispose();
        clientKey.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        _ca.Dispose();
        _clientCertificate.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task Mutual_tls_connection_trusting_the_test_ca_runs_commands()
    {
        var options = TlsOptions(withClientCertificate: true);
        await using var client = await RedisClient.ConnectAsync(options, Ct);
        await client.SetAsync("over-tls", "secret", cancellationToken: Ct);
        Assert.Equal("secret", await client.GetAsync("over-tls", Ct));
        Assert.Equal("secret", await RedisCli.RunAsync(_server, Ct, "GET", "over-tls"));
    }

    [Fact]
    public async Task Server_requiring_a_client_certificate_refuses_a_client_without_one()
    {
        await Assert.ThrowsAsync<RedisConnectionException>(() => RedisClient.ConnectAsync(TlsOptions(withClientCertificate: false), Ct));
    }

    [Fact]
    public async Task Untrusted_server_certificate_fails_the_connect_instead_of_falling_back()
    {
        var error = await Assert.ThrowsAsync<RedisConnectionException>(() =>
            RedisClient.ConnectAsync($"127.0.0.1:{_tlsPort},ssl=true,sslHost=localhost,connectRetry=1", Ct));
        Assert.IsType<RedisConnectionException>(error.InnerException);
        Assert.IsAssignableFrom<System.Security.Authentication.AuthenticationException>(error.InnerException.InnerException);
    }

    private RedisConnectionOptions TlsOptions(bool withClientCertificate)
    {
        var options = RedisConnectionOptions.Parse($"127.0.0.1:{_tlsPort},ssl=true,sslHost=localhost,connectRetry=1");
        options.CertificateValidation = ValidateAgainstTestCa;
        if (withClientCertificate)
        {
            options.ClientCertificates = new X509CertificateCollection { _clientCertificate };
        }
        return options;
    }

    private bool ValidateAgainstTestCa(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
        {
            return false;
        }
        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.Add(_ca);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return custom.Build(new X509Certificate2(certificate));
    }

    private (X509Certificate2 Certificate, RSA Key) Issue(string subject, bool server)
    {
        var key = RSA.Create(2048);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid(server ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], false));
        if (server)
        {
            var names = new SubjectAlternativeNameBuilder();
            names.AddDnsName("localhost");
            names.AddIpAddress(System.Net.IPAddress.Loopback);
            request.CertificateExtensions.Add(names.Build());
        }
        var serial = new byte[16];
        RandomNumberGenerator.Fill(serial);
        serial[0] &= 0x7F;
        var certificate = request.Create(_ca, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddHours(12), serial);
        return (certificate, key);
    }
}
