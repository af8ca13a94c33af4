using Dataflow.Accounts.Domain;

namespace Dataflow.Accounts.EventStore;

/// <summary>
/// What <see cref="IEventStore.LoadAsync"/> returns for one account: the latest snapshot (if any), the events
/// after it in sequence order, and every event of the account carrying the requested transaction id.
/// The snapshot may be newer than some of the events (it can be read after them); fold with
/// <see cref="AccountState.Replay"/>, which skips the covered ones.
/// </summary>
public sealed record StoredStream(AccountSnapshot? Snapshot, IReadOnlyList<AccountEvent> Events, IReadOnlyList<AccountEvent> TransactionEvents)
{
    public AccountState Fold(Guid accountId) => AccountState.Replay(accountId, Snapshot, Events);
}

/// <summary>
/// Append-only account streams with optimistic concurrency on (account id, sequence number).
/// Implementations: <see cref="InMemoryEventStore"/>, <see cref="PostgreSqlEventStore"/>, <see cref="MySqlEventStore"/>.
/// </summary>
public interface IEventStore
{
    /// <summary>Creates or migrates the schema; idempotent and safe when several instances start together.</summary>
    Task InitializeAsync(CancellationToken cancellationToken);

    /// <summary>Round-trips to the backing store; throws when it is unreachable.</summary>
    Task PingAsync(CancellationToken cancellationToken);

    /// <summary>Reads the latest snapshot, the events after it and, when given, the events carrying <paramref name="transactionId"/>.</summary>
    Task<StoredStream> LoadAsync(Guid accountId, Guid? transactionId, CancellationToken cancellationToken);

    /// <summary>Reads the whole stream from its first event, in sequence order; empty for an unknown account.</summary>
    Task<IReadOnlyList<AccountEvent>> ReadStreamAsync(Guid accountId, CancellationToken cancellationToken);

    /// <summary>
    /// Appends <paramref name="events"/> (one or more accounts) and upserts <paramref name="snapshots"/> in one
    /// atomic unit: all or nothing. An event whose (account, sequence number) already exists, or whose transaction id
    /// is already recorded on its account, makes the whole unit fail with <see cref="ConcurrencyConflictException"/>,
    /// as do deadlocks and serialization failures.
    /// A snapshot replaces the stored one only when it is newer.
    /// </summary>
    Task AppendAsync(IReadOnlyList<AccountEvent> events, IReadOnlyList<AccountSnapshot> snapshots, CancellationToken cancellationToken);
}

/// <summary>
/// Another writer got there first (duplicate sequence number or transaction id, deadlock or serialization failure);
/// reload and retry.
/// </summary>
public sealed class ConcurrencyConflictException : Exception
{
    public ConcurrencyConflictException()
        : base("The stream was modified concurrently.")
    {
    }

    public ConcurrencyConflictException(string message)
        : base(message)
    {
    }

    public ConcurrencyConflictException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
