using System.Diagnostics;
using System.Text;
using Dataflow.Tests.Infrastructure;

namespace Dataflow.Tests.Integration.Redis;

/// <summary>Runs the official <c>redis-cli</c> against a test server: the independent peer our client is checked against.</summary>
internal static class RedisCli
{
    /// <summary>Runs one command in raw output mode and returns stdout without the trailing newline.</summary>
    public static async Task<string> RunAsync(RedisServer server, IEnumerable<string> arguments, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(ServerBinaries.RedisCli)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            UseShellExecute = false,
        };
        foreach (var argument in (string[])["-h", server.Host, "-p", server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--raw", .. arguments])
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException("redis-cli did not start.");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"redis-cli {string.Join(' ', arguments)} failed ({process.ExitCode}): {await stderr}");
        }
        var output = await stdout;
        return output.EndsWith('\n') ? output[..^1] : output;
    }

    public static Task<string> RunAsync(RedisServer server, CancellationToken cancellationToken, params string[] arguments) =>
        RunAsync(server, arguments, cancellationToken);
}
