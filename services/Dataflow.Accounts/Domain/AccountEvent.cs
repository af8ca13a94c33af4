namespace Dataflow.Accounts.Domain;

/// <summary>The kinds of event an account stream holds. Values are persisted: never renumber.</summary>
public enum AccountEventType : byte
{
    AccountOpened = 1,
    MoneyDeposited = 2,
    MoneyWithdrawn = 3,
    AccountClosed = 4,
}

/// <summary>
/// One event of an account stream. The stream's state is the fold of these events.
/// <para>
/// <see cref="Amount"/> is the amount deposited or withdrawn (0 for open/close); <see cref="Balance"/> the
/// balance after the event. <see cref="CounterpartyId"/> is set on the two events a transfer records (the
/// other account), so a retried transfer can be told apart from a plain deposit or withdrawal that
/// happens to share its transaction id.
/// </para>
/// </summary>
public sealed record AccountEvent(
    Guid AccountId,
    long SequenceNumber,
    Guid TransactionId,
    AccountEventType Type,
    Guid OwnerId,
    long Amount,
    long Balance,
    Guid? CounterpartyId)
{
    public static AccountEvent Opened(Guid accountId, long sequenceNumber, Guid transactionId, Guid ownerId) =>
        new(accountId, sequenceNumber, transactionId, AccountEventType.AccountOpened, ownerId, 0, 0, null);

    public static AccountEvent Deposited(Guid accountId, long sequenceNumber, Guid transactionId, long amount, long balance, Guid? counterpartyId = null) =>
        new(accountId, sequenceNumber, transactionId, AccountEventType.MoneyDeposited, Guid.Empty, amount, balance, counterpartyId);

    public static AccountEvent Withdrawn(Guid accountId, long sequenceNumber, Guid transactionId, long amount, long balance, Guid? counterpartyId = null) =>
        new(accountId, sequenceNumber, transactionId, AccountEventType.MoneyWithdrawn, Guid.Empty, amount, balance, counterpartyId);

    public static AccountEvent Closed(Guid accountId, long sequenceNumber, Guid transactionId) =>
        new(accountId, sequenceNumber, transactionId, AccountEventType.AccountClosed, Guid.Empty, 0, 0, null);
}

/// <summary>An account's state as of <see cref="SequenceNumber"/>; the store keeps the latest one per account.</summary>
public sealed record AccountSnapshot(Guid AccountId, long SequenceNumber, Guid OwnerId, long Balance, bool IsOpen);
