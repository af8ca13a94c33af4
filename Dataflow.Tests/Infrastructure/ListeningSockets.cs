using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Dataflow.Tests.Infrastructure;

/// <summary>The TCP ports processes listen on, read from /proc (socket inodes of each process matched against /proc/net/tcp{,6}).</summary>
public static class ListeningSockets
{
    private const string ListenState = "0A";

    /// <summary>Every TCP port in LISTEN state owned by one of <paramref name="pids"/>, with the owning pid.</summary>
    public static IReadOnlyList<(int Port, int Pid)> PortsOf(IEnumerable<int> pids)
    {
        ArgumentNullException.ThrowIfNull(pids);
        var listening = Listening().ToDictionary(l => l.Inode, l => l.Port);
        var result = new List<(int, int)>();
        foreach (var pid in pids)
        {
            foreach (var inode in SocketInodes(pid))
            {
                if (listening.TryGetValue(inode, out var port))
                {
                    result.Add((port, pid));
                }
            }
        }
        return result;
    }

    /// <summary>Whether any process listens on <paramref name="port"/> (IPv4 or IPv6).</summary>
    public static bool IsListening(int port) => Listening().Any(l => l.Port == port);

    /// <summary>Whether a new listener can bind <paramref name="port"/> on loopback (address reuse on, so TIME_WAIT leftovers do not count).</summary>
    public static bool CanBind(int port)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        try
        {
            socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
            socket.Listen();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static IEnumerable<(long Inode, int Port)> Listening()
    {
        foreach (var table in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            if (!File.Exists(table))
            {
                continue;
            }
            // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
            foreach (var line in File.ReadLines(table).Skip(1))
            {
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length > 9 && fields[3] == ListenState)
                {
                    var port = int.Parse(fields[1][(fields[1].LastIndexOf(':') + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                    yield return (long.Parse(fields[9], CultureInfo.InvariantCulture), port);
                }
            }
        }
    }

    private static IEnumerable<long> SocketInodes(int pid)
    {
        string[] descriptors;
        try
        {
            descriptors = Directory.GetFiles($"/proc/{pid}/fd");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            yield break; // Exited while we looked.
        }
        foreach (var descriptor in descriptors)
        {
            if (LinkTarget(descriptor) is { } target && target.StartsWith("socket:[", StringComparison.Ordinal))
            {
                yield return long.Parse(target[8..^1], CultureInfo.InvariantCulture);
            }
        }
    }

    private static string? LinkTarget(string path)
    {
        try
        {
            return new FileInfo(path).LinkTarget;
        }
        catch (IOException)
        {
            return null; // Closed while we looked.
        }
    }
}
