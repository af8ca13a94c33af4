using System.Net;
using System.Net.Sockets;

namespace Dataflow.Hosting.Orchestration;

/// <summary>Picks free loopback ports (servers such as PostgreSQL cannot listen on port 0), never the same one twice per run.</summary>
internal sealed class PortAllocator
{
    private readonly HashSet<int> _given = [];
    private readonly Lock _gate = new();

    public int Next()
    {
        lock (_gate)
        {
            while (true)
            {
                using var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                var port = ((IPEndPoint)listener.LocalEndpoint).Port;
                if (_given.Add(port))
                {
                    return port;
                }
            }
        }
    }
}
