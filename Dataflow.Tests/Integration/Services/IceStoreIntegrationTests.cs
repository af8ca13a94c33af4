using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Dataflow.Emulators;
using Dataflow.Google.PubSub;
using Dataflow.Google.Storage;
using Dataflow.Pipeline.Envelopes;
using Dataflow.Tests.Infrastructure;
using Microsoft.Extensions.Hosting;

namespace Dataflow.Tests.Integration.Services;

[Trait("Category", "Integration")]
public sealed class IceStoreIntegrationTests(SharedServers servers)
{
    [Fact]
    public async Task Seven_messages_with_batch_size_five_become_two_archives_with_every_line()
    {
        var ct = TestContext.Current.CancellationToken;
        var emulator = await servers.GetPubSubAsync();
        using var pubSub = PubSubTestProject.Create(emulator.HostPort);
        var topic = PubSubTestProject.RunId("icestore-in");
        await pubSub.CreateTopicWithSubscriptionAsync(topic, topic + "-sub", ct);
        await using var storageStandIn = await EmulatorHost.StartAsync(new EmulatorOptions(), ct);
        using var http = new HttpClient();
        var storage = StorageClient.Create(new StorageOptions { ProjectId = pubSub.ProjectId, EmulatorHost = storageStandIn.HostPort }, http);
        var bucket = PubSubTestProject.RunId("icestore-bucket");

        var service = await ServiceTestHost.StartAsync(new Dictionary<string, string?>
        {
            ["IceStore:Subscription"] = topic + "-sub",
            ["IceStore:Bucket"] = bucket,
            ["IceStore:ObjectPrefix"] = "archive",
            ["IceStore:Batching:BatchSize"] = "5",
            ["IceStore:Batching:FlushInterval"] = "01:00:00",
            ["Google:PubSub:ProjectId"] = pubSub.ProjectId,
            ["Google:PubSub:EmulatorHost"] = emulator.HostPort,
            ["Google:Storage:ProjectId"] = pubSub.ProjectId,
            ["Google:Storage:EmulatorHost"] = storageStandIn.HostPort,
        }, b => b.AddIceStore(), ct);
        await using (service)
        {
            await service.WaitUntilReadyAsync(ct);
            var sent = new List<string>();
            for (var i = 0; i < 7; i++)
            {
                var envelope = new Envelope($"msg-{i}", Encoding.UTF8.GetBytes($"{{\"value\":{i}}}"), new RfcTimestamp(1_795_000_000 + i, 0),
                    new Dictionary<string, JsonElement> { ["location"] = Envelope.StringValue("hall-a") });
                var data = EnvelopeCodec.Encode(envelope);
                sent.Add(Convert.ToBase64String(data));
                await pubSub.Client.PublishAsync(topic, [new PubSubMessage { Data = data, Attributes = new Dictionary<string, string> { ["test_publish_time"] = "2026-11-21T10:00:00Z" } }], ct);
            }

            // The full batch of 5 is written while running; the remaining 2 only by the shutdown flush.
            await WaitForObjectsAsync(storage, bucket, 1, ct);
            await service.StopAsync();

            var objects = await ListAsync(storage, bucket, ct);
            Assert.Equal(2, objects.Count);
            var lines = new List<JsonElement>();
            var perObject = new List<int>();
            foreach (var item in objects)
            {
                Assert.Matches("^archive/2026/11/21/hall-a/[0-9a-f-]{36}\\.jsonl\\.gz$", item.Name);
                Assert.Equal("application/gzip", item.ContentType);
                var bytes = await storage.DownloadBytesAsync(bucket, item.Name!, ct);
                using var gunzip = new StreamReader(new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress));
                var objectLines = (await gunzip.ReadToEndAsync(ct)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
                perObject.Add(objectLines.Length);
                lines.AddRange(objectLines.Select(l => JsonDocument.Parse(l).RootElement.Clone()));
            }

            Assert.Equal([2, 5], perObject.Order());
            Assert.Equal(7, lines.Count);
            Assert.All(lines, l => Assert.Equal("2026/11/21/hall-a", l.GetProperty("batchKey").GetString()));
            Assert.All(lines, l => Assert.True(RfcTimestamp.TryParse(l.GetProperty("archivedAt").GetString(), out _)));
            Assert.Equal(sent.Order(), lines.Select(l => l.GetProperty("originalPubSubPayload").GetString()!).Order());
            Assert.Equal(7, lines.Select(l => l.GetProperty("id").GetString()).Distinct().Count());
            Assert.Equal(0, await pubSub.DrainAsync(topic + "-sub", TimeSpan.FromSeconds(2), ct));
        }
    }

    private static async Task<List<StorageObject>> ListAsync(StorageClient storage, string bucket, CancellationToken ct)
    {
        var objects = new List<StorageObject>();
        await foreach (var item in storage.ListObjectsAsync(bucket, "archive/", cancellationToken: ct))
        {
            objects.Add(item);
        }

        return objects;
    }

    private static async Task WaitForObjectsAsync(StorageClient storage, string bucket, int count, CancellationToken ct)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(TimeSpan.FromSeconds(60));
        while ((await ListAsync(storage, bucket, limit.Token)).Count < count)
        {
            await Task.Delay(100, limit.Token);
        }
    }
}
