using System.Diagnostics;
using System.Globalization;
using Dataflow.Testing.Servers;

namespace Dataflow.Redis.Benchmarks;

/// <summary>Runs the official redis-benchmark and reads its requests-per-second figure from the CSV output.</summary>
internal static class RedisBenchmarkTool
{
    /// <summary>Runs redis-benchmark under /usr/bin/time; returns its ops/s and the CPU time it used.</summary>
    public static async Task<Measurement> RunAsync(int port, string command, int requests, int clients, int pipeline)
    {
        var start = new ProcessStartInfo(ServerBinaries.Time)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in (string[])["-f", "cpu %U %S", ServerBinaries.RedisBenchmark, "-h", "127.0.0.1", "-p", Text(port), "-c", Text(clients), "-n", Text(requests),
                     "-P", Text(pipeline), "-d", "3", "-t", command.ToLowerInvariant(), "--csv"])
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException("redis-benchmark did not start.");
        var output = await process.StandardOutput.ReadToEndAsync();
        var errors = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"redis-benchmark failed ({process.ExitCode}): {errors}");
        }
        var cpuLine = errors.Split('\n').Last(line => line.StartsWith("cpu ", StringComparison.Ordinal)).Split(' ');
        var cpu = TimeSpan.FromSeconds(double.Parse(cpuLine[1], CultureInfo.InvariantCulture) + double.Parse(cpuLine[2], CultureInfo.InvariantCulture));
        // CSV: "test","rps","avg_latency_ms",… then one line per test, e.g. "SET","123456.79",…
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var fields = line.Split(',');
            if (fields.Length > 1 && fields[0].Trim('"').Equals(command, StringComparison.OrdinalIgnoreCase))
            {
                return new Measurement(double.Parse(fields[1].Trim('"'), CultureInfo.InvariantCulture), cpu / requests);
            }
        }
        throw new InvalidOperationException($"redis-benchmark printed no figure for {command}:\n{output}");
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
