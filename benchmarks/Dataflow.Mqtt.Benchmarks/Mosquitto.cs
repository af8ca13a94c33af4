using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Dataflow.Mqtt.Benchmarks;

/// <summary>A throwaway Mosquitto on a free loopback port, configured so a backlog of the whole run fits the queue.</summary>
internal sealed class Mosquitto : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;

    private Mosquitto(Process process, string directory, int port)
    {
        _process = process;
        _directory = directory;
        Port = port;
    }

    public int Port { get; }

    public static async Task<Mosquitto> StartAsync()
    {
        const string binary = "/usr/sbin/mosquitto";
        if (!File.Exists(binary))
        {
            throw new InvalidOperationException("mosquitto is not installed: apt-get install mosquitto mosquitto-clients");
        }

        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        var directory = Directory.CreateTempSubdirectory("mqtt-bench-").FullName;
        var config = Path.Combine(directory, "mosquitto.conf");
        await File.WriteAllLinesAsync(config,
        [
            "user root",
            $"listener {port.ToString(CultureInfo.InvariantCulture)} 127.0.0.1",
            "allow_anonymous true",
            "persistence false",
            "max_queued_messages 0",
            "queue_qos0_messages true",
            "log_dest none",
            "sys_interval 1",
        ]);
        var process = Process.Start(new ProcessStartInfo(binary, ["-c", config]) { UseShellExecute = false })!;
        for (var attempt = 0; attempt < 100; attempt++)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return new Mosquitto(process, directory, port);
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }

        process.Kill();
        throw new InvalidOperationException("mosquitto did not start listening.");
    }

    public async ValueTask DisposeAsync()
    {
        _process.Kill();
        await _process.WaitForExitAsync();
        _process.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}

internal static class Cli
{
    /// <summary>Runs a CLI under /usr/bin/time and returns its CPU time (user + system).</summary>
    public static async Task<TimeSpan> RunAsync(string file, string[] arguments, string? stdin)
    {
        var timeFile = Path.GetTempFileName();
        var info = new ProcessStartInfo("/usr/bin/time", ["-f", "%U %S", "-o", timeFile, file, .. arguments])
        {
            UseShellExecute = false,
            RedirectStandardInput = stdin is not null,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{file} did not start; apt-get install mosquitto-clients");
        var output = process.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
        var error = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
            process.StandardInput.Close();
        }

        await process.WaitForExitAsync();
        await output;
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} exited with {process.ExitCode}: {await error}");
        }

        var times = (await File.ReadAllTextAsync(timeFile)).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        File.Delete(timeFile);
        return TimeSpan.FromSeconds(double.Parse(times[0], CultureInfo.InvariantCulture) + double.Parse(times[1], CultureInfo.InvariantCulture));
    }
}
