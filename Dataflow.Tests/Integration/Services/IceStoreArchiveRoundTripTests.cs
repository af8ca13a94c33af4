using System.Text;
using System.Text.Json;
using Dataflow.Emulators;
using Dataflow.Google.Storage;
using Dataflow.IceStore;
using Dataflow.Pipeline;
using Dataflow.Pipeline.Envelopes;

namespace Dataflow.Tests.Integration.Services;

/// <summary>What icestore's <see cref="ArchiveSink"/> writes, <see cref="ArchiveReader"/> (the replay's reader) reads back unchanged.</summary>
[Trait("Category", "Integration")]
public sealed class IceStoreArchiveRoundTripTests
{
    private sealed class NoAck : IAckHandle
    {
        public ValueTask AckAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask NackAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }

    [Fact]
    public async Task Every_line_the_archive_sink_writes_is_read_back_with_the_same_id_batch_key_bytes_and_time()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var standIn = await EmulatorHost.StartAsync(new EmulatorOptions(), ct);
        using var http = new HttpClient();
        var storage = StorageClient.Create(new StorageOptions { ProjectId = "round-trip", EmulatorHost = standIn.HostPort }, http);
        await storage.CreateBucketAsync(new StorageBucket { Name = "archives" }, ct);
        var options = new IceStoreOptions { Bucket = "archives", ObjectPrefix = "archive" };
        var archivedAt = new DateTimeOffset(2026, 11, 21, 12, 0, 0, TimeSpan.Zero).AddTicks(1234567);
        var lines = new List<ArchiveLine>
        {
            new("m-0", "2026/11/21/hall-a", EnvelopeCodec.Encode(new Envelope("m-0", """{"device_id":"dev-1","value":1.5}"""u8.ToArray(), new RfcTimestamp(1_795_000_000, 5),
                new Dictionary<string, JsonElement> { ["location"] = Envelope.StringValue("hall-a") })), archivedAt),
            new("m-1", "2026/11/21/hall-a", Encoding.UTF8.GetBytes("not an envelope: ünïcödé \"quoted\"\n"), archivedAt),
            new("m-2", "2026/11/21/hall-a", new byte[] { 0, 255, 10, 13 }, archivedAt),
        };
        // Enough lines to cross the sink's 64 KiB gzip chunk.
        lines.AddRange(Enumerable.Range(3, 2000).Select(i => new ArchiveLine($"m-{i}", "2026/11/21/hall-a", new byte[40], archivedAt)));

        await new ArchiveSink(storage, options).WriteBatchAsync("2026/11/21/hall-a",
            lines.Select(l => new BatchItem<ArchiveLine>(new Message(l.Id, l.OriginalPubSubPayload, new Dictionary<string, string>(), archivedAt, new NoAck()), l)).ToList(), ct);

        var item = Assert.Single(await ListAsync(storage, ct));
        await using var stream = await storage.OpenReadAsync("archives", item.Name!, null, ct);
        var read = new List<ArchiveReadResult>();
        await foreach (var result in ArchiveReader.ReadAsync(stream, ct))
        {
            read.Add(result);
        }

        Assert.Equal(lines.Count, read.Count);
        Assert.All(read, r => Assert.Null(r.Error));
        Assert.Equal(Enumerable.Range(1, lines.Count), read.Select(r => r.LineNumber));
        for (var i = 0; i < lines.Count; i++)
        {
            var message = read[i].Message!;
            Assert.Equal(lines[i].Id, message.Id);
            Assert.Equal(lines[i].BatchKey, message.BatchKey);
            Assert.Equal(lines[i].OriginalPubSubPayload.ToArray(), message.OriginalPubSubPayload.ToArray());
            Assert.Equal(archivedAt, message.ArchivedAt.ToDateTimeOffset());
        }

        Assert.Equal("""{"device_id":"dev-1","value":1.5}""", Encoding.UTF8.GetString(read[0].Message!.DevicePayload.Span));
    }

    private static async Task<List<StorageObject>> ListAsync(StorageClient storage, CancellationToken ct)
    {
        var objects = new List<StorageObject>();
        await foreach (var item in storage.ListObjectsAsync("archives", cancellationToken: ct))
        {
            objects.Add(item);
        }

        return objects;
    }
}
