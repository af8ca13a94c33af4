using System.Globalization;

namespace Dataflow.Emulators.Storage;

/// <summary>storage#bucket as the JSON API returns it.</summary>
internal sealed record BucketResource(
    string Kind,
    string Id,
    string SelfLink,
    string ProjectNumber,
    string Name,
    string TimeCreated,
    string Updated,
    string Metageneration,
    string Location,
    string LocationType,
    string StorageClass,
    string Etag,
    IReadOnlyDictionary<string, string>? Labels)
{
    public static BucketResource From(StoredBucket bucket, string baseUri) => new(
        "storage#bucket",
        bucket.Name,
        $"{baseUri}/storage/v1/b/{bucket.Name}",
        ProjectNumberOf(bucket.Project),
        bucket.Name,
        Rfc3339(bucket.Created),
        Rfc3339(bucket.Updated),
        bucket.Metageneration.ToString(CultureInfo.InvariantCulture),
        bucket.Location,
        "multi-region",
        bucket.StorageClass,
        $"CA{bucket.Metageneration:x}",
        bucket.Labels);

    // Real project numbers are opaque digits; a stable number derived from the id keeps clients happy.
    private static string ProjectNumberOf(string project) =>
        ((uint)project.Aggregate(17, (hash, c) => unchecked((hash * 31) + c))).ToString(CultureInfo.InvariantCulture);

    public static string Rfc3339(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}

/// <summary>storage#object as the JSON API returns it (64-bit numbers as strings, hashes as base64).</summary>
internal sealed record ObjectResource(
    string Kind,
    string Id,
    string SelfLink,
    string MediaLink,
    string Name,
    string Bucket,
    string Generation,
    string Metageneration,
    string ContentType,
    string StorageClass,
    string Size,
    string? Md5Hash,
    string Crc32c,
    string Etag,
    string TimeCreated,
    string Updated,
    string TimeStorageClassUpdated,
    string? CacheControl,
    string? ContentDisposition,
    string? ContentEncoding,
    string? ContentLanguage,
    IReadOnlyDictionary<string, string>? Metadata)
{
    public static ObjectResource From(StoredObject stored, string baseUri)
    {
        var escapedName = Uri.EscapeDataString(stored.Name);
        var generation = stored.Generation.ToString(CultureInfo.InvariantCulture);
        return new ObjectResource(
            "storage#object",
            $"{stored.Bucket}/{stored.Name}/{generation}",
            $"{baseUri}/storage/v1/b/{stored.Bucket}/o/{escapedName}",
            $"{baseUri}/download/storage/v1/b/{stored.Bucket}/o/{escapedName}?generation={generation}&alt=media",
            stored.Name,
            stored.Bucket,
            generation,
            stored.Metageneration.ToString(CultureInfo.InvariantCulture),
            stored.ContentType,
            "STANDARD",
            stored.Content.Length.ToString(CultureInfo.InvariantCulture),
            stored.Content.Md5Hash,
            stored.Content.Crc32C,
            stored.ETag,
            BucketResource.Rfc3339(stored.Created),
            BucketResource.Rfc3339(stored.Updated),
            BucketResource.Rfc3339(stored.Created),
            stored.Metadata.CacheControl,
            stored.Metadata.ContentDisposition,
            stored.Metadata.ContentEncoding,
            stored.Metadata.ContentLanguage,
            stored.Metadata.Metadata);
    }
}

internal sealed record BucketList(string Kind, IReadOnlyList<BucketResource> Items, string? NextPageToken);

internal sealed record ObjectList(string Kind, IReadOnlyList<ObjectResource> Items, IReadOnlyList<string> Prefixes, string? NextPageToken);

/// <summary>Request body of buckets.insert (the parts the stand-in uses).</summary>
internal sealed record BucketInsertBody(string? Name, string? Location, string? StorageClass, Dictionary<string, string>? Labels);

/// <summary>Object metadata in an upload or patch body; a null value in <see cref="Metadata"/> removes that key on patch.</summary>
internal sealed record ObjectMetadataBody(
    string? Name,
    string? ContentType,
    string? CacheControl,
    string? ContentDisposition,
    string? ContentEncoding,
    string? ContentLanguage,
    Dictionary<string, string?>? Metadata,
    string? Md5Hash,
    string? Crc32c)
{
    public ObjectMetadata ToMetadata(string? fallbackContentType) => new(
        ContentType ?? fallbackContentType,
        CacheControl,
        ContentDisposition,
        ContentEncoding,
        ContentLanguage,
        Metadata is null ? null : new SortedDictionary<string, string>(
            Metadata.Where(pair => pair.Value is not null).ToDictionary(pair => pair.Key, pair => pair.Value!), StringComparer.Ordinal));

    /// <summary>Applies patch semantics: absent members keep their value, metadata keys merge, null keys are removed.</summary>
    public ObjectMetadata ApplyTo(ObjectMetadata current)
    {
        var metadata = current.Metadata;
        if (Metadata is not null)
        {
            // Sorted, so the metadata map is rendered in a stable order however it was edited.
            var merged = new SortedDictionary<string, string>(StringComparer.Ordinal);
            foreach (var (key, value) in current.Metadata ?? new Dictionary<string, string>())
            {
                merged[key] = value;
            }

            foreach (var (key, value) in Metadata)
            {
                if (value is null)
                {
                    merged.Remove(key);
                }
                else
                {
                    merged[key] = value;
                }
            }

            metadata = merged.Count == 0 ? null : merged;
        }

        return new ObjectMetadata(
            ContentType ?? current.ContentType,
            CacheControl ?? current.CacheControl,
            ContentDisposition ?? current.ContentDisposition,
            ContentEncoding ?? current.ContentEncoding,
            ContentLanguage ?? current.ContentLanguage,
            metadata);
    }
}
