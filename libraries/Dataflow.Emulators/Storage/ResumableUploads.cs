using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace Dataflow.Emulators.Storage;

/// <summary>Open resumable upload sessions, keyed by upload_id.</summary>
internal sealed class ResumableUploads(TimeProvider time, TimeSpan lifetime)
{
    private readonly ConcurrentDictionary<string, ResumableUpload> _sessions = new(StringComparer.Ordinal);

    public ResumableUpload Start(string bucket, string name, ObjectMetadata metadata, ObjectConditions conditions, long? declaredLength, string? expectedMd5, string? expectedCrc32C, bool computeMd5)
    {
        RemoveExpired();
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var session = new ResumableUpload(id, bucket, name, metadata, conditions, declaredLength, expectedMd5, expectedCrc32C, computeMd5, time.GetUtcNow());
        _sessions[id] = session;
        return session;
    }

    public ResumableUpload Get(string id)
    {
        if (!_sessions.TryGetValue(id, out var session) || IsExpired(session))
        {
            throw GoogleApiException.NotFound($"No such resumable upload session: {id}");
        }

        session.LastTouched = time.GetUtcNow();
        return session;
    }

    /// <summary>Cancels a session once its in-flight chunk (if any) is done; false when it did not exist.</summary>
    public async Task<bool> CancelAsync(string id, CancellationToken cancellationToken)
    {
        if (!_sessions.TryRemove(id, out var session))
        {
            return false;
        }

        await session.Gate.WaitAsync(cancellationToken);
        try
        {
            session.Close();
        }
        finally
        {
            session.Gate.Release();
        }

        return true;
    }

    private bool IsExpired(ResumableUpload session) => time.GetUtcNow() - session.LastTouched > lifetime;

    private void RemoveExpired()
    {
        foreach (var (id, session) in _sessions)
        {
            // An expired session's bytes are dropped with it; a chunk still holding it finishes on its own copy.
            if (IsExpired(session))
            {
                _sessions.TryRemove(id, out _);
            }
        }
    }
}

/// <summary>One resumable upload: the bytes persisted so far, and the object once finalized.</summary>
internal sealed class ResumableUpload(
    string id,
    string bucket,
    string name,
    ObjectMetadata metadata,
    ObjectConditions conditions,
    long? declaredLength,
    string? expectedMd5,
    string? expectedCrc32C,
    bool computeMd5,
    DateTimeOffset started)
{
    public string Id { get; } = id;

    public string Bucket { get; } = bucket;

    public string Name { get; } = name;

    public ObjectMetadata Metadata { get; } = metadata;

    public ObjectConditions Conditions { get; } = conditions;

    public long? DeclaredLength { get; } = declaredLength;

    public string? ExpectedMd5 { get; } = expectedMd5;

    public string? ExpectedCrc32C { get; } = expectedCrc32C;

    /// <summary>Serialises the chunks of one session; Cloud Storage also processes them one at a time.</summary>
    public SemaphoreSlim Gate { get; } = new(1, 1);

    public ObjectContentBuilder Builder { get; } = new(computeMd5);

    public DateTimeOffset LastTouched { get; set; } = started;

    public StoredObject? Completed { get; set; }

    /// <summary>Why finalizing failed (checksum mismatch, precondition); the session then answers with it forever.</summary>
    public GoogleApiException? Failure { get; set; }

    public long Persisted => Builder.Length;

    /// <summary>True once cancelled: further chunks are refused.</summary>
    public bool Closed { get; private set; }

    /// <summary>Releases the hashing state unless finalizing already did; call while holding <see cref="Gate"/>.</summary>
    public void Close()
    {
        if (Completed is null && Failure is null)
        {
            Builder.Dispose();
        }

        Closed = true;
    }
}
