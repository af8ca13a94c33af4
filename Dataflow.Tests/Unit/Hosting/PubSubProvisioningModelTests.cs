using System.Text.Json;
using Dataflow.Hosting;
using Dataflow.Hosting.ApplicationModel;
using Dataflow.Hosting.Publishing;

namespace Dataflow.Tests.Unit.Hosting;

/// <summary>The Pub/Sub topic/subscription API on the emulator, its provisioning job, and how both appear in the manifest.</summary>
[Trait("Category", "Unit")]
public sealed class PubSubProvisioningModelTests
{
    private static readonly JsonSchemaValidator Schema = new(JsonDocument.Parse(File.ReadAllText(HostingPaths.ManifestSchema)).RootElement);

    private static JsonElement Publish(IDistributedApplicationBuilder builder)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            ManifestPublisher.Write(new DistributedApplicationModel([.. builder.Resources]), writer, "/repo/AppHost");
        }
        return JsonDocument.Parse(stream.ToArray()).RootElement;
    }

    [Fact]
    public void Topics_and_subscriptions_are_declared_on_the_emulator_and_one_provisioning_job_is_added_with_the_first_topic()
    {
        var builder = DistributedApplication.CreateBuilder([]);
        var pubsub = builder.AddPubSubEmulator("pubsub");
        Assert.Null(pubsub.Resource.Provisioning);

        var readings = pubsub.AddTopic("readings");
        var alerts = pubsub.AddTopic("alerts-topic", topicId: "alerts");
        var archive = readings.AddSubscription("archive");

        var job = Assert.Single(builder.Resources.OfType<PubSubProvisioningResource>());
        Assert.Equal("pubsub-provisioning", job.Name);
        Assert.Same(job, pubsub.Resource.Provisioning);
        Assert.Same(job, pubsub.GetProvisioning().Resource);
        Assert.Equal(["readings", "alerts"], pubsub.Resource.Topics.Select(t => t.TopicId));
        Assert.Equal("archive", Assert.Single(readings.Resource.Subscriptions).SubscriptionId);
        Assert.Empty(alerts.Resource.Subscriptions);
        // Topics and subscriptions show as ready only once the job has created them.
        foreach (var resource in new IResource[] { readings.Resource, alerts.Resource, archive.Resource })
        {
            Assert.Contains(resource.Annotations.OfType<WaitAnnotation>(), w => w.Resource == job && w.WaitType == WaitType.WaitForCompletion);
        }
    }

    [Theory]
    [InlineData("ab")]
    [InlineData("1topic")]
    [InlineData("google-topic")]
    [InlineData("has space")]
    public void An_invalid_pubsub_id_fails_at_declaration_naming_the_id(string topicId)
    {
        var pubsub = DistributedApplication.CreateBuilder([]).AddPubSubEmulator("pubsub");

        var error = Assert.Throws<ArgumentException>(() => pubsub.AddTopic("topic", topicId));

        Assert.Contains($"'{topicId}' is not a valid Pub/Sub topic id", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_same_topic_or_subscription_id_cannot_be_declared_twice()
    {
        var pubsub = DistributedApplication.CreateBuilder([]).AddPubSubEmulator("pubsub");
        var topic = pubsub.AddTopic("readings");
        topic.AddSubscription("archive");

        Assert.Contains("'readings' is already declared", Assert.Throws<InvalidOperationException>(() => pubsub.AddTopic("other", "readings")).Message,
            StringComparison.Ordinal);
        Assert.Contains("'archive' is already declared",
            Assert.Throws<InvalidOperationException>(() => pubsub.AddTopic("more").AddSubscription("archive-2", "archive")).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(4)]
    [InlineData(101)]
    public void A_dead_letter_policy_outside_pubsubs_5_to_100_delivery_attempts_is_refused(int attempts)
    {
        var pubsub = DistributedApplication.CreateBuilder([]).AddPubSubEmulator("pubsub");
        var deadLetters = pubsub.AddTopic("dead-letters");

        Assert.Throws<ArgumentOutOfRangeException>(() => pubsub.AddTopic("readings")
            .AddSubscription("archive", settings: new PubSubSubscriptionSettings(DeadLetterTopic: deadLetters.Resource, MaxDeliveryAttempts: attempts)));
    }

    [Fact]
    public void A_subscription_cannot_dead_letter_into_its_own_topic()
    {
        var pubsub = DistributedApplication.CreateBuilder([]).AddPubSubEmulator("pubsub");
        var readings = pubsub.AddTopic("readings");

        var error = Assert.Throws<ArgumentException>(() => readings.AddSubscription("archive", settings: new PubSubSubscriptionSettings(DeadLetterTopic: readings.Resource)));

        Assert.Contains("its own topic", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_manifest_describes_topics_and_subscriptions_for_the_platform_and_leaves_out_the_local_jobs()
    {
        var builder = DistributedApplication.CreateBuilder(["--publisher", "manifest"]);
        var pubsub = builder.AddPubSubEmulator("pubsub");
        var readings = pubsub.AddTopic("readings");
        var deadLetters = pubsub.AddTopic("dead-letter-topic", "dead-letters");
        readings.AddSubscription("archive", settings: new PubSubSubscriptionSettings(30, deadLetters.Resource, 7));
        deadLetters.AddSubscription("dead-letter-subscription");
        builder.AddFirestoreEmulator("firestore").AddDocuments("devices-seed", "devices",
            new Dictionary<string, IReadOnlyDictionary<string, string>> { ["dev-1"] = new Dictionary<string, string> { ["name"] = "a" } });

        var manifest = Publish(builder);

        Assert.Empty(Schema.Validate(manifest));
        var resources = manifest.GetProperty("resources");
        Assert.False(resources.TryGetProperty("pubsub-provisioning", out _));
        Assert.False(resources.TryGetProperty("devices-seed", out _));
        Assert.Equal("""{"type":"gcp.pubsub.topic.v0","topic":"readings"}""", resources.GetProperty("readings").GetRawText());
        Assert.Equal("""{"type":"gcp.pubsub.topic.v0","topic":"dead-letters"}""", resources.GetProperty("dead-letter-topic").GetRawText());
        Assert.Equal(
            """{"type":"gcp.pubsub.subscription.v0","subscription":"archive","topic":"readings","ackDeadlineSeconds":30,"deadLetterPolicy":{"deadLetterTopic":"dead-letters","maxDeliveryAttempts":7}}""",
            resources.GetProperty("archive").GetRawText());
        Assert.Equal("""{"type":"gcp.pubsub.subscription.v0","subscription":"dead-letter-subscription","topic":"dead-letters","ackDeadlineSeconds":60}""",
            resources.GetProperty("dead-letter-subscription").GetRawText());
    }

    [Fact]
    public void Seeded_documents_need_a_collection_id_and_document_ids_without_slashes()
    {
        var firestore = DistributedApplication.CreateBuilder([]).AddFirestoreEmulator("firestore");
        var document = new Dictionary<string, string> { ["name"] = "a" };

        Assert.Throws<ArgumentException>(() => firestore.AddDocuments("seed", "devices/x", new Dictionary<string, IReadOnlyDictionary<string, string>> { ["d"] = document }));
        Assert.Throws<ArgumentException>(() => firestore.AddDocuments("seed", "devices", new Dictionary<string, IReadOnlyDictionary<string, string>> { ["a/b"] = document }));
    }
}
