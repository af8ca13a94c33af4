using System.IO.Compression;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Dataflow.Pipeline.Envelopes;

namespace Dataflow.IceStore;

/// <summary>One line of an archive object, read back: the Pub/Sub data icestore received, as it received it.</summary>
public sealed record ArchivedMessage(string Id, string BatchKey, ReadOnlyMemory<byte> OriginalPubSubPayload, RfcTimestamp ArchivedAt)
{
    /// <summary>The archived data as a §0 envelope, or null when it was not one (icestore archives any data).</summary>
    public Envelope? TryGetEnvelope() => EnvelopeCodec.TryDecode(OriginalPubSubPayload.Span, out var envelope) ? envelope : null;

    /// <summary>The device's original bytes: the envelope's payload, or the archived data itself when it is not an envelope.</summary>
    public ReadOnlyMemory<byte> DevicePayload => TryGetEnvelope()?.Payload ?? OriginalPubSubPayload;
}

/// <summary>A parsed line (<see cref="Message"/>) or the reason it could not be parsed (<see cref="Error"/>); line numbers start at 1.</summary>
public readonly record struct ArchiveReadResult(int LineNumber, ArchivedMessage? Message, string? Error);

/// <summary>
/// Reads the objects <see cref="ArchiveSink"/> writes: gzip JSON Lines of
/// <c>{"id","batchKey","originalPubSubPayload"(base64),"archivedAt"(RFC 3339)}</c>, streamed line by line.
/// A malformed line is reported with its number instead of ending the object, so one bad line loses nothing else;
/// a corrupt gzip stream throws <see cref="InvalidDataException"/>.
/// </summary>
public static class ArchiveReader
{
    public const string IdField = "id";
    public const string BatchKeyField = "batchKey";
    public const string PayloadField = "originalPubSubPayload";
    public const string ArchivedAtField = "archivedAt";

    public static async IAsyncEnumerable<ArchiveReadResult> ReadAsync(Stream gzipJsonLines, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(gzipJsonLines);
        await using var gzip = new GZipStream(gzipJsonLines, CompressionMode.Decompress, leaveOpen: true);
        using var reader = new StreamReader(gzip, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true));
        var number = 0;
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            number++;
            if (line.Length > 0)
            {
                yield return ParseLine(line, number);
            }
        }
    }

    public static ArchiveReadResult ParseLine(string line, int lineNumber)
    {
        ArgumentNullException.ThrowIfNull(line);
        try
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return Invalid("not a JSON object");
            }

            var id = String(root, IdField);
            var batchKey = String(root, BatchKeyField);
            var payload = String(root, PayloadField);
            var archivedAt = String(root, ArchivedAtField);
            if (id is null || batchKey is null || payload is null || archivedAt is null)
            {
                var missing = new[] { (IdField, id), (BatchKeyField, batchKey), (PayloadField, payload), (ArchivedAtField, archivedAt) }
                    .Where(f => f.Item2 is null).Select(f => f.Item1);
                return Invalid($"missing string field(s) {string.Join(", ", missing)}");
            }

            if (!RfcTimestamp.TryParse(archivedAt, out var archivedTime))
            {
                return Invalid($"{ArchivedAtField} '{archivedAt}' is not an RFC 3339 time");
            }

            var bytes = new byte[payload.Length * 3 / 4];
            if (!Convert.TryFromBase64String(payload, bytes, out var written))
            {
                return Invalid($"{PayloadField} is not base64");
            }

            return new ArchiveReadResult(lineNumber, new ArchivedMessage(id, batchKey, bytes.AsMemory(0, written), archivedTime.Value), null);
        }
        catch (JsonException ex)
        {
            return Invalid($"invalid JSON: {ex.Message}");
        }

        ArchiveReadResult Invalid(string reason) => new(lineNumber, null, reason);
    }

    private static string? String(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
