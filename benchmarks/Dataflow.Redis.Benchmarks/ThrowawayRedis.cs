using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Dataflow.Redis.Benchmarks;

/// <summary>A redis-server without persistence on a free loopback port in a temp directory, killed on dispose.</summary>
internal sealed class ThrowawayRedis : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;

    private ThrowawayRedis(Process process, string directory, int port, string version)
    {
        _process = process;
        _directory = directory;
        Port = port;
        Version = version;
    }

    public int Port { get; }

    public string Version { get; }

    public static async Task<ThrowawayRedis> StartAsync()
    {
        var directory = Directory.CreateTempSubdirectory("dataflow-redis-bench-").FullName;
        var port = FreePort();
        var start = new ProcessStartInfo(Find("redis-server", "redis-server"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in (string[])["--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
                     "--save", "", "--appendonly", "no", "--dir", directory])
        {
            start.ArgumentList.Add(argument);
        }
        var process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start.");
        process.OutputDataReceived += static (_, _) => { };
        process.ErrorDataReceived += static (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var deadline = Stopwatch.GetTimestamp() + (10 * Stopwatch.Frequency);
        while (true)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port);
                var stream = probe.GetStream();
                await stream.WriteAsync("INFO server\r\n"u8.ToArray());
                var buffer = new byte[4096];
                var read = await stream.ReadAsync(buffer);
                var info = Encoding.ASCII.GetString(buffer, 0, read);
                var marker = info.IndexOf("redis_version:", StringComparison.Ordinal);
                var version = marker < 0 ? "?" : info[(marker + 14)..].Split('\r')[0];
                return new ThrowawayRedis(process, directory, port, version);
            }
            catch (SocketException) when (Stopwatch.GetTimestamp() < deadline && !process.HasExited)
            {
                await Task.Delay(50);
            }
        }
    }

    public static string Find(string program, string package)
    {
        var path = Path.Combine("/usr/bin", program);
        return File.Exists(path)
            ? path
            : throw new InvalidOperationException($"'{program}' is not installed; install the Debian package '{package}'.");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
