using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text.Json;
using Dataflow.Enrich.Lookup;
using Dataflow.Google.PubSub;
using Dataflow.Pipeline;
using Dataflow.Pipeline.Envelopes;
using Dataflow.Redis;
using Dataflow.Testing.Servers;
using Microsoft.Extensions.Hosting;

namespace Dataflow.Services.Benchmarks;

/// <summary>
/// Enrich (Pub/Sub → LRU/Redis lookup → Pub/Sub) on one Pub/Sub emulator and one redis-server: a backlog of N
/// ingestion-shaped envelopes is queued on the input subscription, then the service is started and timed until it
/// acked all N (each acked only after its enriched envelope was published). Scenarios: 99 % LRU hits (N/100 devices,
/// each seen 100 times; the first sight of each misses the LRU and hits Redis), 100 % Redis hits (N devices, LRU of
/// one entry), and as the same-run reference the same service passing every message through without a key (no
/// lookup). Added latency is the lookup chain's own duration per message (its metric), from every measurement.
/// Firestore is configured but never reached: every device is in Redis (a lookup reaching it would fail and show).
/// </summary>
internal static class EnrichBenchmark
{
    private sealed record Scenario(string Name, Func<int, int> DevicesFor, int LruCapacity, bool Lookup);

    private static readonly Scenario[] Scenarios =
    [
        new("no lookup (reference)", n => n, 10_000, Lookup: false),
        new("99 % LRU hits", n => Math.Max(1, n / 100), 10_000, Lookup: true),
        new("100 % Redis hits", n => n, 1, Lookup: true),
    ];

    public static async Task<int> RunAsync(int messages, int rounds)
    {
        await using var redisServer = await RedisServer.StartAsync();
        await using var emulator = await PubSubEmulator.StartAsync();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(100) };
        var pubSub = PubSubClient.Create(new PubSubOptions { ProjectId = "bench-" + Workload.RunId(), EmulatorHost = emulator.HostPort }, http);
        var keyPrefix = $"bench-{Workload.RunId()}:";
        await using (var redis = await RedisClient.ConnectAsync(redisServer.ConnectionString))
        {
            // Every device the run uses is in Redis, as the service's own write-back stores it.
            for (var offset = 0; offset < messages; offset += 1000)
            {
                await redis.MSetAsync(Enumerable.Range(offset, Math.Min(1000, messages - offset)).Select(i => KeyValuePair.Create(
                    keyPrefix + DeviceId(i), $"{{\"ClientID\":\"client-{i}\",\"LocationID\":\"site-{i % 50}\",\"Category\":\"meter\"}}")));
            }
        }

        Console.WriteLine($"redis {redisServer.ConnectionString}, Pub/Sub emulator {emulator.HostPort}; {messages} devices in Redis");
        foreach (var scenario in Scenarios)
        {
            await RunScenarioAsync(scenario, redisServer, emulator, pubSub, keyPrefix, Math.Min(messages, 2000), round: 0);
        }

        var results = new List<(string Scenario, double PerSecond, double P50, double P99)>();
        for (var round = 1; round <= rounds; round++)
        {
            foreach (var scenario in round % 2 == 1 ? Scenarios : Scenarios.Reverse())
            {
                results.Add(await RunScenarioAsync(scenario, redisServer, emulator, pubSub, keyPrefix, messages, round));
            }
        }

        Console.WriteLine();
        var reference = Machine.Median(results.Where(r => r.Scenario == Scenarios[0].Name).Select(r => r.PerSecond));
        foreach (var scenario in Scenarios)
        {
            var mine = results.Where(r => r.Scenario == scenario.Name).ToList();
            var perSecond = Machine.Median(mine.Select(r => r.PerSecond));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"median {scenario.Name,-22} {perSecond,9:N0} msg/s ({perSecond / reference:P0} of no lookup); lookup p50 {Machine.Median(mine.Select(r => r.P50)):F3} ms, p99 {Machine.Median(mine.Select(r => r.P99)):F3} ms"));
        }

        return 0;
    }

    private static string DeviceId(int i) => $"dev-{i:D6}";

    private static async Task<(string Scenario, double PerSecond, double P50, double P99)> RunScenarioAsync(
        Scenario scenario, RedisServer redis, PubSubEmulator emulator, PubSubClient pubSub, string keyPrefix, int messages, int round)
    {
        var run = Workload.RunId();
        var input = $"enrich-in-{run}";
        var output = $"enrich-out-{run}";
        foreach (var t in new[] { input, output })
        {
            await pubSub.CreateTopicAsync(t, CancellationToken.None);
            await pubSub.CreateSubscriptionAsync(t + "-sub", t, new PubSubSubscription { AckDeadlineSeconds = 600 }, CancellationToken.None);
        }

        try
        {
            await PublishBacklogAsync(pubSub, input, messages, scenario.DevicesFor(messages));
            var configuration = new Dictionary<string, string?>
            {
                ["Enrich:Subscription"] = input + "-sub",
                ["Enrich:OutputTopic"] = output,
                ["Enrich:RedisConnectionString"] = redis.ConnectionString,
                ["Enrich:RedisKeyPrefix"] = keyPrefix,
                ["Enrich:Lookup:LruCapacity"] = scenario.LruCapacity.ToString(CultureInfo.InvariantCulture),
                ["Google:PubSub:ProjectId"] = pubSub.ProjectId,
                ["Google:PubSub:EmulatorHost"] = emulator.HostPort,
                ["Google:Firestore:ProjectId"] = pubSub.ProjectId,
                ["Google:Firestore:EmulatorHost"] = "127.0.0.1:9",
            };
            if (!scenario.Lookup)
            {
                configuration["Enrich:KeyAttribute"] = "bench_absent_attribute";
            }

            var load = Machine.LoadAverage();
            using var settled = new SettledCounter("enrich", messages);
            using var lookupDurations = new DurationRecorder(DeviceLookup.MeterName, "dataflow.enrich.lookup.duration");
            using var layers = new LayerCounter();
            var watch = Stopwatch.StartNew();
            var app = await ServiceRun.StartAsync(configuration, b => b.AddEnrich());
            try
            {
                await settled.Reached.WaitAsync(TimeSpan.FromMinutes(5));
            }
            catch (TimeoutException)
            {
                Console.WriteLine($"enrich: only {settled.Acked} of {messages} acked after 5 minutes ({settled.Nacked} nacked)");
            }

            var seconds = watch.Elapsed.TotalSeconds;
            await ServiceRun.StopAsync(app);

            var published = await Workload.PullAllAsync(pubSub, output + "-sub", messages);
            var enriched = published.Count(m => EnvelopeCodec.TryDecode(m.Data.Span, out var envelope) && envelope.GetEnrichmentString("name") is not null);
            var perSecond = settled.Acked / seconds;
            var (p50, p99) = (lookupDurations.PercentileMilliseconds(50), lookupDurations.PercentileMilliseconds(99));
            if (round > 0)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"round {round} {scenario.Name,-22} {perSecond,9:N0} msg/s ({settled.Acked} in {seconds:F2} s, load {load}); lookups: {layers}; lookup p50 {p50:F3} ms, p99 {p99:F3} ms; output {published.Count} messages, {enriched} enriched"));
            }

            if (settled.Acked < messages || published.Count < messages || enriched != (scenario.Lookup ? published.Count : 0))
            {
                throw new InvalidOperationException($"{scenario.Name}: acked {settled.Acked}, published {published.Count}, enriched {enriched} of {messages}.");
            }

            return (scenario.Name, perSecond, p50, p99);
        }
        finally
        {
            foreach (var t in new[] { input, output })
            {
                await pubSub.DeleteSubscriptionAsync(t + "-sub", CancellationToken.None);
                await pubSub.DeleteTopicAsync(t, CancellationToken.None);
            }
        }
    }

    /// <summary>Queues <paramref name="messages"/> ingestion-shaped envelopes (enrichmentData.DeviceID) on the input topic.</summary>
    private static async Task PublishBacklogAsync(PubSubClient pubSub, string topic, int messages, int devices)
    {
        var published = RfcTimestamp.FromDateTimeOffset(DateTimeOffset.UtcNow);
        var all = new PubSubMessage[messages];
        for (var i = 0; i < messages; i++)
        {
            var device = DeviceId(i % devices);
            var enrichment = new Dictionary<string, JsonElement>(StringComparer.Ordinal) { ["DeviceID"] = Envelope.StringValue(device) };
            all[i] = new PubSubMessage
            {
                Data = EnvelopeCodec.Encode(new Envelope(Guid.CreateVersion7().ToString("N"), Workload.Payload(i, device), published, enrichment)),
                Attributes = new Dictionary<string, string> { [WellKnownAttributes.MqttTopic] = $"devices/{device}/up", [WellKnownAttributes.RouteName] = "uplinks" },
            };
        }

        for (var offset = 0; offset < messages; offset += 1000)
        {
            await pubSub.PublishAsync(topic, new ArraySegment<PubSubMessage>(all, offset, Math.Min(1000, messages - offset)), CancellationToken.None);
        }
    }

    /// <summary>Lookups answered per layer and result, from the service's <c>dataflow.enrich.lookups</c> counter.</summary>
    private sealed class LayerCounter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentDictionary<string, long> _counts = new(StringComparer.Ordinal);

        public LayerCounter()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == DeviceLookup.MeterName && instrument.Name == "dataflow.enrich.lookups")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                string? layer = null, result = null;
                foreach (var tag in tags)
                {
                    if (tag.Key == "layer")
                    {
                        layer = tag.Value as string;
                    }
                    else if (tag.Key == "result")
                    {
                        result = tag.Value as string;
                    }
                }

                _counts.AddOrUpdate($"{layer} {result}", value, (_, current) => current + value);
            });
            _listener.Start();
        }

        public override string ToString() => _counts.IsEmpty ? "none" : string.Join(", ", _counts.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key} {c.Value}"));

        public void Dispose() => _listener.Dispose();
    }
}
