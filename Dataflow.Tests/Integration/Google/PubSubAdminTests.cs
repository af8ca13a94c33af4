using System.Net;
using Dataflow.Google.Core;
using Dataflow.Google.PubSub;
using Dataflow.Tests.Infrastructure;

namespace Dataflow.Tests.Integration.Google;

[Trait("Category", "Integration")]
public sealed class PubSubAdminTests(SharedServers servers)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Topic_is_created_with_settings_read_back_and_deleted()
    {
        var client = GoogleTestClients.PubSub((await servers.GetPubSubAsync()).HostPort);

        var created = await client.CreateTopicAsync("orders", new PubSubTopic
        {
            Labels = new Dictionary<string, string> { ["team"] = "dataflow" },
            MessageRetentionDuration = TimeSpan.FromHours(2),
        }, Ct);
        var fetched = await client.GetTopicAsync("orders", Ct);
        await client.DeleteTopicAsync("orders", Ct);
        var missing = await Assert.ThrowsAsync<GoogleApiException>(() => client.GetTopicAsync("orders", Ct));

        Assert.Equal($"projects/{client.ProjectId}/topics/orders", created.Name);
        Assert.Equal(created, fetched with { Labels = created.Labels });
        Assert.Equal("dataflow", fetched.Labels!["team"]);
        Assert.Equal(TimeSpan.FromHours(2), fetched.MessageRetentionDuration);
        Assert.Equal(HttpStatusCode.NotFound, missing.HttpStatus);
        Assert.Equal("NOT_FOUND", missing.Status);
    }

    [Fact]
    public async Task Creating_an_existing_topic_fails_with_already_exists()
    {
        var client = GoogleTestClients.PubSub((await servers.GetPubSubAsync()).HostPort);
        await client.CreateTopicAsync("dup", Ct);

        var error = await Assert.ThrowsAsync<GoogleApiException>(() => client.CreateTopicAsync("dup", Ct));

        Assert.Equal("ALREADY_EXISTS", error.Status);
        Assert.Equal(HttpStatusCode.Conflict, error.HttpStatus);
    }

    [Fact]
    public async Task Listing_topics_pages_through_all_of_them()
    {
        var client = GoogleTestClients.PubSub((await servers.GetPubSubAsync()).HostPort);
        string[] names = ["t-a", "t-b", "t-c", "t-d", "t-e"];
        foreach (var name in names)
        {
            await client.CreateTopicAsync(name, Ct);
        }

        var first = await client.ListTopicsPageAsync(2, null, Ct);
        var all = new List<string>();
        await foreach (var topic in client.ListTopicsAsync(pageSize: 2, Ct))
        {
            all.Add(topic.Name!);
        }

        Assert.Equal(2, first.Items.Count);
        Assert.NotNull(first.NextPageToken);
        Assert.Equal(names.Select(client.TopicName).Order(), all.Order());
    }

    [Fact]
    public async Task Subscription_is_created_with_every_policy_and_read_back()
    {
        var client = GoogleTestClients.PubSub((await servers.GetPubSubAsync()).HostPort);
        await client.CreateTopicAsync("events", Ct);
        await client.CreateTopicAsync("events-dead", Ct);

        await client.CreateSubscriptionAsync("events-sub", "events", new PubSubSubscription
        {
            AckDeadlineSeconds = 30,
            MessageRetentionDuration = TimeSpan.FromMinutes(20),
            RetainAckedMessages = true,
            EnableMessageOrdering = true,
            Filter = "attributes.route_name = \"uplinks\"",
            DeadLetterPolicy = new PubSubDeadLetterPolicy(client.TopicName("events-dead"), 5),
            RetryPolicy = new PubSubRetryPolicy(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30)),
            Labels = new Dictionary<string, string> { ["env"] = "test" },
        }, Ct);
        var subscription = await client.GetSubscriptionAsync("events-sub", Ct);

        Assert.Equal(client.TopicName("events"), subscription.Topic);
        Assert.Equal(30, subscription.AckDeadlineSeconds);
        Assert.Equal(TimeSpan.FromMinutes(20), subscription.MessageRetentionDuration);
        Assert.True(subscription.RetainAckedMessages);
        Assert.True(subscription.EnableMessageOrdering);
        Assert.Equal("attributes.route_name = \"uplinks\"", subscription.Filter);
        Assert.Equal(new PubSubDeadLetterPolicy(client.TopicName("events-dead"), 5), subscription.DeadLetterPolicy);
        Assert.Equal(new PubSubRetryPolicy(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30)), subscription.RetryPolicy);
        Assert.Equal("test", subscription.Labels!["env"]);
    }

    [Fact]
    public async Task Subscriptions_are_listed_per_project_and_per_topic_and_deleted()
    {
        var client = GoogleTestClients.PubSub((await servers.GetPubSubAsync()).HostPort);
        await client.CreateTopicAsync("topic-1", Ct);
        await client.CreateSubscriptionAsync("sub-one", "topic-1", null, Ct);
        await client.CreateSubscriptionAsync("sub-two", "topic-1", new PubSubSubscription { AckDeadlineSeconds = 15 }, Ct);

        var listed = new List<PubSubSubscription>();
        await foreach (var s in client.ListSubscriptionsAsync(pageSize: 1, Ct))
        {
            listed.Add(s);
        }

        var ofTopic = await client.ListTopicSubscriptionsPageAsync("topic-1", 10, null, Ct);
        await client.DeleteSubscriptionAsync("sub-one", Ct);
        var afterDelete = await client.ListSubscriptionsPageAsync(10, null, Ct);

        Assert.Equal([client.SubscriptionName("sub-one"), client.SubscriptionName("sub-two")], listed.Select(s => s.Name!).Order());
        Assert.Equal([client.SubscriptionName("sub-one"), client.SubscriptionName("sub-two")], ofTopic.Items.Order());
        Assert.Equal(client.SubscriptionName("sub-two"), Assert.Single(afterDelete.Items).Name);
    }

    [Fact]
    public async Task Subscription_to_a_missing_topic_is_rejected_with_not_found()
    {
        var client = GoogleTestClients.PubSub((await servers.GetPubSubAsync()).HostPort);

        var error = await Assert.ThrowsAsync<GoogleApiException>(() => client.CreateSubscriptionAsync("sub-orphan", "no-such-topic", null, Ct));

        Assert.Equal("NOT_FOUND", error.Status);
    }
}
