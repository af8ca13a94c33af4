using System.Diagnostics;
using System.Globalization;
using Dataflow.Mqtt.Benchmarks;
using Dataflow.Mqtt.Client;
using Dataflow.Mqtt.Protocol;

// MQTT throughput, ours vs the Mosquitto command-line clients, in one run against one throwaway Mosquitto.
// Usage: Dataflow.Mqtt.Benchmarks [receiveCount] [publishCount ≤ 65535] [rounds]
var receiveCount = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 200_000;
var publishCount = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 60_000;
var rounds = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 3;
if (publishCount > 65_535)
{
    // mosquitto_pub -l ends at the first PUBACK carrying the packet id of the last line; ids wrap after 65,535, so a
    // longer run stops early (a third of 100,000 lines were published) while exiting with success.
    Console.Error.WriteLine("publishCount must be at most 65535: mosquitto_pub -l stops early once its packet ids wrap.");
    return 1;
}

var payload = new byte[100];
Random.Shared.NextBytes(payload);

await using var mosquitto = await Mosquitto.StartAsync();
await using var brokerCounter = await BrokerPublishCounter.StartAsync(mosquitto.Port);
Console.WriteLine($"mosquitto 2.0 on 127.0.0.1:{mosquitto.Port}; {receiveCount} messages to receive, {publishCount} to publish, 100-byte payloads, {rounds} rounds, median reported");
Console.WriteLine($"load average at start: {LoadAverage()}");

// Warm-up, not measured: JIT compilation of our code is start-up cost, not throughput (the CLI tools are native).
receiveCount /= 10;
publishCount /= 10;
await ReceiveWithOurClientAsync(MqttQualityOfService.AtLeastOnce);
await PublishWithOurClientAsync(MqttQualityOfService.AtLeastOnce);
receiveCount *= 10;
publishCount *= 10;

var results = new List<string>();
foreach (var qos in new[] { MqttQualityOfService.AtMostOnce, MqttQualityOfService.AtLeastOnce })
{
    var ours = new List<Measurement>();
    var reference = new List<Measurement>();
    for (var round = 0; round < rounds; round++)
    {
        reference.Add(await ReceiveWithMosquittoSubAsync(qos));
        ours.Add(await ReceiveWithOurClientAsync(qos));
    }

    results.Add(Row($"receive QoS {(int)qos}", ours, reference));
}

foreach (var qos in new[] { MqttQualityOfService.AtLeastOnce, MqttQualityOfService.AtMostOnce })
{
    var ours = new List<Measurement>();
    var reference = new List<Measurement>();
    for (var round = 0; round < rounds; round++)
    {
        reference.Add(await VerifiedPublishAsync("mosquitto_pub", () => PublishWithMosquittoPubAsync(qos)));
        ours.Add(await VerifiedPublishAsync("Dataflow.Mqtt", () => PublishWithOurClientAsync(qos)));
    }

    results.Add(Row($"publish QoS {(int)qos}", ours, reference));
}

Console.WriteLine();
Console.WriteLine("| scenario | Dataflow.Mqtt msg/s (median) | mosquitto CLI msg/s (median) | ratio (median of rounds) | Dataflow.Mqtt client CPU µs/msg | CLI CPU µs/msg |");
Console.WriteLine("|---|---:|---:|---:|---:|---:|");
foreach (var row in results)
{
    Console.WriteLine(row);
}

Console.WriteLine($"load average at end: {LoadAverage()}");

return 0;

static string Row(string name, List<Measurement> ours, List<Measurement> reference)
{
    // The machine is shared: rounds vary a lot, so the ratio is taken per round (back-to-back runs) and its median reported.
    var ratios = ours.Zip(reference, (o, r) => o.Rate / r.Rate).ToList();
    Console.WriteLine($"{name}: ratios per round {string.Join(", ", ratios.Select(r => r.ToString("P0", CultureInfo.InvariantCulture)))}");
    return $"| {name} | {Median([.. ours.Select(m => m.Rate)]):N0} | {Median([.. reference.Select(m => m.Rate)]):N0} | {Median(ratios):P0} | "
        + $"{Median([.. ours.Select(m => m.CpuMicrosecondsPerMessage)]):F2} | {Median([.. reference.Select(m => m.CpuMicrosecondsPerMessage)]):F2} |";
}

// The machine is shared; the load during the run belongs next to the figures.
static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";

static double Median(List<double> values)
{
    var sorted = values.Order().ToList();
    return sorted[sorted.Count / 2];
}

// The subscriber's persistent session is filled while it is offline, then drained: the drain rate is the pure
// receive throughput, independent of how fast anything publishes.
async Task PrepareBacklogAsync(string clientId, string topic, MqttQualityOfService qos, int count)
{
    var subscriberOptions = Options(clientId);
    subscriberOptions.CleanStart = false;
    await using (var subscriber = new MqttClient(subscriberOptions))
    {
        await subscriber.ConnectAsync();
        await subscriber.SubscribeAsync(topic, qos);
    }

    await using var publisher = new MqttClient(Options("bench-fill-" + Guid.NewGuid().ToString("N")[..8]));
    await publisher.ConnectAsync();
    await PublishManyAsync(publisher, topic, count, MqttQualityOfService.AtLeastOnce);
}

async Task<Measurement> ReceiveWithMosquittoSubAsync(MqttQualityOfService qos)
{
    var clientId = "bench-sub-" + Guid.NewGuid().ToString("N")[..8];
    var topic = "bench/" + clientId;
    await PrepareBacklogAsync(clientId, topic, qos, receiveCount);
    var stopwatch = Stopwatch.StartNew();
    var cpu = await Cli.RunAsync("mosquitto_sub", ["-h", "127.0.0.1", "-p", mosquitto.Port.ToString(CultureInfo.InvariantCulture), "-i", clientId, "-c", "-q", ((int)qos).ToString(CultureInfo.InvariantCulture), "-t", topic, "-C", receiveCount.ToString(CultureInfo.InvariantCulture)], stdin: null);
    return new Measurement(receiveCount / stopwatch.Elapsed.TotalSeconds, cpu.TotalMicroseconds / receiveCount);
}

async Task<Measurement> ReceiveWithOurClientAsync(MqttQualityOfService qos)
{
    var clientId = "bench-sub-" + Guid.NewGuid().ToString("N")[..8];
    var topic = "bench/" + clientId;
    await PrepareBacklogAsync(clientId, topic, qos, receiveCount);
    var options = Options(clientId);
    options.CleanStart = false;
    var cpuBefore = Environment.CpuUsage.TotalTime;
    var stopwatch = Stopwatch.StartNew();
    await using (var client = new MqttClient(options))
    {
        await client.ConnectAsync();
        var received = 0;
        while (received < receiveCount)
        {
            var message = await client.Messages.ReadAsync();
            await message.AckAsync();
            received++;
        }
    }

    var elapsed = stopwatch.Elapsed;
    return new Measurement(receiveCount / elapsed.TotalSeconds, (Environment.CpuUsage.TotalTime - cpuBefore).TotalMicroseconds / receiveCount);
}

// Every publish run is checked against the broker's own count of received PUBLISH packets.
async Task<Measurement> VerifiedPublishAsync(string publisher, Func<Task<Measurement>> run)
{
    var before = await brokerCounter.SettledAsync();
    var measurement = await run();
    await brokerCounter.VerifyReceivedAsync(publisher, before, publishCount);
    return measurement;
}

async Task<Measurement> PublishWithMosquittoPubAsync(MqttQualityOfService qos)
{
    // mosquitto_pub -l publishes one message per stdin line without its newline: 100-byte payloads.
    var line = new string('x', 100) + "\n";
    var input = string.Concat(Enumerable.Repeat(line, publishCount));
    var stopwatch = Stopwatch.StartNew();
    var cpu = await Cli.RunAsync("mosquitto_pub", ["-h", "127.0.0.1", "-p", mosquitto.Port.ToString(CultureInfo.InvariantCulture), "-q", ((int)qos).ToString(CultureInfo.InvariantCulture), "-t", "bench/pub-cli", "-l"], stdin: input);
    return new Measurement(publishCount / stopwatch.Elapsed.TotalSeconds, cpu.TotalMicroseconds / publishCount);
}

async Task<Measurement> PublishWithOurClientAsync(MqttQualityOfService qos)
{
    var cpuBefore = Environment.CpuUsage.TotalTime;
    var stopwatch = Stopwatch.StartNew();
    await using (var client = new MqttClient(Options("bench-pub-" + Guid.NewGuid().ToString("N")[..8])))
    {
        await client.ConnectAsync();
        await PublishManyAsync(client, "bench/pub-ours", publishCount, qos);
        await client.DisconnectAsync();
    }

    var elapsed = stopwatch.Elapsed;
    return new Measurement(publishCount / elapsed.TotalSeconds, (Environment.CpuUsage.TotalTime - cpuBefore).TotalMicroseconds / publishCount);
}

async Task PublishManyAsync(MqttClient client, string topic, int count, MqttQualityOfService qos)
{
    // An application keeping a window of unacknowledged publishes, as an ingestion pipeline would.
    var pending = new Queue<Task<MqttReasonCode>>();
    var message = new MqttApplicationMessage { Topic = topic, Payload = payload, QoS = qos };
    for (var i = 0; i < count; i++)
    {
        if (pending.Count == Window)
        {
            await pending.Dequeue();
        }

        pending.Enqueue(client.PublishAsync(message));
    }

    await Task.WhenAll(pending);
}

MqttClientOptions Options(string clientId) => new()
{
    Host = "127.0.0.1",
    Port = mosquitto.Port,
    ClientId = clientId,
    ProtocolVersion = MqttProtocolVersion.V311,
};

internal readonly record struct Measurement(double Rate, double CpuMicrosecondsPerMessage);

internal static partial class Program
{
    private static readonly int Window = int.Parse(Environment.GetEnvironmentVariable("MQTT_BENCH_WINDOW") ?? "1000", System.Globalization.CultureInfo.InvariantCulture);
}
