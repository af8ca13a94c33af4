// icestore archive throughput vs `gzip -1` on the same JSON lines, measured in one run.
// Usage: dotnet run -c Release --project benchmarks/Dataflow.Pipeline.Benchmarks -- [messages=20000] [batch=1000] [rounds=3]
using System.Diagnostics;
using System.Globalization;
using Dataflow.Emulators;
using Dataflow.Google.Storage;
using Dataflow.IceStore;
using Dataflow.Pipeline;
using Dataflow.Pipeline.Envelopes;

var messages = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 20_000;
var batchSize = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1_000;
var rounds = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 3;

await using var standIn = await EmulatorHost.StartAsync(new EmulatorOptions(), CancellationToken.None);
using var http = new HttpClient();
var storage = StorageClient.Create(new StorageOptions { ProjectId = "bench", EmulatorHost = standIn.HostPort }, http);
await storage.CreateBucketAsync(new StorageBucket { Name = "bench-archive" }, CancellationToken.None);
var options = new IceStoreOptions { Bucket = "bench-archive", ObjectPrefix = "bench" };
var sink = new ArchiveSink(storage, options);
var transformer = new ArchiveTransformer(TimeProvider.System);

// 200-byte device payloads in the reference envelope, as icestore receives them.
var items = new List<BatchItem<ArchiveLine>>(messages);
for (var i = 0; i < messages; i++)
{
    var payload = System.Text.Encoding.UTF8.GetBytes($"{{\"device_id\":\"dev-{i % 50:D3}\",\"timestamp\":\"2026-11-21T12:00:00Z\",\"value\":{i}}}".PadRight(200));
    var data = EnvelopeCodec.Encode(new Envelope(Guid.NewGuid().ToString("N"), payload, RfcTimestamp.FromDateTimeOffset(DateTimeOffset.UtcNow)));
    var message = new Message(i.ToString(CultureInfo.InvariantCulture), data, new Dictionary<string, string>(), DateTimeOffset.UtcNow, NoAck.Instance);
    var line = (await transformer.TransformAsync(message, CancellationToken.None)).Value!;
    items.Add(new BatchItem<ArchiveLine>(message, line));
}

// The same JSON lines, written out uncompressed, for `gzip -1`.
var file = Path.Combine(Path.GetTempPath(), $"icestore-bench-{Guid.NewGuid():N}.jsonl");
await using (var writer = new StreamWriter(file))
{
    foreach (var item in items)
    {
        var json = $"{{\"id\":\"{item.Value.Id}\",\"batchKey\":\"{item.Value.BatchKey}\",\"originalPubSubPayload\":\"{Convert.ToBase64String(item.Value.OriginalPubSubPayload.Span)}\",\"archivedAt\":\"{RfcTimestamp.FromDateTimeOffset(item.Value.ArchivedAt)}\"}}";
        await writer.WriteLineAsync(json);
    }
}

// Warm-up, then rounds of icestore and `gzip -1` back to back (alternating which goes first). Wall time decides the
// ratio; CPU time (this process, stand-in included, vs gzip's user + system) shows what a loaded machine hides.
await sink.WriteBatchAsync("warmup", items.Take(batchSize).ToList(), CancellationToken.None);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"messages={messages} batch={batchSize} rounds={rounds}"));
var ratios = new List<double>();
for (var round = 1; round <= rounds; round++)
{
    var load = File.ReadAllText("/proc/loadavg")[..14];
    (double Seconds, double Cpu, long Bytes) ice = default, gzip = default;
    foreach (var side in round % 2 == 1 ? new[] { "icestore", "gzip" } : ["gzip", "icestore"])
    {
        if (side == "icestore")
        {
            ice = await ArchiveAsync($"r{round}");
        }
        else
        {
            gzip = await GzipAsync(file);
        }
    }

    ratios.Add(gzip.Seconds / ice.Seconds);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"round {round} (load {load}): icestore {messages / ice.Seconds:N0} msg/s, {ice.Bytes / ice.Seconds / 1e6:F2} compressed MB/s, CPU {ice.Cpu:F2} s ({ice.Bytes} bytes in {ice.Seconds:F2} s); " +
        $"gzip -1 {messages / gzip.Seconds:N0} msg/s, {gzip.Bytes / gzip.Seconds / 1e6:F2} MB/s, CPU {gzip.Cpu:F2} s ({gzip.Bytes} bytes in {gzip.Seconds:F2} s); ratio {gzip.Seconds / ice.Seconds:P0}"));
}

File.Delete(file);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ratio (median of rounds): {ratios.Order().ElementAt(ratios.Count / 2):P0} of gzip -1 (messages/s); target >= 70 %"));

async Task<(double Seconds, double Cpu, long Bytes)> ArchiveAsync(string prefix)
{
    var cpu = Environment.CpuUsage.TotalTime;
    var watch = Stopwatch.StartNew();
    for (var offset = 0; offset < items.Count; offset += batchSize)
    {
        await sink.WriteBatchAsync($"{prefix}/2026/11/21", items.GetRange(offset, Math.Min(batchSize, items.Count - offset)), CancellationToken.None);
    }

    var seconds = watch.Elapsed.TotalSeconds;
    var cpuSeconds = (Environment.CpuUsage.TotalTime - cpu).TotalSeconds;
    long bytes = 0;
    await foreach (var item in storage.ListObjectsAsync("bench-archive", $"bench/{prefix}/"))
    {
        bytes += item.Size ?? 0;
    }

    return (seconds, cpuSeconds, bytes);
}

// gzip -1 -k writes FILE.gz and keeps FILE; process start included, as the archive side includes its uploads.
static async Task<(double Seconds, double Cpu, long Bytes)> GzipAsync(string file)
{
    var times = file + ".time";
    var watch = Stopwatch.StartNew();
    using (var gzip = Process.Start(new ProcessStartInfo("/usr/bin/time", ["-f", "%U %S", "-o", times, "gzip", "-1", "-k", "-f", file]))!)
    {
        await gzip.WaitForExitAsync();
    }

    var seconds = watch.Elapsed.TotalSeconds;
    var cpu = (await File.ReadAllTextAsync(times)).Split(' ', StringSplitOptions.TrimEntries).Sum(t => double.Parse(t, CultureInfo.InvariantCulture));
    var bytes = new FileInfo(file + ".gz").Length;
    File.Delete(file + ".gz");
    File.Delete(times);
    return (seconds, cpu, bytes);
}

internal sealed class NoAck : IAckHandle
{
    public static readonly NoAck Instance = new();

    public ValueTask AckAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask NackAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
