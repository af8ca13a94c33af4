using System.Text;
using System.Text.Json;
using Dataflow.IceStore;
using Dataflow.Pipeline;
using Dataflow.Pipeline.Envelopes;

namespace Dataflow.Tests.Unit.Services.IceStore;

[Trait("Category", "Unit")]
public sealed class ArchiveTransformerTests
{
    private sealed class NoAck : IAckHandle
    {
        public ValueTask AckAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask NackAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }

    private static readonly DateTimeOffset Published = new(2026, 11, 21, 23, 30, 0, TimeSpan.Zero);

    private static async Task<string> BatchKeyOf(byte[] data, Dictionary<string, string>? attributes = null)
    {
        var transformer = new ArchiveTransformer(TimeProvider.System);
        var message = new Message("m1", data, attributes ?? [], Published, new NoAck());
        var result = await transformer.TransformAsync(message, TestContext.Current.CancellationToken);
        Assert.Equal(data, result.Value!.OriginalPubSubPayload.ToArray());
        return transformer.GetBatchKey(message, result.Value);
    }

    private static byte[] EnvelopeWithLocation(string? location) => EnvelopeCodec.Encode(new Envelope(
        "e1", "x"u8.ToArray(), new RfcTimestamp(0, 0),
        location is null ? null : new Dictionary<string, JsonElement> { ["location"] = Envelope.StringValue(location) }));

    [Fact]
    public async Task The_key_is_the_utc_publish_date() =>
        Assert.Equal("2026/11/21", await BatchKeyOf(Encoding.UTF8.GetBytes("raw")));

    [Fact]
    public async Task The_test_publish_time_attribute_overrides_the_publish_time() =>
        Assert.Equal("2025/01/02", await BatchKeyOf(Encoding.UTF8.GetBytes("raw"), new() { ["test_publish_time"] = "2025-01-02T03:04:05+01:00" }));

    [Fact]
    public async Task The_envelope_location_is_appended() =>
        Assert.Equal("2026/11/21/hall-a", await BatchKeyOf(EnvelopeWithLocation("hall-a"), new() { ["location"] = "other" }));

    [Fact]
    public async Task The_location_attribute_is_used_when_the_envelope_has_none() =>
        Assert.Equal("2026/11/21/dock", await BatchKeyOf(EnvelopeWithLocation(null), new() { ["location"] = "dock" }));

    [Fact]
    public async Task A_location_cannot_add_path_segments() =>
        Assert.Equal("2026/11/21/a___b", await BatchKeyOf(EnvelopeWithLocation("a/../b")));

    [Fact]
    public async Task An_invalid_test_publish_time_is_a_transform_error() =>
        await Assert.ThrowsAsync<FormatException>(() => BatchKeyOf(Encoding.UTF8.GetBytes("raw"), new() { ["test_publish_time"] = "soon" }));
}
