using System.Diagnostics.Metrics;

namespace Dataflow.Accounts.EventStore;

/// <summary>
/// The service's own instruments on the "Dataflow.Accounts" meter (request rate and duration come from
/// ASP.NET Core's meters, connection-pool usage from Npgsql's "Npgsql" meter).
/// </summary>
public sealed class AccountsMetrics
{
    public const string MeterName = "Dataflow.Accounts";

    private readonly Histogram<double> _appendDuration;
    private readonly Histogram<double> _loadDuration;
    private readonly Counter<long> _conflicts;
    private readonly Counter<long> _retries;
    private readonly Counter<long> _exhausted;
    private readonly Counter<long> _snapshots;
    private readonly Counter<long> _events;
    private readonly UpDownCounter<long> _active;
    private readonly Counter<long> _stateCache;

    public AccountsMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(MeterName);
        _appendDuration = meter.CreateHistogram<double>("accounts.eventstore.append.duration", "s", "Time to append one unit of work (events and snapshots).");
        _loadDuration = meter.CreateHistogram<double>("accounts.eventstore.load.duration", "s", "Time to load one account (snapshot, later events, transaction lookup).");
        _conflicts = meter.CreateCounter<long>("accounts.eventstore.conflicts", "{conflict}", "Appends refused as concurrent modifications.");
        _retries = meter.CreateCounter<long>("accounts.command.retries", "{retry}", "Load-decide-append attempts repeated after a conflict.");
        _exhausted = meter.CreateCounter<long>("accounts.command.conflicts_exhausted", "{command}", "Commands answered 409 because every attempt conflicted.");
        _snapshots = meter.CreateCounter<long>("accounts.eventstore.snapshots", "{snapshot}", "Snapshots written.");
        _events = meter.CreateCounter<long>("accounts.eventstore.events_appended", "{event}", "Events appended.");
        _stateCache = meter.CreateCounter<long>(
            "accounts.state_cache.lookups",
            "{command}",
            "Commands that looked for cached account state: hit (appended without loading), stale (append refused, reloaded), " +
            "confirm (a refusal or no-op decided on it, decided again on loaded state), miss.");
        _active = meter.CreateUpDownCounter<long>("accounts.eventstore.operations.active", "{operation}", "Event-store operations in flight (each holds a database connection).");
    }

    internal void AppendSucceeded(string store, double seconds, int events, int snapshots)
    {
        var tag = new KeyValuePair<string, object?>("store", store);
        _appendDuration.Record(seconds, tag, new KeyValuePair<string, object?>("outcome", "ok"));
        _events.Add(events, tag);
        if (snapshots > 0)
        {
            _snapshots.Add(snapshots, tag);
        }
    }

    internal void AppendConflicted(string store, double seconds)
    {
        var tag = new KeyValuePair<string, object?>("store", store);
        _appendDuration.Record(seconds, tag, new KeyValuePair<string, object?>("outcome", "conflict"));
        _conflicts.Add(1, tag);
    }

    internal void AppendFailed(string store, double seconds) =>
        _appendDuration.Record(seconds, new KeyValuePair<string, object?>("store", store), new KeyValuePair<string, object?>("outcome", "error"));

    internal void Loaded(string store, double seconds) => _loadDuration.Record(seconds, new KeyValuePair<string, object?>("store", store));

    internal void OperationStarted(string store) => _active.Add(1, new KeyValuePair<string, object?>("store", store));

    internal void OperationEnded(string store) => _active.Add(-1, new KeyValuePair<string, object?>("store", store));

    public void Retried() => _retries.Add(1);

    public void RetriesExhausted() => _exhausted.Add(1);

    /// <summary>One command's use of the state cache; <paramref name="result"/> is hit, stale, confirm or miss.</summary>
    public void StateCacheLookup(string result) => _stateCache.Add(1, new KeyValuePair<string, object?>("result", result));
}
