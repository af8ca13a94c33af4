using System.Text.Json.Serialization;
using Dataflow.Accounts.Domain;

namespace Dataflow.Accounts.Api;

/// <summary>GET /api/account/{id}: the account, in this field order.</summary>
public sealed record AccountResponse(Guid AccountId, Guid OwnerId, long Balance, bool Open)
{
    public static AccountResponse From(AccountState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        return new(state.AccountId, state.OwnerId, state.Balance, state.IsOpen);
    }
}

/// <summary>
/// One element of GET /api/account/{id}/events. Members that do not belong to the event's type are omitted:
/// AccountOpened carries ownerId, MoneyDeposited amountDeposited and balance, MoneyWithdrawn amountWithdrawn and balance.
/// </summary>
public sealed record AccountEventResponse(
    long SequenceNumber,
    Guid TransactionId,
    string Type,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Guid? OwnerId,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? AmountDeposited,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? AmountWithdrawn,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? Balance)
{
    public static AccountEventResponse From(AccountEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return e.Type switch
        {
            AccountEventType.AccountOpened => new(e.SequenceNumber, e.TransactionId, nameof(AccountEventType.AccountOpened), e.OwnerId, null, null, null),
            AccountEventType.MoneyDeposited => new(e.SequenceNumber, e.TransactionId, nameof(AccountEventType.MoneyDeposited), null, e.Amount, null, e.Balance),
            AccountEventType.MoneyWithdrawn => new(e.SequenceNumber, e.TransactionId, nameof(AccountEventType.MoneyWithdrawn), null, null, e.Amount, e.Balance),
            AccountEventType.AccountClosed => new(e.SequenceNumber, e.TransactionId, nameof(AccountEventType.AccountClosed), null, null, null, null),
            _ => throw new InvalidOperationException($"Unknown event type {e.Type}."),
        };
    }
}
