using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Dataflow.Enrich.Lookup;

/// <summary>TTLs and sizes of the lookup chain (<c>Enrich:Lookup</c>).</summary>
public sealed class LookupOptions
{
    /// <summary>Entries kept in process.</summary>
    public int LruCapacity { get; set; } = 10_000;

    /// <summary>How long a found entry stays in process (bounded so changes in the store reach us).</summary>
    public TimeSpan LruTimeToLive { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long a found entry stays in Redis (reference: 2 hours).</summary>
    public TimeSpan RedisTimeToLive { get; set; } = TimeSpan.FromHours(2);

    /// <summary>How long "no such document" is remembered, in every layer.</summary>
    public TimeSpan NegativeTimeToLive { get; set; } = TimeSpan.FromSeconds(30);

    public IEnumerable<string> Validate(string section)
    {
        if (LruCapacity < 1)
        {
            yield return $"{section}:{nameof(LruCapacity)} must be at least 1 (was {LruCapacity}).";
        }

        foreach (var (name, value) in new[] { (nameof(LruTimeToLive), LruTimeToLive), (nameof(RedisTimeToLive), RedisTimeToLive), (nameof(NegativeTimeToLive), NegativeTimeToLive) })
        {
            if (value <= TimeSpan.Zero)
            {
                yield return $"{section}:{name} must be positive (was {value}).";
            }
        }
    }
}

/// <summary>
/// Read-through lookup: in-process LRU → Redis → store (Firestore), each answer written back into the faster
/// layers (negative answers with the short negative TTL). A Redis failure falls through to the store; a store
/// failure propagates (the caller nacks). Concurrent misses for one key share one lookup (single-flight).
/// Metrics on the Meter "Dataflow.Enrich": <c>dataflow.enrich.lookups</c> tagged layer/result, and
/// <c>dataflow.enrich.lookup.duration</c>.
/// </summary>
public sealed class DeviceLookup
{
    public const string MeterName = "Dataflow.Enrich";

    private static readonly Meter SharedMeter = new(MeterName);
    private readonly LruCache<LookupEntry> _lru;
    private readonly IDeviceCache? _cache;
    private readonly IDeviceStore _store;
    private readonly LookupOptions _options;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, Lazy<Task<LookupEntry>>> _inFlight = new(StringComparer.Ordinal);
    private readonly Counter<long> _lookups;
    private readonly Histogram<double> _duration;

    public DeviceLookup(IDeviceStore store, IDeviceCache? cache, LookupOptions options, ILogger logger, IMeterFactory? meterFactory = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        _store = store;
        _cache = cache;
        _options = options;
        _logger = logger;
        _lru = new LruCache<LookupEntry>(options.LruCapacity, timeProvider);
        var meter = meterFactory?.Create(MeterName) ?? SharedMeter;
        _lookups = meter.CreateCounter<long>("dataflow.enrich.lookups", "{lookup}", "Lookups answered (or not) per layer: layer=lru|redis|firestore, result=hit|miss|not_found|error.");
        _duration = meter.CreateHistogram<double>("dataflow.enrich.lookup.duration", "s", "Time to answer one lookup through the chain.");
    }

    public async ValueTask<LookupEntry> GetAsync(string key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        var started = Stopwatch.GetTimestamp();
        try
        {
            if (_lru.TryGet(key, out var cached))
            {
                Count("lru", "hit");
                return cached;
            }

            Count("lru", "miss");
            var load = _inFlight.GetOrAdd(key, static (k, self) => new Lazy<Task<LookupEntry>>(() => self.LoadAsync(k)), this);
            return await load.Value.WaitAsync(cancellationToken);
        }
        finally
        {
            _duration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
    }

    private async Task<LookupEntry> LoadAsync(string key)
    {
        // Shared by every caller of this key, so it is not bound to any one caller's cancellation.
        try
        {
            if (_cache is not null)
            {
                try
                {
                    if (await _cache.GetAsync(key, CancellationToken.None) is { } hit)
                    {
                        Count("redis", "hit");
                        _lru.Set(key, hit, hit.IsFound ? _options.LruTimeToLive : _options.NegativeTimeToLive);
                        return hit;
                    }

                    Count("redis", "miss");
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    Count("redis", "error");
                    _logger.LogWarning(ex, "Redis lookup of {Key} failed; falling through to the store", key);
                }
            }

            LookupEntry entry;
            try
            {
                entry = await _store.GetAsync(key, CancellationToken.None);
            }
            catch
            {
                Count("firestore", "error");
                throw;
            }

            Count("firestore", entry.IsFound ? "hit" : "not_found");
            _lru.Set(key, entry, entry.IsFound ? _options.LruTimeToLive : _options.NegativeTimeToLive);
            if (_cache is not null)
            {
                try
                {
                    await _cache.SetAsync(key, entry, entry.IsFound ? _options.RedisTimeToLive : _options.NegativeTimeToLive, CancellationToken.None);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    _logger.LogWarning(ex, "Writing {Key} back to Redis failed", key);
                }
            }

            return entry;
        }
        finally
        {
            _inFlight.TryRemove(key, out _);
        }
    }

    private void Count(string layer, string result) =>
        _lookups.Add(1, new KeyValuePair<string, object?>("layer", layer), new KeyValuePair<string, object?>("result", result));
}
