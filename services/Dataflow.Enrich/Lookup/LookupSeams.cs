namespace Dataflow.Enrich.Lookup;

/// <summary>What a layer knows about a key: its fields, or that the source of truth has no such document.</summary>
public sealed record LookupEntry(IReadOnlyDictionary<string, string>? Fields)
{
    public static LookupEntry NotFound { get; } = new((IReadOnlyDictionary<string, string>?)null);

    public bool IsFound => Fields is not null;
}

/// <summary>The source of truth (Firestore): throws when it cannot answer (an outage), never caches.</summary>
public interface IDeviceStore
{
    /// <summary>The document's fields, or <see cref="LookupEntry.NotFound"/> when there is no document.</summary>
    Task<LookupEntry> GetAsync(string key, CancellationToken cancellationToken);
}

/// <summary>A shared cache (Redis) in front of the store. Its failures are survivable: the chain falls through.</summary>
public interface IDeviceCache
{
    /// <summary>The cached entry, or null on a miss.</summary>
    Task<LookupEntry?> GetAsync(string key, CancellationToken cancellationToken);

    Task SetAsync(string key, LookupEntry entry, TimeSpan timeToLive, CancellationToken cancellationToken);
}
