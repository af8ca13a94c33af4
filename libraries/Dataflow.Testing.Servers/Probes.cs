using System.Net.Sockets;
using System.Text;

namespace Dataflow.Testing.Servers;

public static class Probes
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(2) };

    public static async Task<bool> TcpAcceptsAsync(string host, int port, CancellationToken cancellationToken)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(host, port, cancellationToken);
        return true;
    }

    /// <summary>Sends <paramref name="request"/> and returns the first bytes of the reply as ASCII.</summary>
    public static async Task<string> TcpExchangeAsync(string host, int port, string request, CancellationToken cancellationToken)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(host, port, cancellationToken);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request), cancellationToken);
        var buffer = new byte[64];
        var read = await stream.ReadAsync(buffer, cancellationToken);
        return Encoding.ASCII.GetString(buffer, 0, read);
    }

    public static async Task<bool> HttpOkAsync(string url, CancellationToken cancellationToken)
    {
        using var response = await Http.GetAsync(new Uri(url), cancellationToken);
        return response.IsSuccessStatusCode;
    }
}
