using Dataflow.Google.Core;
using Dataflow.Google.PubSub;

namespace Dataflow.Tests.Integration.Google;

/// <summary>Retries against a real loopback HTTP server that answers 503 on purpose.</summary>
[Trait("Category", "Integration")]
public sealed class TransientFailureTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Publish_answered_with_503_twice_is_retried_and_returns_the_id()
    {
        await using var server = await MisbehavingServer.StartAsync((context, n) => n <= 2
            ? MisbehavingServer.UnavailableAsync(context)
            : MisbehavingServer.JsonAsync(context, """{"messageIds":["42"]}"""));
        var client = GoogleTestClients.PubSub(server.HostPort, "proj");
        await using var publisher = client.CreatePublisher("topic");

        var id = await publisher.PublishAsync(new PubSubMessage { Data = "hello"u8.ToArray() }, Ct);

        Assert.Equal("42", id);
        Assert.Equal(3, server.Requests);
    }

    [Fact]
    public async Task Persistent_503_surfaces_as_unavailable_after_the_configured_attempts()
    {
        await using var server = await MisbehavingServer.StartAsync((context, _) => MisbehavingServer.UnavailableAsync(context));
        var client = GoogleTestClients.PubSub(server.HostPort, "proj");

        var error = await Assert.ThrowsAsync<GoogleApiException>(() => client.GetTopicAsync("topic", Ct));

        Assert.Equal("UNAVAILABLE", error.Status);
        Assert.Equal("The service is currently unavailable.", error.ErrorMessage);
        Assert.Equal(GoogleTestClients.FastRetry.MaxAttempts, server.Requests);
    }

    [Fact]
    public async Task Subscriber_keeps_pulling_through_an_outage_longer_than_one_request_retry()
    {
        // Ten 503s exceed a single request's four attempts: the pull loop itself must carry on.
        await using var server = await MisbehavingServer.StartAsync((context, n) =>
        {
            if (n <= 10)
            {
                return MisbehavingServer.UnavailableAsync(context);
            }

            return context.Request.Path.Value!.EndsWith(":pull", StringComparison.Ordinal) && n == 11
                ? MisbehavingServer.JsonAsync(context, """{"receivedMessages":[{"ackId":"a1","message":{"data":"aGk=","messageId":"7","publishTime":"2024-01-01T00:00:00.123456789Z"}}]}""")
                : MisbehavingServer.JsonAsync(context, "{}");
        });
        var client = GoogleTestClients.PubSub(server.HostPort, "proj");
        await using var subscriber = client.CreateSubscriber("sub", new SubscriberSettings { ConcurrentPulls = 1 });

        subscriber.Start();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        var message = await subscriber.Messages.ReadAsync(timeout.Token);
        await message.AckAsync(Ct);

        Assert.Equal("7", message.Message.MessageId);
        Assert.Equal("hi"u8.ToArray(), message.Message.Data.ToArray());
        Assert.False(subscriber.Completion.IsCompleted);
    }
}
