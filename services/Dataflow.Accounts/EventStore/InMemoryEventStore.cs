using System.Collections.Concurrent;
using Dataflow.Accounts.Domain;

namespace Dataflow.Accounts.EventStore;

/// <summary>
/// The embedded store: one lock per account, events in a list indexed by sequence number and a per-account
/// transaction-id index, so loads and appends cost the same however many events have accumulated.
/// Multi-account appends lock the accounts in ascending id order, so they cannot deadlock.
/// </summary>
public sealed class InMemoryEventStore : IEventStore
{
    private readonly ConcurrentDictionary<Guid, Stream> _streams = new();

    public Task InitializeAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task PingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<StoredStream> LoadAsync(Guid accountId, Guid? transactionId, CancellationToken cancellationToken)
    {
        if (!_streams.TryGetValue(accountId, out var stream))
        {
            return Task.FromResult(new StoredStream(null, [], []));
        }

        lock (stream.Gate)
        {
            var snapshot = stream.Snapshot;
            var from = (int)(snapshot?.SequenceNumber ?? 0);
            var events = stream.Events.GetRange(from, stream.Events.Count - from);
            IReadOnlyList<AccountEvent> transactionEvents =
                transactionId is { } tx && stream.ByTransaction.TryGetValue(tx, out var matches) ? [.. matches] : [];
            return Task.FromResult(new StoredStream(snapshot, events, transactionEvents));
        }
    }

    public Task<IReadOnlyList<AccountEvent>> ReadStreamAsync(Guid accountId, CancellationToken cancellationToken)
    {
        if (!_streams.TryGetValue(accountId, out var stream))
        {
            return Task.FromResult<IReadOnlyList<AccountEvent>>([]);
        }

        lock (stream.Gate)
        {
            return Task.FromResult<IReadOnlyList<AccountEvent>>([.. stream.Events]);
        }
    }

    public Task AppendAsync(IReadOnlyList<AccountEvent> events, IReadOnlyList<AccountSnapshot> snapshots, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(snapshots);
        if (events.Count == 0)
        {
            return Task.CompletedTask;
        }

        var ordered = events.OrderBy(e => e.AccountId).ThenBy(e => e.SequenceNumber).ToArray();
        var streams = ordered.Select(e => e.AccountId).Distinct().Select(id => _streams.GetOrAdd(id, static _ => new Stream())).ToArray();
        var entered = 0;
        try
        {
            foreach (var stream in streams)
            {
                Monitor.Enter(stream.Gate);
                entered++;
            }

            Validate(ordered);
            foreach (var e in ordered)
            {
                var stream = _streams[e.AccountId];
                stream.Events.Add(e);
                if (!stream.ByTransaction.TryGetValue(e.TransactionId, out var list))
                {
                    stream.ByTransaction[e.TransactionId] = list = new List<AccountEvent>(1);
                }

                list.Add(e);
            }

            foreach (var snapshot in snapshots)
            {
                var stream = _streams.GetOrAdd(snapshot.AccountId, static _ => new Stream());
                if (stream.Snapshot is null || stream.Snapshot.SequenceNumber < snapshot.SequenceNumber)
                {
                    stream.Snapshot = snapshot;
                }
            }
        }
        finally
        {
            for (var i = entered - 1; i >= 0; i--)
            {
                Monitor.Exit(streams[i].Gate);
            }
        }

        return Task.CompletedTask;
    }

    private void Validate(AccountEvent[] ordered)
    {
        var expected = 0L;
        var current = Guid.Empty;
        foreach (var e in ordered)
        {
            if (e.AccountId != current || expected == 0)
            {
                current = e.AccountId;
                expected = _streams[e.AccountId].Events.Count + 1;
            }

            if (e.SequenceNumber < expected)
            {
                throw new ConcurrencyConflictException($"Event {e.SequenceNumber} of account {e.AccountId} already exists.");
            }

            if (e.SequenceNumber > expected)
            {
                throw new ArgumentException($"Event {e.SequenceNumber} of account {e.AccountId} leaves a gap; the next is {expected}.", nameof(ordered));
            }

            expected++;
        }
    }

    private sealed class Stream
    {
        public readonly object Gate = new();
        public readonly List<AccountEvent> Events = [];
        public readonly Dictionary<Guid, List<AccountEvent>> ByTransaction = [];
        public AccountSnapshot? Snapshot;
    }
}
