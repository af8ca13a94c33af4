using System.Collections.Concurrent;
using System.Text;
using Dataflow.Google.PubSub;
using Dataflow.Tests.Infrastructure;

namespace Dataflow.Tests.Integration.Google;

[Trait("Category", "Integration")]
public sealed class PubSubMessagingTests(SharedServers servers)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<PubSubClient> ClientWithTopicAsync(PubSubSubscription? subscription = null)
    {
        var client = GoogleTestClients.PubSub((await servers.GetPubSubAsync()).HostPort);
        await client.CreateTopicAsync("topic", Ct);
        await client.CreateSubscriptionAsync("sub", "topic", subscription, Ct);
        return client;
    }

    private static async Task<PubSubReceivedMessage> ReadAsync(PubSubSubscriber subscriber)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        return await subscriber.Messages.ReadAsync(timeout.Token);
    }

    private static PubSubMessage Text(string text, string? key = null, Dictionary<string, string>? attributes = null) =>
        new() { Data = Encoding.UTF8.GetBytes(text), OrderingKey = key, Attributes = attributes };

    [Fact]
    public async Task Published_messages_are_received_with_ids_data_and_attributes_and_acked_once()
    {
        var client = await ClientWithTopicAsync();
        const int count = 300;
        string[] ids;
        await using (var publisher = client.CreatePublisher("topic", new PublisherSettings { MaxMessagesPerBatch = 50 }))
        {
            ids = await Task.WhenAll(Enumerable.Range(0, count).Select(i =>
                publisher.PublishAsync(Text($"payload-{i}", attributes: new() { ["n"] = i.ToString(System.Globalization.CultureInfo.InvariantCulture) }), Ct)));
        }

        var received = new ConcurrentDictionary<string, PubSubMessage>();
        var all = new TaskCompletionSource();
        await using var subscriber = client.CreateSubscriber("sub", new SubscriberSettings { ConcurrentPulls = 2, MaxMessagesPerPull = 100 });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var run = subscriber.RunAsync((message, _) =>
        {
            received[message.Message.MessageId!] = message.Message;
            if (received.Count == count)
            {
                all.TrySetResult();
            }

            return Task.FromResult(AckReply.Ack);
        }, maxConcurrentHandlers: 4, stop.Token);
        await all.Task.WaitAsync(TimeSpan.FromSeconds(60), Ct);
        await stop.CancelAsync();
        await run;

        Assert.Equal(ids.Order(), received.Keys.Order());
        foreach (var message in received.Values)
        {
            var n = message.Attributes!["n"];
            Assert.Equal($"payload-{n}", Encoding.UTF8.GetString(message.Data.Span));
            Assert.NotNull(message.PublishTime);
        }

        var leftOver = await client.PullAsync("sub", 10, Ct, returnImmediately: true);
        Assert.Empty(leftOver);
    }

    [Fact]
    public async Task Nacked_message_is_redelivered()
    {
        var client = await ClientWithTopicAsync();
        await using var publisher = client.CreatePublisher("topic");
        var id = await publisher.PublishAsync(Text("retry me"), Ct);
        await using var subscriber = client.CreateSubscriber("sub");
        subscriber.Start();

        var first = await ReadAsync(subscriber);
        await first.NackAsync(Ct);
        var second = await ReadAsync(subscriber);
        await second.AckAsync(Ct);

        Assert.Equal(id, first.Message.MessageId);
        Assert.Equal(id, second.Message.MessageId);
        Assert.NotEqual(first.AckId, second.AckId);
    }

    [Fact]
    public async Task Lease_is_extended_past_the_ack_deadline_while_a_slow_handler_runs()
    {
        var client = await ClientWithTopicAsync(new PubSubSubscription { AckDeadlineSeconds = 10 });
        await using var publisher = client.CreatePublisher("topic");
        var id = await publisher.PublishAsync(Text("slow"), Ct);
        var deliveries = new ConcurrentQueue<string>();
        var handled = new TaskCompletionSource();
        await using var subscriber = client.CreateSubscriber("sub", new SubscriberSettings { LeaseDeadline = TimeSpan.FromSeconds(10) });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);

        var run = subscriber.RunAsync(async (message, token) =>
        {
            deliveries.Enqueue(message.Message.MessageId!);
            // Two and a half ack deadlines: without renewals the emulator redelivers meanwhile.
            await Task.Delay(TimeSpan.FromSeconds(25), token);
            handled.TrySetResult();
            return AckReply.Ack;
        }, maxConcurrentHandlers: 2, stop.Token);
        await handled.Task.WaitAsync(TimeSpan.FromSeconds(90), Ct);
        await stop.CancelAsync();
        await run;

        Assert.Equal([id], deliveries);
        Assert.Empty(await client.PullAsync("sub", 10, Ct, returnImmediately: true));
    }

    [Fact]
    public async Task Flow_control_stops_pulling_at_the_outstanding_limit_until_messages_are_settled()
    {
        var client = await ClientWithTopicAsync();
        await using (var publisher = client.CreatePublisher("topic"))
        {
            await Task.WhenAll(Enumerable.Range(0, 12).Select(i => publisher.PublishAsync(Text($"m{i}"), Ct)));
        }

        await using var subscriber = client.CreateSubscriber("sub", new SubscriberSettings { MaxOutstandingMessages = 5, ConcurrentPulls = 3 });
        subscriber.Start();
        var held = new List<PubSubReceivedMessage>();
        for (var i = 0; i < 5; i++)
        {
            held.Add(await ReadAsync(subscriber));
        }

        await Task.Delay(TimeSpan.FromSeconds(2), Ct);
        Assert.False(subscriber.Messages.TryRead(out _));
        Assert.Equal(5, subscriber.OutstandingCount);

        await held[0].AckAsync(Ct);
        held.Add(await ReadAsync(subscriber));
        Assert.True(subscriber.OutstandingCount <= 5);
        foreach (var message in held)
        {
            await message.AckAsync(Ct);
        }
    }

    [Fact]
    public async Task Messages_with_an_ordering_key_arrive_in_publish_order()
    {
        var client = await ClientWithTopicAsync(new PubSubSubscription { EnableMessageOrdering = true });
        await using (var publisher = client.CreatePublisher("topic", new PublisherSettings { MaxMessagesPerBatch = 7 }))
        {
            await Task.WhenAll(Enumerable.Range(0, 40).Select(i => publisher.PublishAsync(Text(i.ToString(System.Globalization.CultureInfo.InvariantCulture), key: "device-1"), Ct)));
        }

        await using var subscriber = client.CreateSubscriber("sub");
        subscriber.Start();
        var order = new List<int>();
        while (order.Count < 40)
        {
            var message = await ReadAsync(subscriber);
            order.Add(int.Parse(Encoding.UTF8.GetString(message.Message.Data.Span), System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal("device-1", message.Message.OrderingKey);
            await message.AckAsync(Ct);
        }

        Assert.Equal(Enumerable.Range(0, 40), order);
    }

    [Fact]
    public async Task Stop_lets_the_in_flight_handler_finish_and_flushes_its_ack_and_nacks_the_unhandled_rest()
    {
        var client = await ClientWithTopicAsync(new PubSubSubscription { AckDeadlineSeconds = 60 });
        await using (var publisher = client.CreatePublisher("topic"))
        {
            await Task.WhenAll(Enumerable.Range(0, 3).Select(i => publisher.PublishAsync(Text($"m{i}"), Ct)));
        }

        var subscriber = client.CreateSubscriber("sub", new SubscriberSettings { ShutdownTimeout = TimeSpan.FromSeconds(3) });
        subscriber.Start();
        var inFlight = await ReadAsync(subscriber);
        var stopping = subscriber.StopAsync(Ct);
        // The handler finishes after stop was requested; its ack must still be sent.
        await inFlight.AckAsync(Ct);
        await stopping;
        await subscriber.DisposeAsync();

        // The two never-handled messages were nacked at stop, so they come back long before their 60 s deadline.
        var again = new List<PubSubPulledMessage>();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        while (again.Count < 2)
        {
            again.AddRange(await client.PullAsync("sub", 10, timeout.Token));
        }

        Assert.DoesNotContain(inFlight.Message.MessageId, again.Select(m => m.Message.MessageId));
        Assert.Equal(2, again.Select(m => m.Message.MessageId).Distinct().Count());
    }

    [Fact]
    public async Task Message_nacked_past_max_delivery_attempts_moves_to_the_dead_letter_topic_with_attempt_counts()
    {
        var client = GoogleTestClients.PubSub((await servers.GetPubSubAsync()).HostPort);
        await client.CreateTopicAsync("topic", Ct);
        await client.CreateTopicAsync("dead", Ct);
        await client.CreateSubscriptionAsync("dead-sub", "dead", null, Ct);
        await client.CreateSubscriptionAsync("sub", "topic", new PubSubSubscription { DeadLetterPolicy = new PubSubDeadLetterPolicy(client.TopicName("dead"), 5) }, Ct);
        await using (var publisher = client.CreatePublisher("topic"))
        {
            await publisher.PublishAsync(Text("poison"), Ct);
        }

        var attempts = new List<int?>();
        // The source subscription keeps being pulled: the emulator forwards to the dead-letter topic when it
        // would otherwise deliver a sixth time.
        await using var subscriber = client.CreateSubscriber("sub");
        subscriber.Start();
        for (var i = 0; i < 5; i++)
        {
            var message = await ReadAsync(subscriber);
            attempts.Add(message.DeliveryAttempt);
            await message.NackAsync(Ct);
        }

        await using var deadSubscriber = client.CreateSubscriber("dead-sub");
        deadSubscriber.Start();
        var dead = await ReadAsync(deadSubscriber);
        await dead.AckAsync(Ct);

        Assert.Equal([1, 2, 3, 4, 5], attempts);
        Assert.False(subscriber.Messages.TryRead(out _));
        Assert.Equal("poison", Encoding.UTF8.GetString(dead.Message.Data.Span));
    }

    [Fact]
    public async Task Pulling_a_deleted_subscription_fails_the_subscriber_with_the_google_error()
    {
        var client = await ClientWithTopicAsync();
        await client.DeleteSubscriptionAsync("sub", Ct);
        await using var subscriber = client.CreateSubscriber("sub");

        subscriber.Start();

        var error = await Assert.ThrowsAsync<global::Dataflow.Google.Core.GoogleApiException>(() => subscriber.Completion.WaitAsync(TimeSpan.FromSeconds(30), Ct));
        Assert.Equal("NOT_FOUND", error.Status);
    }
}
