using System.Buffers;
using System.Globalization;
using System.IO.Compression;
using System.Text.Json;
using Dataflow.Google.Storage;
using Dataflow.Pipeline;
using Dataflow.Pipeline.Envelopes;

namespace Dataflow.IceStore;

/// <summary>One archived message: a JSON line of the archive.</summary>
internal sealed record ArchiveLine(string Id, string BatchKey, ReadOnlyMemory<byte> OriginalPubSubPayload, DateTimeOffset ArchivedAt);

/// <summary>
/// Computes the batch key <c>YYYY/MM/DD[/location]</c>: the date of the publish time (attribute
/// <c>test_publish_time</c> overrides), the location from the envelope's enrichmentData.location or attribute location.
/// </summary>
internal sealed class ArchiveTransformer(TimeProvider time) : IMessageTransformer<ArchiveLine>, IBatchKeySelector<ArchiveLine>
{
    public const string TestPublishTimeAttribute = "test_publish_time";

    public ValueTask<TransformResult<ArchiveLine>> TransformAsync(Message message, CancellationToken cancellationToken)
    {
        var published = message.PublishTime;
        if (message.Attributes.TryGetValue(TestPublishTimeAttribute, out var overridden))
        {
            published = RfcTimestamp.TryParse(overridden, out var parsed)
                ? parsed.Value.ToDateTimeOffset()
                : throw new FormatException($"attribute {TestPublishTimeAttribute} '{overridden}' is not an RFC 3339 time");
        }

        var location = EnvelopeCodec.TryDecode(message.Data.Span, out var envelope) ? envelope.GetEnrichmentString("location") : null;
        if (string.IsNullOrEmpty(location))
        {
            location = message.Attributes.GetValueOrDefault("location");
        }

        var date = published.ToUniversalTime().ToString("yyyy'/'MM'/'dd", CultureInfo.InvariantCulture);
        var key = string.IsNullOrEmpty(location) ? date : $"{date}/{Sanitize(location)}";
        return ValueTask.FromResult(TransformResult.Of(new ArchiveLine(message.Id, key, message.Data, time.GetUtcNow())));
    }

    public string GetBatchKey(Message message, ArchiveLine value) => value.BatchKey;

    // A location is one path segment of the object name.
    private static string Sanitize(string location) => location.Replace('/', '_').Replace("..", "_", StringComparison.Ordinal);
}

/// <summary>
/// Writes a batch as one gzip JSON Lines object <c>&lt;prefix&gt;/&lt;batchKey&gt;/&lt;uuid&gt;.jsonl.gz</c>, streamed line by line
/// through gzip into a resumable upload (the batch is never buffered whole). Failing throws: the batch is nacked.
/// </summary>
internal sealed class ArchiveSink(StorageClient storage, IceStoreOptions options) : IBatchSink<ArchiveLine>
{
    public const string ContentType = "application/gzip";

    private const int ChunkBytes = 64 * 1024;

    // Encoded once: the writer would otherwise transcode and check every property name of every line.
    private static readonly JsonEncodedText IdName = JsonEncodedText.Encode("id");
    private static readonly JsonEncodedText BatchKeyName = JsonEncodedText.Encode("batchKey");
    private static readonly JsonEncodedText PayloadName = JsonEncodedText.Encode("originalPubSubPayload");
    private static readonly JsonEncodedText ArchivedAtName = JsonEncodedText.Encode("archivedAt");

    public async Task<BatchWriteResult> WriteBatchAsync(string batchKey, IReadOnlyList<BatchItem<ArchiveLine>> items, CancellationToken cancellationToken)
    {
        var name = $"{options.ObjectPrefix}/{batchKey}/{Guid.NewGuid()}.jsonl.gz";
        var upload = await storage.OpenWriteAsync(options.Bucket, name, new StorageUploadOptions { ContentType = ContentType }, cancellationToken);

        // Disposing an upload stream completes the object, so nothing below may fail except the upload itself
        // (which leaves the stream failed, and disposal then does not complete a partial object): no
        // cancellation mid-object.
        await using (upload)
        {
            await using (var gzip = new GZipStream(upload, CompressionLevel.Fastest, leaveOpen: true))
            {
                // Lines are gathered in a bounded buffer and handed to gzip in chunks (few large writes).
                var buffer = new ArrayBufferWriter<byte>(ChunkBytes + 4096);
                await using var json = new Utf8JsonWriter(buffer);
                foreach (var item in items)
                {
                    Write(json, item.Value);
                    json.Flush();
                    json.Reset();
                    buffer.Write("\n"u8);
                    if (buffer.WrittenCount >= ChunkBytes)
                    {
                        await gzip.WriteAsync(buffer.WrittenMemory, CancellationToken.None);
                        buffer.ResetWrittenCount();
                    }
                }

                await gzip.WriteAsync(buffer.WrittenMemory, CancellationToken.None);
            }

            await upload.CompleteAsync(CancellationToken.None);
        }

        return BatchWriteResult.Success;
    }

    private static void Write(Utf8JsonWriter json, ArchiveLine line)
    {
        Span<char> archivedAt = stackalloc char[RfcTimestamp.MaxFormattedLength];
        RfcTimestamp.FromDateTimeOffset(line.ArchivedAt.ToUniversalTime()).TryFormat(archivedAt, out var archivedAtLength);
        json.WriteStartObject();
        json.WriteString(IdName, line.Id);
        json.WriteString(BatchKeyName, line.BatchKey);
        json.WriteBase64String(PayloadName, line.OriginalPubSubPayload.Span);
        json.WriteString(ArchivedAtName, archivedAt[..archivedAtLength]);
        json.WriteEndObject();
    }
}
