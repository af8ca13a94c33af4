using System.Collections.Concurrent;
using Dataflow.Accounts.Domain;

namespace Dataflow.Accounts.EventStore;

/// <summary>
/// The embedded store: one lock per account, events in a list indexed by sequence number and a per-account
/// transaction-id index (a transaction id is recorded at most once per account), so loads and appends cost the
/// same however many events have accumulated. Stored events are plain values (no object per event, no
/// references), so the garbage collector never traces them and its work does not grow with their number either.
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
            var events = new List<AccountEvent>(stream.Events.Count - from);
            for (var i = from; i < stream.Events.Count; i++)
            {
                events.Add(stream.Events[i].ToEvent(accountId));
            }

            IReadOnlyList<AccountEvent> transactionEvents =
                transactionId is { } tx && stream.ByTransaction.TryGetValue(tx, out var index) ? [stream.Events[index].ToEvent(accountId)] : [];
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
            return Task.FromResult<IReadOnlyList<AccountEvent>>([.. stream.Events.Select(e => e.ToEvent(accountId))]);
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
                stream.ByTransaction.Add(e.TransactionId, stream.Events.Count);
                stream.Events.Add(StoredEvent.From(e));
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
        Stream? stream = null;
        for (var i = 0; i < ordered.Length; i++)
        {
            var e = ordered[i];
            if (e.AccountId != current || expected == 0)
            {
                current = e.AccountId;
                stream = _streams[e.AccountId];
                expected = stream.Events.Count + 1;
            }

            if (e.SequenceNumber < expected)
            {
                throw new ConcurrencyConflictException($"Event {e.SequenceNumber} of account {e.AccountId} already exists.");
            }

            if (stream!.ByTransaction.ContainsKey(e.TransactionId) || RepeatsEarlierTransaction(ordered, i))
            {
                throw new ConcurrencyConflictException($"Transaction {e.TransactionId} is already recorded on account {e.AccountId}.");
            }

            if (e.SequenceNumber > expected)
            {
                throw new ArgumentException($"Event {e.SequenceNumber} of account {e.AccountId} leaves a gap; the next is {expected}.", nameof(ordered));
            }

            expected++;
        }
    }

    /// <summary>Whether an earlier event of the same account in this unit carries the same transaction id (events are grouped by account).</summary>
    private static bool RepeatsEarlierTransaction(AccountEvent[] ordered, int index)
    {
        for (var j = index - 1; j >= 0 && ordered[j].AccountId == ordered[index].AccountId; j--)
        {
            if (ordered[j].TransactionId == ordered[index].TransactionId)
            {
                return true;
            }
        }

        return false;
    }

    private sealed class Stream
    {
        public readonly object Gate = new();
        /// <summary>Events in sequence order (index = sequence number - 1).</summary>
        public readonly List<StoredEvent> Events = [];

        /// <summary>Transaction id → index in <see cref="Events"/>.</summary>
        public readonly Dictionary<Guid, int> ByTransaction = [];
        public AccountSnapshot? Snapshot;
    }

    /// <summary>An event without its account id (the stream's), as a value: lists of these hold no references.</summary>
    private readonly record struct StoredEvent(
        long SequenceNumber,
        Guid TransactionId,
        AccountEventType Type,
        Guid OwnerId,
        long Amount,
        long Balance,
        Guid? CounterpartyId)
    {
        public static StoredEvent From(AccountEvent e) =>
            new(e.SequenceNumber, e.TransactionId, e.Type, e.OwnerId, e.Amount, e.Balance, e.CounterpartyId);

        public AccountEvent ToEvent(Guid accountId) =>
            new(accountId, SequenceNumber, TransactionId, Type, OwnerId, Amount, Balance, CounterpartyId);
    }
}
