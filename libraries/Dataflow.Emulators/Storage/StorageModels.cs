namespace Dataflow.Emulators.Storage;

/// <summary>A bucket as the stand-in keeps it.</summary>
internal sealed record StoredBucket(
    string Name,
    string Project,
    string Location,
    string StorageClass,
    long Metageneration,
    DateTimeOffset Created,
    DateTimeOffset Updated,
    IReadOnlyDictionary<string, string>? Labels);

/// <summary>Caller-settable object metadata (the parts of an object resource an upload or patch may carry).</summary>
internal sealed record ObjectMetadata(
    string? ContentType,
    string? CacheControl,
    string? ContentDisposition,
    string? ContentEncoding,
    string? ContentLanguage,
    IReadOnlyDictionary<string, string>? Metadata)
{
    public static readonly ObjectMetadata Empty = new(null, null, null, null, null, null);
}

/// <summary>The live generation of an object.</summary>
internal sealed record StoredObject(
    string Bucket,
    string Name,
    long Generation,
    long Metageneration,
    ObjectMetadata Metadata,
    DateTimeOffset Created,
    DateTimeOffset Updated,
    ObjectContent Content)
{
    public string ContentType => Metadata.ContentType ?? "application/octet-stream";

    public string ETag => $"CK{Generation:x}{Metageneration:x}";
}

/// <summary>The generation preconditions of Cloud Storage (ifGenerationMatch=0 means "must not exist").</summary>
internal sealed record ObjectConditions(
    long? IfGenerationMatch,
    long? IfGenerationNotMatch,
    long? IfMetagenerationMatch,
    long? IfMetagenerationNotMatch)
{
    public static readonly ObjectConditions None = new(null, null, null, null);

    public bool HoldFor(StoredObject? current)
    {
        if (IfGenerationMatch is { } generation && (current?.Generation ?? 0) != generation)
        {
            return false;
        }

        if (IfGenerationNotMatch is { } notGeneration && (current?.Generation ?? 0) == notGeneration)
        {
            return false;
        }

        if (IfMetagenerationMatch is { } metageneration && current?.Metageneration != metageneration)
        {
            return false;
        }

        return IfMetagenerationNotMatch is not { } notMetageneration || current?.Metageneration != notMetageneration;
    }

    public void Ensure(StoredObject? current)
    {
        if (!HoldFor(current))
        {
            throw GoogleApiException.PreconditionFailed();
        }
    }

    /// <summary>For reads, a failed "not match" condition means the caller's copy is current: 304, as Cloud Storage answers.</summary>
    public void EnsureForRead(StoredObject current)
    {
        (this with { IfGenerationNotMatch = null, IfMetagenerationNotMatch = null }).Ensure(current);
        if (!HoldFor(current))
        {
            throw new GoogleApiException(System.Net.HttpStatusCode.NotModified, "notModified", "Not Modified");
        }
    }
}

/// <summary>One page of an object listing.</summary>
internal sealed record ObjectListing(IReadOnlyList<StoredObject> Items, IReadOnlyList<string> Prefixes, string? NextPageToken);

/// <summary>Parameters of objects.list.</summary>
internal sealed record ObjectListRequest(
    string? Prefix,
    string? Delimiter,
    string? PageToken,
    int MaxResults,
    string? StartOffset,
    string? EndOffset,
    bool IncludeTrailingDelimiter);
