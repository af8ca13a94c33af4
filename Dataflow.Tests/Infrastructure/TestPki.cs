using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Dataflow.Tests.Infrastructure;

/// <summary>A throwaway certificate authority with one server (127.0.0.1, localhost) and one client certificate, as PEM files.</summary>
public sealed record TestPki(string CaPath, string ServerCertPath, string ServerKeyPath, string ClientCertPath, string ClientKeyPath)
{
    /// <summary>Writes ca.pem, server.pem/.key and client.pem/.key into <paramref name="directory"/>.</summary>
    public static TestPki Create(string directory)
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=Dataflow Test CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        using var ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));

        void Issue(string name, bool server)
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

            using var certificate = request.Create(ca, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddHours(12), RandomNumberGenerator.GetBytes(8));
            File.WriteAllText(Path.Combine(directory, name + ".pem"), certificate.ExportCertificatePem());
            File.WriteAllText(Path.Combine(directory, name + ".key"), key.ExportPkcs8PrivateKeyPem());
        }

        File.WriteAllText(Path.Combine(directory, "ca.pem"), ca.ExportCertificatePem());
        Issue("server", server: true);
        Issue("client", server: false);
        return new TestPki(Path.Combine(directory, "ca.pem"), Path.Combine(directory, "server.pem"), Path.Combine(directory, "server.key"),
            Path.Combine(directory, "client.pem"), Path.Combine(directory, "client.key"));
    }

    /// <summary>Mosquitto configuration lines for a mutual-TLS listener on <paramref name="port"/>.</summary>
    public IReadOnlyList<string> MosquittoListener(int port) =>
    [
        $"listener {port.ToString(System.Globalization.CultureInfo.InvariantCulture)} 127.0.0.1",
        $"cafile {CaPath}",
        $"certfile {ServerCertPath}",
        $"keyfile {ServerKeyPath}",
        "require_certificate true",
    ];
}
