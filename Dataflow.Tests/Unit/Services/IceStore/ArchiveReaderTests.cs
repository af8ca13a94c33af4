using System.IO.Compression;
using System.Text;
using Dataflow.IceStore;
using Dataflow.IceStore.Replay;
using Dataflow.Pipeline.Envelopes;

namespace Dataflow.Tests.Unit.Services.IceStore;

[Trait("Category", "Unit")]
public sealed class ArchiveReaderTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Lines_are_read_with_their_numbers_and_blank_lines_are_skipped()
    {
        var payload = Convert.ToBase64String("hello"u8);
        var lines = await ReadAsync(
            $$"""{"id":"a","batchKey":"2026/11/21","originalPubSubPayload":"{{payload}}","archivedAt":"2026-11-21T12:00:00.123456789Z"}""",
            "",
            $$"""{"id":"b","batchKey":"2026/11/21/hall-a","originalPubSubPayload":"","archivedAt":"2026-11-21T12:00:01Z"}""");

        Assert.Equal([1, 3], lines.Select(l => l.LineNumber));
        var first = lines[0].Message!;
        Assert.Equal("a", first.Id);
        Assert.Equal("2026/11/21", first.BatchKey);
        Assert.Equal("hello", Encoding.UTF8.GetString(first.OriginalPubSubPayload.Span));
        Assert.Equal("2026-11-21T12:00:00.123456789Z", first.ArchivedAt.ToString());
        Assert.Equal("2026/11/21/hall-a", lines[1].Message!.BatchKey);
        Assert.Equal(0, lines[1].Message!.OriginalPubSubPayload.Length);
    }

    [Theory]
    [InlineData("""not json""", "invalid JSON")]
    [InlineData("""[1,2]""", "not a JSON object")]
    [InlineData("""{"id":"a","batchKey":"k","archivedAt":"2026-11-21T12:00:00Z"}""", "originalPubSubPayload")]
    [InlineData("""{"ID":"a","batch_key":"k","originalPubSubPayload":"","archivedAt":"2026-11-21T12:00:00Z"}""", "id, batchKey")]
    [InlineData("""{"id":"a","batchKey":"k","originalPubSubPayload":"%%%","archivedAt":"2026-11-21T12:00:00Z"}""", "not base64")]
    [InlineData("""{"id":"a","batchKey":"k","originalPubSubPayload":"","archivedAt":"yesterday"}""", "not an RFC 3339 time")]
    public async Task A_malformed_line_is_reported_with_its_number_and_reason_and_the_next_line_is_still_read(string bad, string reason)
    {
        var lines = await ReadAsync(bad, """{"id":"b","batchKey":"k","originalPubSubPayload":"","archivedAt":"2026-11-21T12:00:00Z"}""");

        Assert.Null(lines[0].Message);
        Assert.Equal(1, lines[0].LineNumber);
        Assert.Contains(reason, lines[0].Error, StringComparison.Ordinal);
        Assert.Equal("b", lines[1].Message!.Id);
    }

    [Fact]
    public async Task Data_that_is_not_gzip_throws_InvalidDataException()
    {
        using var plain = new MemoryStream("""{"id":"a"}"""u8.ToArray());
        await Assert.ThrowsAsync<InvalidDataException>(async () =>
        {
            await foreach (var _ in ArchiveReader.ReadAsync(plain, Ct))
            {
            }
        });
    }

    [Fact]
    public void The_device_payload_is_the_envelope_payload_or_the_archived_data_when_it_is_no_envelope()
    {
        var envelope = EnvelopeCodec.Encode(new Envelope("e1", """{"device_id":"dev-1","value":1}"""u8.ToArray(), new RfcTimestamp(1_795_000_000, 0)));
        var wrapped = new ArchivedMessage("e1", "k", envelope, new RfcTimestamp(1_795_000_001, 0));
        var raw = new ArchivedMessage("r1", "k", """{"device_id":"dev-2"}"""u8.ToArray(), new RfcTimestamp(1_795_000_001, 0));

        Assert.Equal("""{"device_id":"dev-1","value":1}""", Encoding.UTF8.GetString(wrapped.DevicePayload.Span));
        Assert.Equal("e1", wrapped.TryGetEnvelope()!.Id);
        Assert.Null(raw.TryGetEnvelope());
        Assert.Equal("""{"device_id":"dev-2"}""", Encoding.UTF8.GetString(raw.DevicePayload.Span));
    }

    [Fact]
    public async Task Replay_without_bucket_and_broker_exits_1_before_touching_anything()
    {
        Assert.Equal(1, await ReplayCommand.RunAsync(["--Replay:TopicTemplate=replay/#"]));
    }

    private static async Task<List<ArchiveReadResult>> ReadAsync(params string[] lines)
    {
        using var compressed = new MemoryStream();
        await using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            await gzip.WriteAsync(Encoding.UTF8.GetBytes(string.Join('\n', lines) + "\n"), Ct);
        }

        compressed.Position = 0;
        var results = new List<ArchiveReadResult>();
        await foreach (var result in ArchiveReader.ReadAsync(compressed, Ct))
        {
            results.Add(result);
        }

        return results;
    }
}
