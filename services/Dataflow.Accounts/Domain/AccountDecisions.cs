namespace Dataflow.Accounts.Domain;

/// <summary>
/// The account rules as pure functions: given the loaded state (and the events of the same account that already
/// carry the command's transaction id), decide what to record. Check order: amount validity, existence,
/// idempotency (a repeat answers like the original even if the account changed since), open/closed, zero no-op,
/// balance limits.
/// </summary>
public static class AccountDecisions
{
    public static Decision Open(AccountState state, Guid ownerId, Guid transactionId)
    {
        ArgumentNullException.ThrowIfNull(state);
        return state.Exists
            ? Decision.Reject(RejectionKind.Conflict, $"Account {state.AccountId} already exists.")
            : Decision.Append(AccountEvent.Opened(state.AccountId, 1, transactionId, ownerId));
    }

    public static Decision Deposit(AccountState state, IReadOnlyList<AccountEvent> transactionEvents, long amount, Guid transactionId)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(transactionEvents);
        if (amount < 0)
        {
            return NegativeAmount();
        }

        if (!state.Exists)
        {
            return NotFound(state.AccountId);
        }

        if (transactionEvents.Count > 0)
        {
            return Repeat(state.AccountId, transactionId, transactionEvents, e => e.Type == AccountEventType.MoneyDeposited && e.Amount == amount && e.CounterpartyId is null);
        }

        if (!state.IsOpen)
        {
            return Closed(state.AccountId);
        }

        if (amount == 0)
        {
            return Decision.Unchanged;
        }

        if (state.Balance > long.MaxValue - amount)
        {
            return Overflow(state.AccountId);
        }

        return Decision.Append(AccountEvent.Deposited(state.AccountId, state.Version + 1, transactionId, amount, state.Balance + amount));
    }

    public static Decision Withdraw(AccountState state, IReadOnlyList<AccountEvent> transactionEvents, long amount, Guid transactionId)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(transactionEvents);
        if (amount < 0)
        {
            return NegativeAmount();
        }

        if (!state.Exists)
        {
            return NotFound(state.AccountId);
        }

        if (transactionEvents.Count > 0)
        {
            return Repeat(state.AccountId, transactionId, transactionEvents, e => e.Type == AccountEventType.MoneyWithdrawn && e.Amount == amount && e.CounterpartyId is null);
        }

        if (!state.IsOpen)
        {
            return Closed(state.AccountId);
        }

        if (amount == 0)
        {
            return Decision.Unchanged;
        }

        if (amount > state.Balance)
        {
            return Insufficient(state, amount);
        }

        return Decision.Append(AccountEvent.Withdrawn(state.AccountId, state.Version + 1, transactionId, amount, state.Balance - amount));
    }

    /// <summary>
    /// A transfer is one unit: a withdrawal from <paramref name="source"/> and a deposit to <paramref name="target"/>,
    /// each naming the other account. It is a repeat when its transaction id is already on either account.
    /// </summary>
    public static Decision Transfer(
        AccountState source,
        IReadOnlyList<AccountEvent> sourceTransactionEvents,
        AccountState target,
        IReadOnlyList<AccountEvent> targetTransactionEvents,
        long amount,
        Guid transactionId)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(sourceTransactionEvents);
        ArgumentNullException.ThrowIfNull(targetTransactionEvents);
        if (source.AccountId == target.AccountId)
        {
            return Decision.Reject(RejectionKind.Invalid, "Cannot transfer to the same account.");
        }

        if (amount < 0)
        {
            return NegativeAmount();
        }

        if (!source.Exists)
        {
            return NotFound(source.AccountId);
        }

        if (!target.Exists)
        {
            return Decision.Reject(RejectionKind.NotFound, $"Transfer target account {target.AccountId} was not found.");
        }

        if (sourceTransactionEvents.Count > 0 || targetTransactionEvents.Count > 0)
        {
            var sameTransfer =
                sourceTransactionEvents.All(e => e.Type == AccountEventType.MoneyWithdrawn && e.Amount == amount && e.CounterpartyId == target.AccountId)
                && targetTransactionEvents.All(e => e.Type == AccountEventType.MoneyDeposited && e.Amount == amount && e.CounterpartyId == source.AccountId);
            return sameTransfer
                ? Decision.Unchanged
                : Decision.Reject(
                    RejectionKind.Conflict,
                    $"Transaction {transactionId} was already used on account {(sourceTransactionEvents.Count > 0 ? source.AccountId : target.AccountId)} for a different operation.");
        }

        if (!source.IsOpen)
        {
            return Closed(source.AccountId);
        }

        if (!target.IsOpen)
        {
            return Closed(target.AccountId);
        }

        if (amount == 0)
        {
            return Decision.Unchanged;
        }

        if (amount > source.Balance)
        {
            return Insufficient(source, amount);
        }

        if (target.Balance > long.MaxValue - amount)
        {
            return Overflow(target.AccountId);
        }

        return Decision.Append(
            AccountEvent.Withdrawn(source.AccountId, source.Version + 1, transactionId, amount, source.Balance - amount, target.AccountId),
            AccountEvent.Deposited(target.AccountId, target.Version + 1, transactionId, amount, target.Balance + amount, source.AccountId));
    }

    public static Decision Close(AccountState state, Guid transactionId)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (!state.Exists)
        {
            return NotFound(state.AccountId);
        }

        if (!state.IsOpen)
        {
            return Decision.Unchanged;
        }

        if (state.Balance != 0)
        {
            return Decision.Reject(
                RejectionKind.Conflict,
                $"Account {state.AccountId} cannot be closed: its balance is {state.Balance}, not 0.");
        }

        return Decision.Append(AccountEvent.Closed(state.AccountId, state.Version + 1, transactionId));
    }

    private static Decision Repeat(Guid accountId, Guid transactionId, IReadOnlyList<AccountEvent> transactionEvents, Func<AccountEvent, bool> isSameOperation) =>
        transactionEvents.All(isSameOperation)
            ? Decision.Unchanged
            : Decision.Reject(RejectionKind.Conflict, $"Transaction {transactionId} was already used on account {accountId} for a different operation.");

    private static Decision NegativeAmount() => Decision.Reject(RejectionKind.Invalid, "Amount must not be negative.");

    private static Decision NotFound(Guid accountId) => Decision.Reject(RejectionKind.NotFound, $"Account {accountId} was not found.");

    private static Decision Closed(Guid accountId) => Decision.Reject(RejectionKind.Conflict, $"Account {accountId} is closed.");

    private static Decision Overflow(Guid accountId) =>
        Decision.Reject(RejectionKind.Invalid, $"The balance of account {accountId} would exceed the largest representable amount.");

    private static Decision Insufficient(AccountState state, long amount) =>
        Decision.Reject(RejectionKind.Invalid, $"Insufficient balance in account {state.AccountId}: balance {state.Balance}, requested {amount}.");
}
