using System.Diagnostics;
using Dataflow.Tests.Infrastructure;

namespace Dataflow.Tests.Integration.Mqtt;

/// <summary>Runs mosquitto_pub / mosquitto_sub, the independent peers our client and broker are checked against.</summary>
internal static class MqttCli
{
    public static string Version(bool v5) => v5 ? "mqttv5" : "mqttv311";

    /// <summary>Runs mosquitto_pub to completion; throws with its stderr when it fails.</summary>
    public static async Task PublishAsync(int port, string topic, string message, int qos, bool v5, CancellationToken cancellationToken, params string[] extra)
    {
        var (exitCode, _, error) = await RunAsync(
            ServerBinaries.MosquittoPub,
            ["-h", "127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-V", Version(v5), "-q", qos.ToString(System.Globalization.CultureInfo.InvariantCulture), "-t", topic, "-m", message, .. extra],
            cancellationToken);
        Assert.True(exitCode == 0, $"mosquitto_pub failed ({exitCode}): {error}");
    }

    /// <summary>
    /// Starts mosquitto_sub printing "topic payload" lines; it exits after <paramref name="count"/> messages or after
    /// <paramref name="timeoutSeconds"/> in total. Await <see cref="Subscriber.ReadyAsync"/> before publishing.
    /// </summary>
    public static Subscriber Subscribe(int port, string topic, int count, int qos, bool v5, int timeoutSeconds = 20, params string[] extra) =>
        // stdbuf: mosquitto_sub's stdout is block-buffered into a pipe, which would hide the SUBACK line until exit.
        new(Start(
            "/usr/bin/stdbuf",
            ["-oL", ServerBinaries.MosquittoSub, "-h", "127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-V", Version(v5), "-q", qos.ToString(System.Globalization.CultureInfo.InvariantCulture),
             "-t", topic, "-C", count.ToString(System.Globalization.CultureInfo.InvariantCulture), "-W", timeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture), "-v", "-d", .. extra]));

    public static async Task<(int ExitCode, string Output, string Error)> RunAsync(string file, string[] arguments, CancellationToken cancellationToken)
    {
        using var process = Start(file, arguments);
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        return (process.ExitCode, await output, await error);
    }

    private static Process Start(string file, string[] arguments)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        return Process.Start(info) ?? throw new InvalidOperationException($"Could not start {file}.");
    }

    public sealed class Subscriber(Process process) : IAsyncDisposable
    {
        private readonly List<string> _lines = [];
        private readonly TaskCompletionSource _subscribed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private Task? _pump;

        /// <summary>Completes once the broker acknowledged the subscription (mosquitto_sub -d prints "Received SUBACK").</summary>
        public Task ReadyAsync(CancellationToken cancellationToken)
        {
            _pump ??= PumpAsync();
            return _subscribed.Task.WaitAsync(TimeSpan.FromSeconds(20), cancellationToken);
        }

        private async Task PumpAsync()
        {
            while (await process.StandardOutput.ReadLineAsync() is { } line)
            {
                if (line.StartsWith("Client ", StringComparison.Ordinal) || line.StartsWith("Subscribed", StringComparison.Ordinal))
                {
                    if (line.Contains("SUBACK", StringComparison.Ordinal))
                    {
                        _subscribed.TrySetResult();
                    }

                    continue;
                }

                lock (_lines)
                {
                    _lines.Add(line);
                }
            }

            _subscribed.TrySetException(new InvalidOperationException("mosquitto_sub exited before subscribing: " + await process.StandardError.ReadToEndAsync()));
        }

        /// <summary>Waits for mosquitto_sub to exit and returns the "topic payload" lines it printed.</summary>
        public async Task<IReadOnlyList<string>> MessagesAsync(CancellationToken cancellationToken)
        {
            _pump ??= PumpAsync();
            await process.WaitForExitAsync(cancellationToken);
            await _pump;
            lock (_lines)
            {
                return [.. _lines];
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (!process.HasExited)
            {
                process.Kill();
                await process.WaitForExitAsync();
            }

            if (_pump is not null)
            {
                await _pump;
            }

            process.Dispose();
        }
    }
}
