// icestore archive throughput vs `gzip -1` on the same JSON lines, measured in one run.
// Usage: dotnet run -c Release --project benchmarks/Dataflow.Pipeline.Benchmarks -- [messages=20000] [batch=1000]
using System.Diagnostics;
using System.Globalization;
using Dataflow.Emulators;
using Dataflow.Google.Storage;
using Dataflow.IceStore;
using Dataflow.Pipeline;
using Dataflow.Pipeline.Envelopes;

var messages = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 20_000;
var batchSize = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1_000;

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

// Warm-up, then the measured run.
await sink.WriteBatchAsync("warmup", items.Take(batchSize).ToList(), CancellationToken.None);
var watch = Stopwatch.StartNew();
for (var offset = 0; offset < items.Count; offset += batchSize)
{
    await sink.WriteBatchAsync("2026/11/21", items.Skip(offset).Take(batchSize).ToList(), CancellationToken.None);
}

var archiveSeconds = watch.Elapsed.TotalSeconds;
long compressed = 0;
await foreach (var item in storage.ListObjectsAsync("bench-archive", "bench/2026/"))
{
    compressed += item.Size ?? 0;
}

// The same JSON lines, written out uncompressed, through `gzip -1`.
var file = Path.Combine(Path.GetTempPath(), $"icestore-bench-{Guid.NewGuid():N}.jsonl");
await using (var writer = new StreamWriter(file))
{
    foreach (var item in items)
    {
        var json = $"{{\"id\":\"{item.Value.Id}\",\"batchKey\":\"{item.Value.BatchKey}\",\"originalPubSubPayload\":\"{Convert.ToBase64String(item.Value.OriginalPubSubPayload.Span)}\",\"archivedAt\":\"{RfcTimestamp.FromDateTimeOffset(item.Value.ArchivedAt)}\"}}";
        await writer.WriteLineAsync(json);
    }
}

var gzipWatch = Stopwatch.StartNew();
using (var gzip = Process.Start(new ProcessStartInfo("sh", ["-c", $"gzip -1 -c '{file}' > '{file}.gz'"]))!)
{
    await gzip.WaitForExitAsync();
}

var gzipSeconds = gzipWatch.Elapsed.TotalSeconds;
var gzipBytes = new FileInfo(file + ".gz").Length;
File.Delete(file);
File.Delete(file + ".gz");

Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"messages={messages} batch={batchSize}"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"icestore: {messages / archiveSeconds:F0} msg/s, {compressed / archiveSeconds / 1e6:F2} compressed MB/s ({compressed} bytes in {archiveSeconds:F2} s)"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"gzip -1 : {messages / gzipSeconds:F0} msg/s, {gzipBytes / gzipSeconds / 1e6:F2} compressed MB/s ({gzipBytes} bytes in {gzipSeconds:F2} s)"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ratio   : {gzipSeconds / archiveSeconds:P0} of gzip -1 (messages/s)"));

internal sealed class NoAck : IAckHandle
{
    public static readonly NoAck Instance = new();

    public ValueTask AckAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask NackAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
