using System.Buffers.Text;
using System.Text;
using System.Text.RegularExpressions;

namespace Dataflow.Emulators.Storage;

/// <summary>
/// Buckets and the live generation of their objects. Each bucket has its own lock; object bytes are written
/// to the data directory (when configured) before the metadata commit, outside any lock.
/// </summary>
internal sealed partial class StorageStore(StoragePersistence? persistence, TimeProvider time)
{
    private readonly Lock _bucketsLock = new();
    private readonly SortedDictionary<string, BucketState> _buckets = new(StringComparer.Ordinal);
    private long _lastGeneration;

    public async Task LoadAsync(CancellationToken cancellationToken)
    {
        if (persistence is null)
        {
            return;
        }

        foreach (var (bucket, objects) in await persistence.LoadAsync(cancellationToken))
        {
            var state = new BucketState(bucket);
            foreach (var stored in objects)
            {
                state.Objects[stored.Name] = stored;
                _lastGeneration = Math.Max(_lastGeneration, stored.Generation);
            }

            _buckets[bucket.Name] = state;
        }
    }

    /// <summary>Generations are microsecond timestamps, strictly increasing like Cloud Storage's.</summary>
    public long NextGeneration()
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds() * 1000;
        while (true)
        {
            var last = Interlocked.Read(ref _lastGeneration);
            var next = Math.Max(now, last + 1);
            if (Interlocked.CompareExchange(ref _lastGeneration, next, last) == last)
            {
                return next;
            }
        }
    }

    public StoredBucket CreateBucket(string project, string name, string? location, string? storageClass, IReadOnlyDictionary<string, string>? labels)
    {
        ValidateBucketName(name);
        var now = time.GetUtcNow();
        var bucket = new StoredBucket(name, project, (location ?? "US").ToUpperInvariant(), storageClass ?? "STANDARD", 1, now, now, labels);
        lock (_bucketsLock)
        {
            if (_buckets.ContainsKey(name))
            {
                throw GoogleApiException.Conflict("Your previous request to create the named bucket succeeded and you already own it.");
            }

            persistence?.SaveBucket(bucket);
            _buckets[name] = new BucketState(bucket);
        }

        return bucket;
    }

    public StoredBucket GetBucket(string name) => Bucket(name).Bucket;

    public void DeleteBucket(string name, long? ifMetagenerationMatch)
    {
        lock (_bucketsLock)
        {
            var state = Bucket(name);
            lock (state.Lock)
            {
                if (ifMetagenerationMatch is { } expected && expected != state.Bucket.Metageneration)
                {
                    throw GoogleApiException.PreconditionFailed();
                }

                if (state.Objects.Count > 0)
                {
                    throw GoogleApiException.Conflict("The bucket you tried to delete is not empty.");
                }

                persistence?.DeleteBucket(name);
                state.Deleted = true;
                _buckets.Remove(name);
            }
        }
    }

    public (IReadOnlyList<StoredBucket> Items, string? NextPageToken) ListBuckets(string project, string? prefix, string? pageToken, int maxResults)
    {
        var after = DecodePageToken(pageToken);
        lock (_bucketsLock)
        {
            var matching = _buckets.Values
                .Select(state => state.Bucket)
                .Where(b => b.Project == project && (prefix is null || b.Name.StartsWith(prefix, StringComparison.Ordinal)))
                .Where(b => after is null || string.CompareOrdinal(b.Name, after) > 0)
                .Take(maxResults + 1)
                .ToList();
            return matching.Count > maxResults
                ? (matching[..maxResults], EncodePageToken(matching[maxResults - 1].Name))
                : (matching, null);
        }
    }

    public StoredObject GetObject(string bucket, string name, long? generation, ObjectConditions conditions)
    {
        var state = Bucket(bucket);
        lock (state.Lock)
        {
            var current = state.Objects.GetValueOrDefault(name);
            if (current is null || (generation is { } g && g != current.Generation))
            {
                throw ObjectNotFound(bucket, name);
            }

            conditions.EnsureForRead(current);
            return current;
        }
    }

    /// <summary>Stores a new generation of an object if the preconditions hold against the live one.</summary>
    public async Task<StoredObject> PutObjectAsync(
        string bucket, string name, ObjectMetadata metadata, ObjectContent content, ObjectConditions conditions, CancellationToken cancellationToken)
    {
        ValidateObjectName(name);
        var state = Bucket(bucket);
        lock (state.Lock)
        {
            // Fail early (before writing bytes to disk) when the preconditions already do not hold.
            conditions.Ensure(state.Objects.GetValueOrDefault(name));
        }

        var generation = NextGeneration();
        if (persistence is not null)
        {
            await persistence.WriteContentAsync(bucket, name, generation, content, cancellationToken);
        }

        var now = time.GetUtcNow();
        var stored = new StoredObject(bucket, name, generation, 1, metadata, now, now, content);
        try
        {
            lock (state.Lock)
            {
                var current = state.Objects.GetValueOrDefault(name);
                conditions.Ensure(current);
                if (state.Deleted)
                {
                    throw GoogleApiException.NotFound("The specified bucket does not exist.");
                }

                persistence?.CommitObject(stored, current?.Generation);
                state.Objects[name] = stored;
                return stored;
            }
        }
        catch (GoogleApiException)
        {
            persistence?.DiscardContent(bucket, name, generation);
            throw;
        }
    }

    public void DeleteObject(string bucket, string name, long? generation, ObjectConditions conditions)
    {
        var state = Bucket(bucket);
        lock (state.Lock)
        {
            var current = state.Objects.GetValueOrDefault(name);
            if (current is null || (generation is { } g && g != current.Generation))
            {
                throw ObjectNotFound(bucket, name);
            }

            conditions.Ensure(current);
            persistence?.DeleteObject(current);
            state.Objects.Remove(name);
        }
    }

    /// <summary>Merges metadata into the live generation and bumps its metageneration.</summary>
    public StoredObject PatchObject(string bucket, string name, long? generation, ObjectConditions conditions, Func<ObjectMetadata, ObjectMetadata> patch)
    {
        var state = Bucket(bucket);
        lock (state.Lock)
        {
            var current = state.Objects.GetValueOrDefault(name);
            if (current is null || (generation is { } g && g != current.Generation))
            {
                throw ObjectNotFound(bucket, name);
            }

            conditions.Ensure(current);
            var updated = current with
            {
                Metadata = patch(current.Metadata),
                Metageneration = current.Metageneration + 1,
                Updated = time.GetUtcNow(),
            };
            persistence?.CommitObject(updated, previousGeneration: null);
            state.Objects[name] = updated;
            return updated;
        }
    }

    public ObjectListing ListObjects(string bucket, ObjectListRequest request)
    {
        var state = Bucket(bucket);
        var after = DecodePageToken(request.PageToken);
        var prefix = request.Prefix ?? string.Empty;
        var items = new List<StoredObject>();
        var prefixes = new List<string>();
        string? lastEmitted = null;
        lock (state.Lock)
        {
            foreach (var (name, stored) in state.Objects)
            {
                if (!name.StartsWith(prefix, StringComparison.Ordinal)
                    || (after is not null && string.CompareOrdinal(name, after) <= 0)
                    || (request.StartOffset is not null && string.CompareOrdinal(name, request.StartOffset) < 0)
                    || (request.EndOffset is not null && string.CompareOrdinal(name, request.EndOffset) >= 0))
                {
                    continue;
                }

                var delimiterAt = string.IsNullOrEmpty(request.Delimiter)
                    ? -1
                    : name.IndexOf(request.Delimiter, prefix.Length, StringComparison.Ordinal);
                var collapsed = delimiterAt >= 0 ? name[..(delimiterAt + request.Delimiter!.Length)] : null;
                if (collapsed is not null && prefixes.Count > 0 && prefixes[^1] == collapsed)
                {
                    continue;
                }

                if (items.Count + prefixes.Count == request.MaxResults)
                {
                    return new ObjectListing(items, prefixes, EncodePageToken(lastEmitted!));
                }

                if (collapsed is not null)
                {
                    prefixes.Add(collapsed);
                    if (request.IncludeTrailingDelimiter && name == collapsed)
                    {
                        items.Add(stored);
                    }

                    // The next page starts after every name under this prefix, so a prefix is never repeated.
                    lastEmitted = collapsed + char.MaxValue;
                    continue;
                }

                items.Add(stored);
                lastEmitted = name;
            }
        }

        return new ObjectListing(items, prefixes, null);
    }

    private BucketState Bucket(string name)
    {
        lock (_bucketsLock)
        {
            return _buckets.GetValueOrDefault(name) ?? throw GoogleApiException.NotFound("The specified bucket does not exist.");
        }
    }

    private static GoogleApiException ObjectNotFound(string bucket, string name) =>
        GoogleApiException.NotFound($"No such object: {bucket}/{name}");

    private static void ValidateBucketName(string name)
    {
        if (!BucketNamePattern().IsMatch(name) || name.Contains("..", StringComparison.Ordinal))
        {
            throw GoogleApiException.Invalid($"Invalid bucket name: '{name}'");
        }
    }

    private static void ValidateObjectName(string name)
    {
        if (name.Length == 0 || Encoding.UTF8.GetByteCount(name) > 1024 || name is "." or ".."
            || name.Contains('\r', StringComparison.Ordinal) || name.Contains('\n', StringComparison.Ordinal))
        {
            throw GoogleApiException.Invalid($"The object name '{name}' is invalid.");
        }
    }

    private static string EncodePageToken(string lastName) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(lastName));

    private static string? DecodePageToken(string? token)
    {
        if (string.IsNullOrEmpty(token))
        {
            return null;
        }

        try
        {
            return Encoding.UTF8.GetString(Base64Url.DecodeFromChars(token));
        }
        catch (FormatException)
        {
            throw GoogleApiException.Invalid("Invalid pageToken.");
        }
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$")]
    private static partial Regex BucketNamePattern();

    private sealed class BucketState(StoredBucket bucket)
    {
        public Lock Lock { get; } = new();

        public StoredBucket Bucket { get; } = bucket;

        /// <summary>Set under <see cref="Lock"/> when the bucket is deleted, so an upload finishing late cannot land in it.</summary>
        public bool Deleted { get; set; }

        public SortedDictionary<string, StoredObject> Objects { get; } = new(StringComparer.Ordinal);
    }
}
