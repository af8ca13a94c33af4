using System.Net;
using System.Net.Sockets;

namespace Dataflow.Tests.Integration.Services;

/// <summary>
/// A loopback TCP proxy in front of a server that a test can take down (every connection is cut and new ones are
/// closed at once) and bring back, while the server behind it keeps its state.
/// </summary>
internal sealed class TcpOutageProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly string _upstreamHost;
    private readonly int _upstreamPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _lock = new();
    private readonly List<TcpClient> _open = [];
    private readonly List<Task> _pumps = [];
    private readonly Task _acceptLoop;
    private volatile bool _down;
    private int _refused;

    public TcpOutageProxy(string upstreamHost, int upstreamPort)
    {
        _upstreamHost = upstreamHost;
        _upstreamPort = upstreamPort;
        _listener.Start();
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    public string HostPort => $"127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    /// <summary>Connections closed because the proxy was down.</summary>
    public int RefusedConnections => Volatile.Read(ref _refused);

    public void TakeDown()
    {
        _down = true;
        lock (_lock)
        {
            foreach (var client in _open)
            {
                client.Dispose();
            }

            _open.Clear();
        }
    }

    public void BringBack() => _down = false;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        TakeDown();
        await _acceptLoop;
        Task[] pumps;
        lock (_lock)
        {
            pumps = [.. _pumps];
        }

        await Task.WhenAll(pumps);
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient downstream;
            try
            {
                downstream = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            if (_down)
            {
                Interlocked.Increment(ref _refused);
                downstream.Dispose();
                continue;
            }

            lock (_lock)
            {
                _pumps.Add(RelayAsync(downstream));
            }
        }
    }

    private async Task RelayAsync(TcpClient downstream)
    {
        using var upstream = new TcpClient();
        try
        {
            await upstream.ConnectAsync(_upstreamHost, _upstreamPort, _stop.Token);
            lock (_lock)
            {
                _open.Add(downstream);
                _open.Add(upstream);
            }

            var a = downstream.GetStream().CopyToAsync(upstream.GetStream(), _stop.Token);
            var b = upstream.GetStream().CopyToAsync(downstream.GetStream(), _stop.Token);
            await Task.WhenAny(a, b);
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // A cut connection ends the relay.
        }
        finally
        {
            downstream.Dispose();
            lock (_lock)
            {
                _open.Remove(downstream);
                _open.Remove(upstream);
            }
        }
    }
}
