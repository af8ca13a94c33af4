using System.Net;
using System.Net.Sockets;

namespace Dataflow.Testing.Servers;

public static class FreePort
{
    /// <summary>A loopback port that was free a moment ago (for servers that cannot listen on port 0).</summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
