using System.Text;
using Dataflow.BigQueries;
using Dataflow.Emulators;
using Dataflow.Google.BigQuery;
using Dataflow.Google.PubSub;
using Dataflow.Pipeline;
using Dataflow.Pipeline.Envelopes;
using Dataflow.Pipeline.PubSub;
using Dataflow.Tests.Infrastructure;
using Microsoft.Extensions.Hosting;

namespace Dataflow.Tests.Integration.Services;

[Trait("Category", "Integration")]
public sealed class BigQueriesIntegrationTests(SharedServers servers)
{
    private sealed class NoAck : IAckHandle
    {
        public ValueTask AckAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask NackAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }

    [Fact]
    public async Task Rows_are_inserted_and_a_bad_row_is_dead_lettered_without_failing_the_good_ones()
    {
        var ct = TestContext.Current.CancellationToken;
        var emulator = await servers.GetPubSubAsync();
        using var pubSub = PubSubTestProject.Create(emulator.HostPort);
        var input = PubSubTestProject.RunId("bq-in");
        var deadLetter = PubSubTestProject.RunId("bq-dead");
        await pubSub.CreateTopicWithSubscriptionAsync(input, input + "-sub", ct);
        await pubSub.CreateTopicWithSubscriptionAsync(deadLetter, deadLetter + "-sub", ct);
        await using var standIn = await EmulatorHost.StartAsync(new EmulatorOptions(), ct);
        using var http = new HttpClient();
        var bigQuery = BigQueryClient.Create(new BigQueryOptions { ProjectId = pubSub.ProjectId, EmulatorHost = standIn.HostPort }, http);

        var service = await ServiceTestHost.StartAsync(new Dictionary<string, string?>
        {
            ["BigQueries:Subscription"] = input + "-sub",
            ["BigQueries:Dataset"] = "telemetry",
            ["BigQueries:Table"] = "readings",
            ["BigQueries:DeadLetterTopic"] = deadLetter,
            ["BigQueries:Batching:BatchSize"] = "4",
            ["BigQueries:Batching:FlushInterval"] = "00:00:01",
            ["Google:PubSub:ProjectId"] = pubSub.ProjectId,
            ["Google:PubSub:EmulatorHost"] = emulator.HostPort,
            ["Google:BigQuery:ProjectId"] = pubSub.ProjectId,
            ["Google:BigQuery:EmulatorHost"] = standIn.HostPort,
        }, b => b.AddBigQueries(), ct);
        await using (service)
        {
            await service.WaitUntilReadyAsync(ct);
            for (var i = 0; i < 3; i++)
            {
                await PublishAsync(pubSub, input, $$"""{"device_id":"dev-{{i}}","timestamp":"2026-11-21T12:00:0{{i}}Z","value":{{i}}.5}""", ct);
            }

            await PublishAsync(pubSub, input, """{"timestamp":"2026-11-21T12:00:09Z","value":9}""", ct);

            var dead = Assert.Single(await pubSub.PullAsync(deadLetter + "-sub", 1, ct));
            Assert.True(EnvelopeCodec.TryDecode(dead.Data.Span, out var deadEnvelope));
            Assert.Equal("""{"timestamp":"2026-11-21T12:00:09Z","value":9}""", Encoding.UTF8.GetString(deadEnvelope.Payload.Span));
            Assert.False(string.IsNullOrEmpty(dead.Attributes![PubSubDeadLetterSink.ReasonAttribute]));

            var rows = await ReadRowsAsync(bigQuery, 3, ct);
            Assert.Equal(["dev-0", "dev-1", "dev-2"], rows.Select(r => r.DeviceId).Order());
            Assert.Equal(2.5, rows.Single(r => r.DeviceId == "dev-2").Value);
            Assert.Equal("devices/x/up", rows[0].MqttTopic);
            Assert.Equal(0, await pubSub.DrainAsync(input + "-sub", TimeSpan.FromSeconds(2), ct));
        }
    }

    [Fact]
    public async Task Writing_the_same_messages_again_does_not_duplicate_rows()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var standIn = await EmulatorHost.StartAsync(new EmulatorOptions(), ct);
        using var http = new HttpClient();
        var bigQuery = BigQueryClient.Create(new BigQueryOptions { ProjectId = "redelivery-test", EmulatorHost = standIn.HostPort }, http);
        await bigQuery.CreateDatasetAsync("telemetry", null, ct);
        await bigQuery.CreateTableAsync<TelemetryRow>("telemetry", "readings", ct);
        var sink = new BigQueryRowSink<TelemetryRow>(bigQuery, "telemetry", "readings");
        var items = Enumerable.Range(0, 3).Select(i => new BatchItem<TelemetryRow>(
            new Message($"pubsub-{i}", Array.Empty<byte>(), new Dictionary<string, string>(), DateTimeOffset.UnixEpoch, new NoAck()),
            new TelemetryRow { MessageId = $"m-{i}", DeviceId = $"dev-{i}", PublishTime = DateTimeOffset.UnixEpoch })).ToList();

        Assert.Empty((await sink.WriteBatchAsync("", items, ct)).Failures);
        Assert.Empty((await sink.WriteBatchAsync("", items, ct)).Failures);

        var rows = await ReadRowsAsync(bigQuery, 3, ct);
        Assert.Equal(3, rows.Count);
    }

    private static async Task PublishAsync(PubSubTestProject pubSub, string topic, string payload, CancellationToken ct)
    {
        var envelope = new Envelope(Guid.NewGuid().ToString("N"), Encoding.UTF8.GetBytes(payload), new RfcTimestamp(1_795_000_000, 0));
        await pubSub.Client.PublishAsync(topic, [new PubSubMessage { Data = EnvelopeCodec.Encode(envelope), Attributes = new Dictionary<string, string> { ["mqtt_topic"] = "devices/x/up" } }], ct);
    }

    private static async Task<List<TelemetryRow>> ReadRowsAsync(BigQueryClient bigQuery, int atLeast, CancellationToken ct)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(TimeSpan.FromSeconds(30));
        while (true)
        {
            var rows = new List<TelemetryRow>();
            await foreach (var row in bigQuery.ListRowsAsync<TelemetryRow>("telemetry", "readings", cancellationToken: limit.Token))
            {
                rows.Add(row);
            }

            if (rows.Count >= atLeast)
            {
                return rows;
            }

            await Task.Delay(100, limit.Token);
        }
    }
}
