using System.Net;
using Dataflow.Google.Core;
using Dataflow.Google.Storage;
using Dataflow.Redis;
using Dataflow.Tests.Infrastructure;

namespace Dataflow.Tests.E2E.DataflowScenarios;

/// <summary>The suite leaves nothing behind: what a run created is gone after its teardown.</summary>
[Trait("Category", "E2E")]
public sealed class TeardownTests(SharedServers servers)
{
    [Fact]
    public async Task Teardown_deletes_the_topics_subscriptions_bucket_with_objects_dataset_documents_and_Redis_keys_of_the_run()
    {
        var ct = TestContext.Current.CancellationToken;
        var redis = await servers.GetRedisAsync();
        await using var run = await DataflowRun.StartAsync(servers, firestore: true, ct);
        var topic = await run.CreateTopicAsync("ingestion-topic", ct);
        var subscription = await run.CreateSubscriptionAsync(topic, "verify", ct);
        Assert.Equal($"ingestion-topic-{run.RunId}", topic);
        var bucket = run.Bucket("archive");
        await run.Storage.CreateBucketAsync(new StorageBucket { Name = bucket }, ct);
        await run.Storage.UploadAsync(bucket, "archive/2026/11/21/a.jsonl.gz", new byte[] { 1, 2, 3 }, null, ct);
        var dataset = run.Dataset("telemetry");
        await run.BigQuery.CreateDatasetAsync(dataset, null, ct);
        var collection = await run.SeedDevicesAsync(new Dictionary<string, Dictionary<string, object?>> { ["dev-1"] = new() { ["ClientID"] = "Boiler" } }, ct);
        var prefix = run.RedisPrefix(redis);
        await using var client = await RedisClient.ConnectAsync(redis.ConnectionString, ct);
        await client.SetAsync(prefix + "dev-1", "{}", cancellationToken: ct);

        await run.TearDownAsync();

        await AssertGoneAsync(() => run.PubSub.GetTopicAsync(topic, ct));
        await AssertGoneAsync(() => run.PubSub.GetSubscriptionAsync(subscription, ct));
        await AssertGoneAsync(() => run.Storage.GetBucketAsync(bucket, ct));
        await AssertGoneAsync(() => run.BigQuery.GetDatasetAsync(dataset, ct));
        Assert.Null(await run.Firestore!.GetDocumentAsync($"{collection}/dev-1", ct));
        Assert.Empty(await DataflowRun.RedisKeysAsync(client, prefix, ct));
    }

    private static async Task AssertGoneAsync(Func<Task> get)
    {
        var error = await Assert.ThrowsAsync<GoogleApiException>(get);
        Assert.Equal(HttpStatusCode.NotFound, error.HttpStatus);
    }
}
