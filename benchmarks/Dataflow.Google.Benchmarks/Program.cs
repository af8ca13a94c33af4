using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Dataflow.Google.Core;
using Dataflow.Google.PubSub;

// Pub/Sub client throughput against the emulator, side by side with the official Node client (REST fallback),
// in one run: publishing MESSAGES messages of SIZE bytes, then pulling and acking them. See docs/benchmarks.md.
var options = BenchmarkOptions.Parse(args);
var emulator = Environment.GetEnvironmentVariable("PUBSUB_EMULATOR_HOST");
if (string.IsNullOrWhiteSpace(emulator))
{
    Console.Error.WriteLine("Set PUBSUB_EMULATOR_HOST to a running emulator, e.g. gcloud beta emulators pubsub start --host-port=127.0.0.1:8085");
    return 2;
}

if (!Directory.Exists(Path.Combine(options.NodeDirectory, "node_modules", "@google-cloud", "pubsub")))
{
    Console.Error.WriteLine($"The Node reference client is missing: run `npm ci` in {options.NodeDirectory}");
    return 2;
}

var project = "bench-" + Guid.NewGuid().ToString("N")[..8];
var client = PubSubClient.Create(new PubSubOptions { ProjectId = project, EmulatorHost = emulator }, GoogleHttp.CreateHttpClient(TimeSpan.FromSeconds(100)));
var payload = new byte[options.Size];
Array.Fill(payload, (byte)'x');
var results = new List<(string Side, string Phase, double PerSecond)>();

Console.WriteLine($"Pub/Sub emulator {emulator}, {options.Messages} messages of {options.Size} B, {options.Rounds} rounds, {Environment.ProcessorCount} cores");
for (var round = 1; round <= options.Rounds; round++)
{
    foreach (var side in round % 2 == 1 ? new[] { "dotnet", "node" } : ["node", "dotnet"])
    {
        var topic = $"{side}-t{round}";
        var subscription = $"{side}-s{round}";
        await client.CreateTopicAsync(topic, CancellationToken.None);
        await client.CreateSubscriptionAsync(subscription, topic, new PubSubSubscription { AckDeadlineSeconds = 60 }, CancellationToken.None);

        var publishRate = side == "dotnet"
            ? await PublishDotnetAsync(client, topic, payload, options.Messages)
            : await RunNodeAsync(options.NodeDirectory, "publish.js", emulator, project, topic, options.Messages.ToString(CultureInfo.InvariantCulture), options.Size.ToString(CultureInfo.InvariantCulture));
        results.Add((side, "publish", publishRate));
        Console.WriteLine($"round {round} {side,-6} publish   {publishRate,10:N0} msg/s");

        // Both sides published one warm-up message more than they timed.
        var total = options.Messages + 1;
        var receiveRate = side == "dotnet"
            ? await ReceiveDotnetAsync(client, subscription, total)
            : await RunNodeAsync(options.NodeDirectory, "subscribe.js", emulator, project, subscription, total.ToString(CultureInfo.InvariantCulture), "2");
        results.Add((side, "pull+ack", receiveRate));
        Console.WriteLine($"round {round} {side,-6} pull+ack  {receiveRate,10:N0} msg/s");

        await client.DeleteSubscriptionAsync(subscription, CancellationToken.None);
        await client.DeleteTopicAsync(topic, CancellationToken.None);
    }
}

Console.WriteLine();
Console.WriteLine("median msg/s      dotnet       node   dotnet/node");
foreach (var phase in new[] { "publish", "pull+ack" })
{
    var ours = Median(results.Where(r => r.Side == "dotnet" && r.Phase == phase).Select(r => r.PerSecond));
    var node = Median(results.Where(r => r.Side == "node" && r.Phase == phase).Select(r => r.PerSecond));
    Console.WriteLine($"{phase,-12} {ours,11:N0} {node,10:N0} {ours / node,12:N2}x");
}

return 0;

static async Task<double> PublishDotnetAsync(PubSubClient client, string topic, byte[] payload, int count)
{
    // Same batching as the Node side: 100 messages or 10 ms.
    await using var publisher = client.CreatePublisher(topic, new PublisherSettings { MaxMessagesPerBatch = 100, DelayThreshold = TimeSpan.FromMilliseconds(10) });
    await publisher.PublishAsync(payload);
    var stopwatch = Stopwatch.StartNew();
    var sends = new Task<string>[count];
    for (var i = 0; i < count; i++)
    {
        sends[i] = publisher.PublishAsync(new PubSubMessage
        {
            Data = payload,
            Attributes = new Dictionary<string, string> { ["n"] = i.ToString(CultureInfo.InvariantCulture) },
        });
    }

    await Task.WhenAll(sends);
    return count / stopwatch.Elapsed.TotalSeconds;
}

static async Task<double> ReceiveDotnetAsync(PubSubClient client, string subscription, int count)
{
    await using var subscriber = client.CreateSubscriber(subscription, new SubscriberSettings { ConcurrentPulls = 2, MaxOutstandingMessages = 2000 });
    var stopwatch = Stopwatch.StartNew();
    subscriber.Start();
    var acks = new List<Task>(count);
    while (acks.Count < count)
    {
        var message = await subscriber.Messages.ReadAsync();
        acks.Add(message.AckAsync());
    }

    await Task.WhenAll(acks);
    return count / stopwatch.Elapsed.TotalSeconds;
}

static async Task<double> RunNodeAsync(string directory, string script, params string[] arguments)
{
    var start = new ProcessStartInfo("node") { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
    start.ArgumentList.Add(script);
    foreach (var argument in arguments)
    {
        start.ArgumentList.Add(argument);
    }

    using var process = Process.Start(start) ?? throw new InvalidOperationException("node did not start");
    var output = process.StandardOutput.ReadToEndAsync();
    var error = process.StandardError.ReadToEndAsync();
    await process.WaitForExitAsync();
    if (process.ExitCode != 0)
    {
        throw new InvalidOperationException($"node {script} failed ({process.ExitCode}): {await error}");
    }

    using var result = JsonDocument.Parse((await output).Trim().Split('\n')[^1]);
    return result.RootElement.GetProperty("count").GetDouble() / (result.RootElement.GetProperty("elapsedMs").GetDouble() / 1000);
}

static double Median(IEnumerable<double> values)
{
    var sorted = values.Order().ToArray();
    return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
}

internal sealed record BenchmarkOptions(int Messages, int Size, int Rounds, string NodeDirectory)
{
    public static BenchmarkOptions Parse(string[] args)
    {
        var options = new BenchmarkOptions(20_000, 1024, 3, Path.Combine("benchmarks", "Dataflow.Google.Benchmarks", "node"));
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            options = args[i] switch
            {
                "--messages" => options with { Messages = int.Parse(args[i + 1], CultureInfo.InvariantCulture) },
                "--size" => options with { Size = int.Parse(args[i + 1], CultureInfo.InvariantCulture) },
                "--rounds" => options with { Rounds = int.Parse(args[i + 1], CultureInfo.InvariantCulture) },
                "--node-dir" => options with { NodeDirectory = args[i + 1] },
                _ => throw new ArgumentException($"unknown option {args[i]} (use --messages, --size, --rounds, --node-dir)"),
            };
        }

        return options;
    }
}
