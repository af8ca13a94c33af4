using System.Collections.Concurrent;
using System.Text;
using Dataflow.Enrich;
using Dataflow.Enrich.Lookup;
using Dataflow.Pipeline;
using Dataflow.Pipeline.Envelopes;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dataflow.Tests.Unit.Services.Enrich;

[Trait("Category", "Unit")]
public sealed class EnrichProcessorTests
{
    private sealed class NoAck : IAckHandle
    {
        public ValueTask AckAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask NackAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }

    private sealed class RecordingProducer : IMessageProducer
    {
        public ConcurrentQueue<OutgoingMessage> Published { get; } = new();

        public Task<string> PublishAsync(OutgoingMessage message, CancellationToken cancellationToken)
        {
            Published.Enqueue(message);
            return Task.FromResult("id");
        }
    }

    private sealed class RecordingDeadLetters : IDeadLetterSink
    {
        public List<string> Reasons { get; } = [];

        public Task DeadLetterAsync(Message message, string reason, CancellationToken cancellationToken)
        {
            Reasons.Add(reason);
            return Task.CompletedTask;
        }
    }

    private readonly FakeStore _store = new();
    private readonly RecordingProducer _output = new();
    private readonly RecordingDeadLetters _deadLetters = new();

    public EnrichProcessorTests() =>
        _store.Documents["dev-1"] = new Dictionary<string, string> { ["ClientID"] = "Boiler", ["LocationID"] = "hall-a", ["Category"] = "heating" };

    private static Message MessageOf(byte[] data, Dictionary<string, string>? attributes = null) =>
        new("pubsub-1", data, attributes ?? [], new DateTimeOffset(2026, 11, 21, 12, 0, 0, TimeSpan.Zero), new NoAck());

    private async Task<(ProcessOutcome Outcome, Envelope? Published, IReadOnlyDictionary<string, string>? Attributes)> RunAsync(
        Message message, EnrichOptions? options = null)
    {
        options ??= new EnrichOptions();
        var transformer = new EnrichTransformer(options.KeyAttribute);
        var input = await transformer.TransformAsync(message, TestContext.Current.CancellationToken);
        var lookup = new DeviceLookup(_store, null, options.Lookup, NullLogger.Instance);
        var processor = new EnrichProcessor(lookup, _output, _deadLetters, options);
        var outcome = await processor.ProcessAsync(message, input.Value!, TestContext.Current.CancellationToken);
        if (!_output.Published.TryDequeue(out var published))
        {
            return (outcome, null, null);
        }

        Assert.True(EnvelopeCodec.TryDecode(published.Data.Span, out var envelope));
        return (outcome, envelope, published.Attributes);
    }

    private static byte[] UpstreamEnvelope(string deviceId) => EnvelopeCodec.Encode(new Envelope(
        "ingest-1", Encoding.UTF8.GetBytes("""{"value":1}"""), new RfcTimestamp(1_795_000_000, 123_456_789),
        new Dictionary<string, System.Text.Json.JsonElement> { ["DeviceID"] = Envelope.StringValue(deviceId) }));

    [Fact]
    public async Task A_known_device_gets_the_reference_fields_and_keeps_its_original_payload()
    {
        var (outcome, envelope, attributes) = await RunAsync(MessageOf(UpstreamEnvelope("dev-1"), new() { ["mqtt_topic"] = "devices/dev-1/up", ["route_name"] = "uplinks", ["other"] = "x" }));

        Assert.Equal(ProcessOutcome.Done, outcome);
        Assert.Equal("ingest-1", envelope!.Id);
        Assert.Equal("""{"value":1}""", Encoding.UTF8.GetString(envelope.Payload.Span));
        Assert.Equal(123_456_789, envelope.PublishTime.Nanoseconds);
        Assert.Equal("Boiler", envelope.GetEnrichmentString("name"));
        Assert.Equal("hall-a", envelope.GetEnrichmentString("location"));
        Assert.Equal("heating", envelope.GetEnrichmentString("serviceTag"));
        Assert.Equal("dev-1", envelope.GetEnrichmentString("DeviceID"));
        Assert.Equal(new Dictionary<string, string> { ["mqtt_topic"] = "devices/dev-1/up", ["route_name"] = "uplinks", ["device_id"] = "dev-1" }, attributes);
    }

    [Fact]
    public async Task An_unknown_device_passes_through_unenriched()
    {
        var (outcome, envelope, _) = await RunAsync(MessageOf(UpstreamEnvelope("ghost")));

        Assert.Equal(ProcessOutcome.Done, outcome);
        Assert.Null(envelope!.GetEnrichmentString("name"));
        Assert.Equal("ghost", envelope.GetEnrichmentString("DeviceID"));
    }

    [Fact]
    public async Task An_unknown_device_is_dead_lettered_when_configured()
    {
        var (outcome, envelope, _) = await RunAsync(MessageOf(UpstreamEnvelope("ghost")), new EnrichOptions { NotFound = NotFoundAction.DeadLetter, DeadLetterTopic = "dlq" });

        Assert.Equal(ProcessOutcome.DeadLettered, outcome);
        Assert.Null(envelope);
        Assert.Equal(["no document 'ghost' in devices"], _deadLetters.Reasons);
    }

    [Fact]
    public async Task Data_that_is_not_a_real_envelope_becomes_the_payload_of_a_new_one()
    {
        var raw = Encoding.UTF8.GetBytes("""{"temp":21.5,"id":"not-an-envelope"}""");

        var (_, envelope, _) = await RunAsync(MessageOf(raw, new() { ["uid"] = "dev-1" }));

        Assert.Equal(raw, envelope!.Payload.ToArray());
        Assert.Equal("pubsub-1", envelope.Id);
        Assert.Equal("Boiler", envelope.GetEnrichmentString("name"));
    }

    [Fact]
    public async Task The_key_comes_from_the_envelope_before_the_uid_attribute()
    {
        var (_, envelope, _) = await RunAsync(MessageOf(UpstreamEnvelope("dev-1"), new() { ["uid"] = "ghost" }));

        Assert.Equal("Boiler", envelope!.GetEnrichmentString("name"));
    }

    [Fact]
    public async Task A_configured_key_attribute_wins()
    {
        var (_, envelope, _) = await RunAsync(MessageOf(UpstreamEnvelope("ghost"), new() { ["serial"] = "dev-1" }), new EnrichOptions { KeyAttribute = "serial" });

        Assert.Equal("Boiler", envelope!.GetEnrichmentString("name"));
    }

    [Fact]
    public async Task A_message_without_a_key_passes_through()
    {
        var (outcome, envelope, attributes) = await RunAsync(MessageOf(Encoding.UTF8.GetBytes("raw")));

        Assert.Equal(ProcessOutcome.Done, outcome);
        Assert.Null(envelope!.EnrichmentData);
        Assert.Empty(attributes!);
    }

    [Fact]
    public async Task A_store_outage_fails_the_message_so_it_is_nacked()
    {
        _store.Outage = new HttpRequestException("down");

        await Assert.ThrowsAsync<HttpRequestException>(() => RunAsync(MessageOf(UpstreamEnvelope("dev-1"))));
        Assert.Empty(_output.Published);
    }
}
