namespace Dataflow.Accounts.Domain;

/// <summary>
/// The state of one account folded from its snapshot and later events. <see cref="Version"/> is the sequence
/// number of the last event applied (0: the account does not exist).
/// </summary>
public sealed record AccountState(Guid AccountId, Guid OwnerId, long Balance, bool IsOpen, long Version)
{
    public bool Exists => Version > 0;

    public static AccountState Empty(Guid accountId) => new(accountId, Guid.Empty, 0, false, 0);

    public static AccountState FromSnapshot(AccountSnapshot snapshot) =>
        new(snapshot.AccountId, snapshot.OwnerId, snapshot.Balance, snapshot.IsOpen, snapshot.SequenceNumber);

    /// <summary>
    /// Folds <paramref name="events"/> (ascending) over <paramref name="snapshot"/>, skipping events the snapshot
    /// already covers: a store may read the snapshot after the events, so the snapshot can be the newer of the two.
    /// </summary>
    public static AccountState Replay(Guid accountId, AccountSnapshot? snapshot, IEnumerable<AccountEvent> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        var state = snapshot is null ? Empty(accountId) : FromSnapshot(snapshot);
        foreach (var e in events)
        {
            if (e.SequenceNumber > state.Version)
            {
                state = state.Apply(e);
            }
        }

        return state;
    }

    public AccountState Apply(AccountEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        if (e.SequenceNumber != Version + 1)
        {
            throw new InvalidOperationException(
                $"Event {e.SequenceNumber} of account {AccountId} does not follow version {Version}.");
        }

        return e.Type switch
        {
            AccountEventType.AccountOpened => this with { OwnerId = e.OwnerId, Balance = 0, IsOpen = true, Version = e.SequenceNumber },
            AccountEventType.MoneyDeposited or AccountEventType.MoneyWithdrawn => this with { Balance = e.Balance, Version = e.SequenceNumber },
            AccountEventType.AccountClosed => this with { IsOpen = false, Version = e.SequenceNumber },
            _ => throw new InvalidOperationException($"Unknown event type {e.Type} in account {AccountId}."),
        };
    }

    public AccountSnapshot ToSnapshot() => new(AccountId, Version, OwnerId, Balance, IsOpen);
}
