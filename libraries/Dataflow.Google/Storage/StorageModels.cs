using System.Text.Json.Serialization;
using Dataflow.Google.Core;

namespace Dataflow.Google.Storage;

public sealed record StorageBucket
{
    public string? Name { get; init; }

    public string? Id { get; init; }

    /// <summary>e.g. <c>EU</c>, <c>US</c>, <c>europe-west1</c>; the server's default is <c>US</c>.</summary>
    public string? Location { get; init; }

    /// <summary>e.g. <c>STANDARD</c>, <c>NEARLINE</c>.</summary>
    public string? StorageClass { get; init; }

    public IReadOnlyDictionary<string, string>? Labels { get; init; }

    public long? Metageneration { get; init; }

    public long? ProjectNumber { get; init; }

    public DateTimeOffset? TimeCreated { get; init; }

    public DateTimeOffset? Updated { get; init; }

    public string? Etag { get; init; }
}

public sealed record StorageObject
{
    public string? Name { get; init; }

    public string? Bucket { get; init; }

    public string? Id { get; init; }

    public long? Generation { get; init; }

    public long? Metageneration { get; init; }

    public string? ContentType { get; init; }

    public string? ContentEncoding { get; init; }

    public string? ContentDisposition { get; init; }

    public string? CacheControl { get; init; }

    public long? Size { get; init; }

    /// <summary>Base64 MD5 of the stored bytes (absent for composite objects).</summary>
    public string? Md5Hash { get; init; }

    /// <summary>Base64 of the big-endian CRC-32C of the stored bytes.</summary>
    public string? Crc32c { get; init; }

    public IReadOnlyDictionary<string, string>? Metadata { get; init; }

    public string? StorageClass { get; init; }

    public DateTimeOffset? TimeCreated { get; init; }

    public DateTimeOffset? Updated { get; init; }

    public string? Etag { get; init; }

    public string? MediaLink { get; init; }
}

/// <summary>One page of objects: <see cref="Prefixes"/> holds the "folders" when listing with a delimiter.</summary>
public sealed record StorageObjectPage(IReadOnlyList<StorageObject> Items, IReadOnlyList<string> Prefixes, string? NextPageToken);

public sealed record StorageBucketPage(IReadOnlyList<StorageBucket> Items, string? NextPageToken);

/// <summary>What to store with an uploaded object, and the preconditions it is created under.</summary>
public sealed record StorageUploadOptions
{
    public string? ContentType { get; init; }

    public string? ContentEncoding { get; init; }

    public string? ContentDisposition { get; init; }

    public string? CacheControl { get; init; }

    public IReadOnlyDictionary<string, string>? Metadata { get; init; }

    /// <summary>Create only if the live generation matches; <c>0</c> means "only if no such object exists".</summary>
    public long? IfGenerationMatch { get; init; }

    public long? IfGenerationNotMatch { get; init; }

    public long? IfMetagenerationMatch { get; init; }

    /// <summary>Resumable uploads send chunks of this size; a positive multiple of 256 KiB.</summary>
    public int ChunkSize { get; init; } = 8 * 1024 * 1024;

    /// <summary>Compare the server's CRC-32C and MD5 of the object with the ones computed while sending.</summary>
    public bool VerifyChecksums { get; init; } = true;

    internal bool HasMetadata =>
        ContentEncoding is not null || ContentDisposition is not null || CacheControl is not null || Metadata is { Count: > 0 };
}

public sealed record StorageDownloadOptions
{
    /// <summary>A specific generation instead of the live one.</summary>
    public long? Generation { get; init; }

    /// <summary>First byte to read (inclusive); with <see cref="RangeEnd"/> a partial read, which is not checksummed.</summary>
    public long? RangeStart { get; init; }

    /// <summary>Last byte to read (inclusive).</summary>
    public long? RangeEnd { get; init; }

    public long? IfGenerationMatch { get; init; }

    public bool VerifyChecksums { get; init; } = true;
}

/// <summary>The bytes stored or received do not match the checksum the server reported.</summary>
public sealed class StorageChecksumException(string message) : Exception(message);

internal sealed record ListObjectsResponse(IReadOnlyList<StorageObject>? Items, IReadOnlyList<string>? Prefixes, string? NextPageToken);

internal sealed record ListBucketsResponse(IReadOnlyList<StorageBucket>? Items, string? NextPageToken);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    Converters = [typeof(Int64StringJsonConverter), typeof(TimestampJsonConverter)])]
[JsonSerializable(typeof(StorageBucket))]
[JsonSerializable(typeof(StorageObject))]
[JsonSerializable(typeof(ListObjectsResponse))]
[JsonSerializable(typeof(ListBucketsResponse))]
internal sealed partial class StorageJsonContext : JsonSerializerContext;
