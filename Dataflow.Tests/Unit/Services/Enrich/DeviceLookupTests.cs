using System.Collections.Concurrent;
using Dataflow.Enrich.Lookup;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dataflow.Tests.Unit.Services.Enrich;

internal sealed class FakeStore : IDeviceStore
{
    public ConcurrentDictionary<string, IReadOnlyDictionary<string, string>> Documents { get; } = new();

    public int Calls;

    public Exception? Outage { get; set; }

    public TaskCompletionSource? Gate { get; set; }

    public async Task<LookupEntry> GetAsync(string key, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref Calls);
        if (Gate is { } gate)
        {
            await gate.Task;
        }

        if (Outage is { } outage)
        {
            throw outage;
        }

        return Documents.TryGetValue(key, out var fields) ? new LookupEntry(fields) : LookupEntry.NotFound;
    }
}

internal sealed class FakeCache : IDeviceCache
{
    public ConcurrentDictionary<string, (LookupEntry Entry, TimeSpan Ttl)> Entries { get; } = new();

    public int Gets;

    public Exception? Outage { get; set; }

    public Task<LookupEntry?> GetAsync(string key, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref Gets);
        if (Outage is { } outage)
        {
            return Task.FromException<LookupEntry?>(outage);
        }

        return Task.FromResult(Entries.TryGetValue(key, out var entry) ? entry.Entry : null);
    }

    public Task SetAsync(string key, LookupEntry entry, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        if (Outage is { } outage)
        {
            return Task.FromException(outage);
        }

        Entries[key] = (entry, timeToLive);
        return Task.CompletedTask;
    }
}

internal sealed class SteppedClock(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}

[Trait("Category", "Unit")]
public sealed class DeviceLookupTests
{
    private static readonly IReadOnlyDictionary<string, string> Dev1 = new Dictionary<string, string> { ["ClientID"] = "Boiler", ["LocationID"] = "hall-a" };
    private readonly FakeStore _store = new();
    private readonly FakeCache _cache = new();
    private readonly SteppedClock _clock = new(new DateTimeOffset(2026, 11, 21, 12, 0, 0, TimeSpan.Zero));
    private readonly LookupOptions _options = new() { LruTimeToLive = TimeSpan.FromMinutes(5), RedisTimeToLive = TimeSpan.FromHours(2), NegativeTimeToLive = TimeSpan.FromSeconds(30) };

    public DeviceLookupTests() => _store.Documents["dev-1"] = Dev1;

    private DeviceLookup Create(bool withCache = true) => new(_store, withCache ? _cache : null, _options, NullLogger.Instance, timeProvider: _clock);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_store_hit_is_written_back_to_redis_and_then_served_from_the_lru()
    {
        var lookup = Create();

        var first = await lookup.GetAsync("dev-1", Ct);
        var second = await lookup.GetAsync("dev-1", Ct);

        Assert.Equal(Dev1, first.Fields);
        Assert.Equal(Dev1, second.Fields);
        Assert.Equal(1, _store.Calls);
        Assert.Equal(1, _cache.Gets);
        Assert.Equal(TimeSpan.FromHours(2), _cache.Entries["dev-1"].Ttl);
    }

    [Fact]
    public async Task A_redis_hit_skips_the_store_and_fills_the_lru()
    {
        _cache.Entries["dev-2"] = (new LookupEntry(new Dictionary<string, string> { ["ClientID"] = "Pump" }), TimeSpan.FromHours(1));
        var lookup = Create();

        var entry = await lookup.GetAsync("dev-2", Ct);
        await lookup.GetAsync("dev-2", Ct);

        Assert.Equal("Pump", entry.Fields!["ClientID"]);
        Assert.Equal(0, _store.Calls);
        Assert.Equal(1, _cache.Gets);
    }

    [Fact]
    public async Task The_lru_entry_expires_after_its_time_to_live()
    {
        var lookup = Create(withCache: false);
        await lookup.GetAsync("dev-1", Ct);

        _clock.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(1));
        await lookup.GetAsync("dev-1", Ct);

        Assert.Equal(2, _store.Calls);
    }

    [Fact]
    public async Task A_missing_document_is_cached_negatively_for_the_short_ttl()
    {
        var lookup = Create();

        var first = await lookup.GetAsync("ghost", Ct);
        var second = await lookup.GetAsync("ghost", Ct);

        Assert.False(first.IsFound);
        Assert.False(second.IsFound);
        Assert.Equal(1, _store.Calls);
        Assert.False(_cache.Entries["ghost"].Entry.IsFound);
        Assert.Equal(TimeSpan.FromSeconds(30), _cache.Entries["ghost"].Ttl);

        _clock.Advance(TimeSpan.FromSeconds(31));
        _cache.Entries.Clear();
        _store.Documents["ghost"] = Dev1;
        Assert.True((await lookup.GetAsync("ghost", Ct)).IsFound);
    }

    [Fact]
    public async Task A_redis_outage_falls_through_to_the_store()
    {
        _cache.Outage = new Dataflow.Redis.RedisConnectionException("connection refused");
        var lookup = Create();

        var entry = await lookup.GetAsync("dev-1", Ct);

        Assert.Equal(Dev1, entry.Fields);
        Assert.Equal(1, _store.Calls);
    }

    [Fact]
    public async Task A_store_outage_propagates_and_caches_nothing()
    {
        _store.Outage = new HttpRequestException("firestore down");
        var lookup = Create();

        await Assert.ThrowsAsync<HttpRequestException>(async () => await lookup.GetAsync("dev-1", Ct));

        Assert.Empty(_cache.Entries);
        _store.Outage = null;
        Assert.True((await lookup.GetAsync("dev-1", Ct)).IsFound);
        Assert.Equal(2, _store.Calls);
    }

    [Fact]
    public async Task Concurrent_misses_for_one_key_make_one_lookup()
    {
        _store.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var lookup = Create();

        var lookups = Enumerable.Range(0, 20).Select(_ => lookup.GetAsync("dev-1", Ct).AsTask()).ToList();
        while (Volatile.Read(ref _store.Calls) == 0)
        {
            await Task.Delay(5, Ct);
        }

        _store.Gate.SetResult();
        var results = await Task.WhenAll(lookups);

        Assert.All(results, r => Assert.Equal(Dev1, r.Fields));
        Assert.Equal(1, _store.Calls);
    }

    [Fact]
    public void The_lru_evicts_the_least_recently_used_entry()
    {
        var lru = new LruCache<string>(2, _clock);
        lru.Set("a", "1", TimeSpan.FromMinutes(1));
        lru.Set("b", "2", TimeSpan.FromMinutes(1));
        Assert.True(lru.TryGet("a", out _));

        lru.Set("c", "3", TimeSpan.FromMinutes(1));

        Assert.True(lru.TryGet("a", out _));
        Assert.False(lru.TryGet("b", out _));
        Assert.True(lru.TryGet("c", out _));
        Assert.Equal(2, lru.Count);
    }
}
