using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using Dataflow.Google.Core;
using Dataflow.Google.PubSub;

namespace Dataflow.Tests.Unit.Google;

/// <summary>Batching behaviour, observed through the publish requests that reach a fake endpoint.</summary>
[Trait("Category", "Unit")]
public sealed class PubSubPublisherTests
{
    private static readonly RetrySettings Fast = new() { MaxAttempts = 3, InitialBackoff = TimeSpan.FromMilliseconds(1), MaxBackoff = TimeSpan.FromMilliseconds(2) };

    private static (PubSubClient Client, FakeHttpHandler Handler) Create(Func<FakeHttpHandler.RecordedRequest, int, HttpResponseMessage>? respond = null)
    {
        var ids = 0;
        var handler = new FakeHttpHandler(respond ?? ((request, _) => EchoIds(request, ref ids)));
        var transport = new GoogleRestTransport(new HttpClient(handler), new GoogleEndpoint(new Uri("http://fake.test/"), true), AnonymousTokenSource.Instance, Fast);
        return (new PubSubClient(transport, "proj"), handler);
    }

    /// <summary>The first request answers 503 UNAVAILABLE, later ones succeed.</summary>
    private static (PubSubClient Client, FakeHttpHandler Handler) CreateUnavailableOnce()
    {
        var counter = 0;
        return Create((request, attempt) => attempt == 1
            ? FakeHttpHandler.Json(HttpStatusCode.ServiceUnavailable, """{"error":{"code":503,"message":"x","status":"UNAVAILABLE"}}""")
            : EchoIds(request, ref counter));
    }

    private static HttpResponseMessage EchoIds(FakeHttpHandler.RecordedRequest request, ref int counter)
    {
        var count = Messages(request).Count;
        var ids = new string[count];
        for (var i = 0; i < count; i++)
        {
            ids[i] = Interlocked.Increment(ref counter).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return FakeHttpHandler.Json(HttpStatusCode.OK, JsonSerializer.Serialize(new { messageIds = ids }));
    }

    private static List<JsonElement> Messages(FakeHttpHandler.RecordedRequest request)
    {
        using var document = JsonDocument.Parse(request.Body);
        return [.. document.RootElement.GetProperty("messages").EnumerateArray().Select(m => m.Clone())];
    }

    private static PubSubMessage Text(string text, string? key = null) => new() { Data = Encoding.UTF8.GetBytes(text), OrderingKey = key };

    [Fact]
    public async Task Messages_are_batched_by_count_and_each_gets_its_own_id()
    {
        var (client, handler) = Create();
        var publisher = client.CreatePublisher("t1", new PublisherSettings { MaxMessagesPerBatch = 10, DelayThreshold = TimeSpan.FromSeconds(30) });

        var results = Enumerable.Range(0, 30).Select(i => publisher.PublishAsync(Text($"m{i}"), TestContext.Current.CancellationToken)).ToArray();
        var ids = await Task.WhenAll(results);

        Assert.Equal(30, ids.Distinct().Count());
        Assert.Equal(3, handler.Count);
        Assert.All(handler.Requests, r => Assert.Equal(10, Messages(r).Count));
        Assert.All(handler.Requests, r => Assert.Equal("http://fake.test/v1/projects/proj/topics/t1:publish", r.Uri.ToString()));
        await publisher.DisposeAsync();
    }

    [Fact]
    public async Task Batch_is_sent_before_it_would_exceed_the_byte_limit()
    {
        var (client, handler) = Create();
        await using var publisher = client.CreatePublisher("t1", new PublisherSettings { MaxMessagesPerBatch = 1000, MaxBytesPerBatch = 2500, DelayThreshold = TimeSpan.FromSeconds(30) });
        var payload = new string('x', 1000);

        var sends = Enumerable.Range(0, 4).Select(_ => publisher.PublishAsync(Text(payload), TestContext.Current.CancellationToken)).ToArray();
        await publisher.FlushAsync(TestContext.Current.CancellationToken);
        await Task.WhenAll(sends);

        Assert.Equal([2, 2], handler.Requests.Select(r => Messages(r).Count).ToArray());
    }

    [Fact]
    public async Task Partial_batch_is_sent_after_the_delay_threshold_without_a_flush()
    {
        var (client, handler) = Create();
        await using var publisher = client.CreatePublisher("t1", new PublisherSettings { MaxMessagesPerBatch = 100, DelayThreshold = TimeSpan.FromMilliseconds(20) });

        var id = await publisher.PublishAsync(Text("lonely"), TestContext.Current.CancellationToken);

        Assert.Equal("1", id);
        Assert.Equal(1, handler.Count);
    }

    [Fact]
    public async Task Data_attributes_and_ordering_key_are_encoded_as_pubsub_json()
    {
        var (client, handler) = Create();
        await using (var publisher = client.CreatePublisher("t1"))
        {
            _ = publisher.PublishAsync(
                new PubSubMessage { Data = new byte[] { 0, 1, 255 }, Attributes = new Dictionary<string, string> { ["route_name"] = "uplinks" }, OrderingKey = "dev-1" },
                TestContext.Current.CancellationToken);
        }

        var message = Assert.Single(Messages(Assert.Single(handler.Requests)));
        Assert.Equal("AAH/", message.GetProperty("data").GetString());
        Assert.Equal("uplinks", message.GetProperty("attributes").GetProperty("route_name").GetString());
        Assert.Equal("dev-1", message.GetProperty("orderingKey").GetString());
        Assert.False(message.TryGetProperty("messageId", out _));
    }

    [Fact]
    public async Task Dispose_flushes_everything_queued()
    {
        var (client, handler) = Create();
        var publisher = client.CreatePublisher("t1", new PublisherSettings { MaxMessagesPerBatch = 1000, DelayThreshold = TimeSpan.FromMinutes(5) });
        var sends = Enumerable.Range(0, 5).Select(i => publisher.PublishAsync(Text($"m{i}"), TestContext.Current.CancellationToken)).ToArray();

        await publisher.DisposeAsync();

        // Delay threshold is minutes: only the flush on dispose can have sent them.
        Assert.Equal(5, (await Task.WhenAll(sends).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken)).Distinct().Count());
        Assert.Equal(5, Messages(Assert.Single(handler.Requests)).Count);
        await Assert.ThrowsAsync<InvalidOperationException>(() => publisher.PublishAsync(Text("late"), TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Batches_of_one_ordering_key_are_never_in_flight_together_and_keep_order()
    {
        var inFlight = new ConcurrentDictionary<string, int>();
        var overlapped = 0;
        var order = new ConcurrentQueue<string>();
        var counter = 0;
        var (client, _) = Create((request, _) =>
        {
            var messages = Messages(request);
            var key = messages[0].GetProperty("orderingKey").GetString()!;
            if (inFlight.AddOrUpdate(key, 1, (_, n) => n + 1) > 1)
            {
                Interlocked.Increment(ref overlapped);
            }

            Thread.Sleep(2);
            foreach (var m in messages)
            {
                order.Enqueue(key + ":" + Encoding.UTF8.GetString(m.GetProperty("data").GetBytesFromBase64()));
            }

            inFlight.AddOrUpdate(key, 0, (_, n) => n - 1);
            return EchoIds(request, ref counter);
        });
        await using var publisher = client.CreatePublisher("t1", new PublisherSettings { MaxMessagesPerBatch = 3, MaxConcurrentRequests = 8 });

        var sends = new List<Task<string>>();
        for (var i = 0; i < 30; i++)
        {
            sends.Add(publisher.PublishAsync(Text(i.ToString(System.Globalization.CultureInfo.InvariantCulture), key: i % 2 == 0 ? "even" : "odd"), TestContext.Current.CancellationToken));
        }

        await Task.WhenAll(sends);

        Assert.Equal(0, overlapped);
        foreach (var key in new[] { "even", "odd" })
        {
            var values = order.Where(o => o.StartsWith(key + ":", StringComparison.Ordinal)).Select(o => int.Parse(o[(key.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture)).ToList();
            Assert.Equal(values.Order().ToList(), values);
            Assert.Equal(15, values.Count);
        }
    }

    [Fact]
    public async Task Failed_publish_pauses_its_ordering_key_until_resumed()
    {
        var fail = true;
        var counter = 0;
        var (client, _) = Create((request, _) => Volatile.Read(ref fail)
            ? FakeHttpHandler.Json(HttpStatusCode.BadRequest, """{"error":{"code":400,"message":"bad","status":"INVALID_ARGUMENT"}}""")
            : EchoIds(request, ref counter));
        await using var publisher = client.CreatePublisher("t1", new PublisherSettings { DelayThreshold = TimeSpan.FromMilliseconds(1) });

        var first = await Assert.ThrowsAsync<GoogleApiException>(() => publisher.PublishAsync(Text("a", "k"), TestContext.Current.CancellationToken));
        Assert.Equal("INVALID_ARGUMENT", first.Status);
        Volatile.Write(ref fail, false);
        var paused = await Assert.ThrowsAsync<OrderingKeyPausedException>(() => publisher.PublishAsync(Text("b", "k"), TestContext.Current.CancellationToken));
        Assert.Equal("k", paused.OrderingKey);
        Assert.NotNull(await publisher.PublishAsync(Text("c", "other"), TestContext.Current.CancellationToken));

        publisher.ResumePublish("k");
        Assert.NotNull(await publisher.PublishAsync(Text("d", "k"), TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Transient_publish_failure_is_retried_and_still_returns_ids()
    {
        var (client, handler) = CreateUnavailableOnce();
        await using var publisher = client.CreatePublisher("t1", new PublisherSettings { DelayThreshold = TimeSpan.FromMilliseconds(1) });

        var id = await publisher.PublishAsync(Text("x"), TestContext.Current.CancellationToken);

        Assert.Equal("1", id);
        Assert.Equal(2, handler.Count);
    }

    [Fact]
    public async Task A_retried_request_of_a_thousand_messages_sends_the_same_complete_body_again()
    {
        var (client, handler) = CreateUnavailableOnce();
        await using var publisher = client.CreatePublisher("t1", new PublisherSettings { MaxMessagesPerBatch = 1000, DelayThreshold = TimeSpan.FromSeconds(30) });
        var texts = Enumerable.Range(0, 1000).Select(i => $"message {i} {new string('x', 500)}").ToList();

        var ids = await Task.WhenAll(texts.Select(t => publisher.PublishAsync(Text(t), TestContext.Current.CancellationToken)));

        Assert.Equal(1000, ids.Distinct().Count());
        var requests = handler.Requests.ToArray();
        Assert.Equal(2, requests.Length);
        Assert.Equal(requests[0].Body, requests[1].Body);
        Assert.Equal(texts, Messages(requests[1]).Select(m => Encoding.UTF8.GetString(m.GetProperty("data").GetBytesFromBase64())));
    }

    [Fact]
    public async Task Cancelling_a_queued_publish_ends_the_wait_but_the_message_is_still_published()
    {
        var (client, handler) = Create();
        await using var publisher = client.CreatePublisher("t1", new PublisherSettings { DelayThreshold = TimeSpan.FromSeconds(30) });
        using var cts = new CancellationTokenSource();

        var waiting = publisher.PublishAsync(Text("queued"), cts.Token);
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        await publisher.FlushAsync(TestContext.Current.CancellationToken);
        Assert.Equal("queued", Encoding.UTF8.GetString(Assert.Single(Messages(Assert.Single(handler.Requests))).GetProperty("data").GetBytesFromBase64()));
    }

    [Fact]
    public async Task Flow_control_makes_publish_wait_while_the_outstanding_limit_is_reached()
    {
        var release = new TaskCompletionSource();
        var counter = 0;
        var (client, _) = Create((request, _) =>
        {
            release.Task.Wait(TestContext.Current.CancellationToken);
            return EchoIds(request, ref counter);
        });
        await using var publisher = client.CreatePublisher("t1", new PublisherSettings { MaxOutstandingMessages = 2, DelayThreshold = TimeSpan.FromMilliseconds(1) });

        var first = publisher.PublishAsync(Text("1"), TestContext.Current.CancellationToken);
        var second = publisher.PublishAsync(Text("2"), TestContext.Current.CancellationToken);
        using var cts = new CancellationTokenSource();
        var third = publisher.PublishAsync(Text("3"), cts.Token);
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => third);
        release.SetResult();
        await Task.WhenAll(first, second);
    }

    [Fact]
    public async Task Empty_message_is_rejected()
    {
        var (client, handler) = Create();
        await using var publisher = client.CreatePublisher("t1");

        await Assert.ThrowsAsync<ArgumentException>(() => publisher.PublishAsync(new PubSubMessage(), TestContext.Current.CancellationToken));
        Assert.Equal(0, handler.Count);
    }
}
