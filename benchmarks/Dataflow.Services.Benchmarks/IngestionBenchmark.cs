using System.Diagnostics;
using System.Globalization;
using Dataflow.Google.PubSub;
using Dataflow.Hosting.Processes;
using Dataflow.Mqtt.Client;
using Dataflow.Mqtt.Protocol;
using Dataflow.Pipeline;
using Dataflow.Pipeline.Envelopes;
using Dataflow.Testing.Servers;
using Microsoft.Extensions.Hosting;

namespace Dataflow.Services.Benchmarks;

/// <summary>
/// Ingestion (MQTT QoS 1 → Pub/Sub) against its two limits, in one run on one Mosquitto and one Pub/Sub emulator:
/// Mosquitto delivering the same backlog to <c>mosquitto_sub</c>, and a plain batch-publish loop of the same envelopes
/// into the emulator with our Pub/Sub client. Both MQTT sides drain an identical backlog queued for their persistent
/// sessions by one publish, so the broker delivers as fast as each side takes. <c>mosquitto_sub</c> is timed from its
/// process start to its last printed line, the loop from its first request to its last response, and ingestion, for
/// its sustained rate, from its first ack to its last (acked after Pub/Sub accepted the message); its rate including
/// the host's start and stop is printed too. A warm-up round of the full size runs first, untimed, so the timed rounds
/// measure code the JIT has finished optimizing, as in a service that has been running for a while.
/// </summary>
internal static class IngestionBenchmark
{
    private const int LoopBatch = 1000;

    public static async Task<int> RunAsync(int messages, int rounds)
    {
        using var allocations = AllocationSampler.CreateIfRequested();
        // Every session's backlog must fit the broker's queue: no limit.
        await using var mosquitto = await MosquittoServer.StartAsync(["max_queued_messages 0"]);
        // Room for 100,000-message rounds (the tests' 512 MB heap and direct-buffer limit runs out after a few).
        await using var emulator = await PubSubEmulator.StartAsync("-Xms256m -Xmx2g -XX:MaxDirectMemorySize=2g -XX:+UseSerialGC");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(100) };
        var pubSub = PubSubClient.Create(new PubSubOptions { ProjectId = "bench-" + Workload.RunId(), EmulatorHost = emulator.HostPort }, http);
        Console.WriteLine($"mosquitto {mosquitto.ConnectionString}, Pub/Sub emulator {emulator.HostPort}; plain loop: sequential publish requests of {LoopBatch} messages");

        await RunRoundAsync(mosquitto, emulator, pubSub, messages, round: 0, allocations);
        var results = new List<(double Ingestion, double MosquittoSub, double Loop)>();
        for (var round = 1; round <= rounds; round++)
        {
            results.Add(await RunRoundAsync(mosquitto, emulator, pubSub, messages, round, allocations));
        }

        var ingestion = Machine.Median(results.Select(r => r.Ingestion));
        var sub = Machine.Median(results.Select(r => r.MosquittoSub));
        var loop = Machine.Median(results.Select(r => r.Loop));
        var ratios = results.Select(r => r.Ingestion / Math.Min(r.MosquittoSub, r.Loop)).ToList();
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"median msg/s: ingestion {ingestion:N0}, mosquitto_sub {sub:N0}, plain publish loop {loop:N0}; ingestion / lower limit per round: {string.Join(", ", ratios.Select(r => r.ToString("P0", CultureInfo.InvariantCulture)))} (target >= 80 %)"));
        return 0;
    }

    private static async Task<(double Ingestion, double MosquittoSub, double Loop)> RunRoundAsync(
        MosquittoServer mosquitto, PubSubEmulator emulator, PubSubClient pubSub, int messages, int round, AllocationSampler? allocations)
    {
        var run = Workload.RunId();
        var filter = $"bench-{run}/devices/+/up";
        var topic = $"ingestion-{run}";
        var loopTopic = $"loop-{run}";
        foreach (var t in new[] { topic, loopTopic })
        {
            await pubSub.CreateTopicAsync(t, CancellationToken.None);
            await pubSub.CreateSubscriptionAsync(t + "-sub", t, new PubSubSubscription { AckDeadlineSeconds = 600 }, CancellationToken.None);
        }

        var routingFile = Path.Combine(Path.GetTempPath(), $"ingestion-bench-{run}.yaml");
        await File.WriteAllTextAsync(routingFile, $$"""
            routes:
              uplinks:
                source:      { mqtt_topic: "{{filter}}", qos: 1 }
                destination: { route_name: "uplinks" }
            producers:
              uplinks: { topic: "{{topic}}" }
            """);
        var configuration = new Dictionary<string, string?>
        {
            ["Ingestion:RoutingFile"] = routingFile,
            ["Ingestion:Mqtt:ConnectionString"] = mosquitto.ConnectionString,
            ["Ingestion:Mqtt:ClientId"] = $"ingestion-{run}",
            ["Ingestion:DeviceIdTopicLevel"] = "2",
            ["Google:PubSub:ProjectId"] = pubSub.ProjectId,
            ["Google:PubSub:EmulatorHost"] = emulator.HostPort,
        };

        try
        {
            // Both persistent sessions subscribe first, so one publish queues the same backlog for each.
            var subscriberId = $"sub-{run}";
            await RunMosquittoSubAsync(mosquitto, ["-i", subscriberId, "-c", "-q", "1", "-t", filter, "-E"], expectedLines: 0);
            await SubscribeIngestionSessionAsync(mosquitto, configuration, $"bench-{run}/devices/probe/up");
            await PublishBacklogAsync(mosquitto, $"bench-{run}", messages);

            // The probe message queued for mosquitto_sub's session too.
            var expected = messages + 1;
            var perSecond = new Dictionary<string, double>();
            var delivered = new Dictionary<string, long>();
            var loopMessages = BuildLoopMessages(filter, messages);
            var order = round % 2 == 0 ? new[] { "ingestion", "mosquitto_sub", "loop" } : ["mosquitto_sub", "loop", "ingestion"];
            foreach (var side in order)
            {
                var load = Machine.LoadAverage();
                if (round > 0)
                {
                    // A mark to attach a profiler to one side (e.g. perf record -p PID).
                    Console.WriteLine($"round {round} {side} starts");
                }

                var cpu = CpuSample.Take();
                var (emulatorCpu, mosquittoCpu) = (ServerCpu(emulator), ServerCpu(mosquitto));
                if (side == "ingestion" && round > 0)
                {
                    allocations?.Start();
                }

                var watch = Stopwatch.StartNew();
                var (count, sustainedPerSecond) = side switch
                {
                    "mosquitto_sub" => (await RunMosquittoSubAsync(mosquitto, ["-i", subscriberId, "-c", "-q", "1", "-t", filter, "-C", expected.ToString(CultureInfo.InvariantCulture)], expected), (double?)null),
                    "ingestion" => await DrainWithIngestionAsync(configuration, messages),
                    _ => (await PublishLoopAsync(pubSub, loopTopic, loopMessages), null),
                };
                var seconds = watch.Elapsed.TotalSeconds;
                var (ownCpu, machineCpu, allocated, switches, jitMethods, jitTime) = CpuSample.Take() - cpu;
                (emulatorCpu, mosquittoCpu) = (ServerCpu(emulator) - emulatorCpu, ServerCpu(mosquitto) - mosquittoCpu);
                if (side == "ingestion" && round > 0)
                {
                    allocations?.StopAndPrint();
                }
                perSecond[side] = sustainedPerSecond ?? count / seconds;
                if (round > 0)
                {
                    var including = sustainedPerSecond is null ? "" : string.Create(CultureInfo.InvariantCulture, $", {count / seconds:N0} msg/s including the host's start and stop");
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"round {round} {side,-13} {perSecond[side],9:N0} msg/s  ({count} in {seconds:F2} s{including}; CPU per message: this process {ownCpu.TotalMicroseconds / count:F1} µs, whole machine {machineCpu.TotalMicroseconds / count:F1} µs, emulator {emulatorCpu.TotalMicroseconds / count:F1} µs, mosquitto {mosquittoCpu.TotalMicroseconds / count:F1} µs; this process allocated {allocated / count:N0} B, switched context {(double)switches / count:F2} times and JIT-compiled {jitMethods} methods in {jitTime.TotalMilliseconds:F0} ms; load {load})"));
                }

                // Verification (untimed), right after the side so the emulator never holds more than one side's messages:
                // with a few hundred thousand stored it runs out of direct buffer memory and loses pull responses.
                delivered[side] = side switch
                {
                    "ingestion" => (await Workload.PullAllAsync(pubSub, topic + "-sub", messages + 1)).Count,
                    "loop" => (await Workload.PullAllAsync(pubSub, loopTopic + "-sub", messages)).Count,
                    _ => count,
                };
            }

            if (round > 0)
            {
                Console.WriteLine($"round {round} verified: {delivered["ingestion"]} of {messages} + 1 probe on the ingestion topic, {delivered["loop"]} of {messages} on the loop topic, {delivered["mosquitto_sub"]} of {expected} lines from mosquitto_sub");
            }

            if (delivered["ingestion"] < messages + 1 || delivered["loop"] < messages || delivered["mosquitto_sub"] < expected)
            {
                throw new InvalidOperationException($"round {round}: messages missing (ingestion {delivered["ingestion"]}, loop {delivered["loop"]}, mosquitto_sub {delivered["mosquitto_sub"]}).");
            }

            return (perSecond["ingestion"], perSecond["mosquitto_sub"], perSecond["loop"]);
        }
        finally
        {
            File.Delete(routingFile);
            foreach (var t in new[] { topic, loopTopic })
            {
                await pubSub.DeleteSubscriptionAsync(t + "-sub", CancellationToken.None);
                await pubSub.DeleteTopicAsync(t, CancellationToken.None);
            }
        }
    }

    /// <summary>CPU time of a server so far, with its children's (the emulator runs under gcloud's wrapper).</summary>
    private static TimeSpan ServerCpu(ServerProcess server) =>
        server.ProcessId is { } pid ? ProcessTable.CpuTime(pid, includeDescendants: true) : TimeSpan.Zero;

    /// <summary>Starts the service once so its persistent session subscribes, waits until a probe message went through, stops it.</summary>
    private static async Task SubscribeIngestionSessionAsync(MosquittoServer mosquitto, Dictionary<string, string?> configuration, string probeTopic)
    {
        using var probed = new SettledCounter("ingestion", 1);
        var app = await ServiceRun.StartAsync(configuration, b => b.AddIngestion());
        await using (var device = new MqttClient(MqttClientOptions.Parse(mosquitto.ConnectionString)))
        {
            await device.ConnectAsync();
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            while (!probed.Reached.IsCompleted)
            {
                // Repeated until the subscription is in place; the extra probes are all acked before the stop.
                await device.PublishAsync(new MqttApplicationMessage { Topic = probeTopic, Payload = Workload.Payload(-1, "probe"), QoS = MqttQualityOfService.AtLeastOnce }, limit.Token);
                await Task.WhenAny(probed.Reached, Task.Delay(200, limit.Token));
            }
        }

        await ServiceRun.StopAsync(app);
    }

    private static async Task PublishBacklogAsync(MosquittoServer mosquitto, string prefix, int messages)
    {
        await using var device = new MqttClient(MqttClientOptions.Parse(mosquitto.ConnectionString));
        await device.ConnectAsync();
        const int window = 1000;
        for (var offset = 0; offset < messages; offset += window)
        {
            await Task.WhenAll(Enumerable.Range(offset, Math.Min(window, messages - offset)).Select(i =>
            {
                var deviceId = $"dev-{i % 100:D3}";
                return device.PublishAsync(new MqttApplicationMessage { Topic = $"{prefix}/devices/{deviceId}/up", Payload = Workload.Payload(i, deviceId), QoS = MqttQualityOfService.AtLeastOnce });
            }));
        }

        await device.DisconnectAsync();
    }

    /// <summary>Runs the service until it acked the backlog; returns the acked count and the sustained rate.</summary>
    private static async Task<(long Acked, double? SustainedPerSecond)> DrainWithIngestionAsync(Dictionary<string, string?> configuration, int messages)
    {
        using var counter = new SettledCounter("ingestion", messages);
        var app = await ServiceRun.StartAsync(configuration, b => b.AddIngestion());
        try
        {
            await counter.Reached.WaitAsync(TimeSpan.FromMinutes(5));
            return (counter.Acked, counter.SustainedPerSecond);
        }
        catch (TimeoutException)
        {
            Console.WriteLine($"ingestion: only {counter.Acked} of {messages} acked after 5 minutes ({counter.Nacked} nacked)");
            return (counter.Acked, null);
        }
        finally
        {
            await ServiceRun.StopAsync(app);
        }
    }

    /// <summary>The same envelopes and attributes ingestion publishes, built before the loop is timed.</summary>
    private static PubSubMessage[] BuildLoopMessages(string filter, int messages)
    {
        var published = RfcTimestamp.FromDateTimeOffset(DateTimeOffset.UtcNow);
        var all = new PubSubMessage[messages];
        for (var i = 0; i < messages; i++)
        {
            var deviceId = $"dev-{i % 100:D3}";
            all[i] = new PubSubMessage
            {
                Data = EnvelopeCodec.Encode(new Envelope(Guid.CreateVersion7().ToString("N"), Workload.Payload(i, deviceId), published)),
                Attributes = new Dictionary<string, string>
                {
                    [WellKnownAttributes.MqttTopic] = filter.Replace("+", deviceId, StringComparison.Ordinal),
                    [WellKnownAttributes.RouteName] = "uplinks",
                    [WellKnownAttributes.DeviceId] = deviceId,
                },
            };
        }

        return all;
    }

    /// <summary>Sends <paramref name="all"/> in sequential publish requests of <see cref="LoopBatch"/>.</summary>
    private static async Task<long> PublishLoopAsync(PubSubClient pubSub, string topic, PubSubMessage[] all)
    {
        for (var offset = 0; offset < all.Length; offset += LoopBatch)
        {
            await pubSub.PublishAsync(topic, new ArraySegment<PubSubMessage>(all, offset, Math.Min(LoopBatch, all.Length - offset)), CancellationToken.None);
        }

        return all.Length;
    }

    /// <summary>Runs mosquitto_sub and counts the lines it prints (one per message).</summary>
    private static async Task<long> RunMosquittoSubAsync(MosquittoServer mosquitto, string[] arguments, int expectedLines)
    {
        var info = new ProcessStartInfo(ServerBinaries.MosquittoSub, ["-h", mosquitto.Host, "-p", mosquitto.Port.ToString(CultureInfo.InvariantCulture), .. arguments])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(info)!;
        var errors = process.StandardError.ReadToEndAsync();
        var buffer = new byte[64 * 1024];
        long lines = 0;
        var stdout = process.StandardOutput.BaseStream;
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        try
        {
            int read;
            while ((read = await stdout.ReadAsync(buffer, limit.Token)) > 0)
            {
                lines += buffer.AsSpan(0, read).Count((byte)'\n');
            }

            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            Console.WriteLine($"mosquitto_sub: only {lines} of {expectedLines} lines after 5 minutes");
        }

        if (process.HasExited && process.ExitCode != 0)
        {
            throw new InvalidOperationException($"mosquitto_sub exited with {process.ExitCode}: {await errors}");
        }

        return lines;
    }
}
