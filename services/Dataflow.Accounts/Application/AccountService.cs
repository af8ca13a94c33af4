using Dataflow.Accounts.Domain;
using Dataflow.Accounts.EventStore;
using Microsoft.Extensions.Options;

namespace Dataflow.Accounts.Application;

/// <summary>
/// Runs commands as load → decide → append, repeating the whole cycle when the append conflicts
/// (another writer took the sequence number), up to <see cref="MaxAttempts"/> attempts.
/// A concurrent repeat of the same transaction surfaces here as a conflict and is recognised on reload.
/// </summary>
public sealed class AccountService(IEventStore store, IOptions<AccountsOptions> options, AccountsMetrics metrics)
{
    public const int MaxAttempts = 3;

    private readonly int _snapshotInterval = options.Value.SnapshotInterval;

    public async Task<AccountState?> GetAsync(Guid accountId, CancellationToken cancellationToken)
    {
        var state = (await store.LoadAsync(accountId, null, cancellationToken)).Fold(accountId);
        return state.Exists ? state : null;
    }

    public Task<IReadOnlyList<AccountEvent>> GetEventsAsync(Guid accountId, CancellationToken cancellationToken) =>
        store.ReadStreamAsync(accountId, cancellationToken);

    public Task<Decision> OpenAsync(Guid accountId, Guid ownerId, CancellationToken cancellationToken)
    {
        var transactionId = Guid.CreateVersion7();
        return ExecuteAsync(accountId, null, (state, _) => AccountDecisions.Open(state, ownerId, transactionId), cancellationToken);
    }

    public Task<Decision> DepositAsync(Guid accountId, long amount, Guid transactionId, CancellationToken cancellationToken) =>
        ExecuteAsync(accountId, transactionId, (state, seen) => AccountDecisions.Deposit(state, seen, amount, transactionId), cancellationToken);

    public Task<Decision> WithdrawAsync(Guid accountId, long amount, Guid transactionId, CancellationToken cancellationToken) =>
        ExecuteAsync(accountId, transactionId, (state, seen) => AccountDecisions.Withdraw(state, seen, amount, transactionId), cancellationToken);

    public Task<Decision> CloseAsync(Guid accountId, CancellationToken cancellationToken)
    {
        var transactionId = Guid.CreateVersion7();
        return ExecuteAsync(accountId, null, (state, _) => AccountDecisions.Close(state, transactionId), cancellationToken);
    }

    public async Task<Decision> TransferAsync(Guid sourceId, Guid targetId, long amount, Guid transactionId, CancellationToken cancellationToken)
    {
        if (sourceId == targetId)
        {
            return AccountDecisions.Transfer(AccountState.Empty(sourceId), [], AccountState.Empty(targetId), [], amount, transactionId);
        }

        for (var attempt = 1; ; attempt++)
        {
            var source = await store.LoadAsync(sourceId, transactionId, cancellationToken);
            var target = await store.LoadAsync(targetId, transactionId, cancellationToken);
            var sourceState = source.Fold(sourceId);
            var targetState = target.Fold(targetId);
            var decision = AccountDecisions.Transfer(sourceState, source.TransactionEvents, targetState, target.TransactionEvents, amount, transactionId);
            if (decision.Outcome != DecisionOutcome.Append)
            {
                return decision;
            }

            List<AccountSnapshot> snapshots = [];
            AddSnapshot(snapshots, sourceState, decision.Events[0]);
            AddSnapshot(snapshots, targetState, decision.Events[1]);
            if (await TryAppendAsync(decision, snapshots, attempt, cancellationToken))
            {
                return decision;
            }

            if (attempt == MaxAttempts)
            {
                return ConflictAfterRetries(sourceId);
            }
        }
    }

    private async Task<Decision> ExecuteAsync(
        Guid accountId,
        Guid? transactionId,
        Func<AccountState, IReadOnlyList<AccountEvent>, Decision> decide,
        CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var stream = await store.LoadAsync(accountId, transactionId, cancellationToken);
            var state = stream.Fold(accountId);
            var decision = decide(state, stream.TransactionEvents);
            if (decision.Outcome != DecisionOutcome.Append)
            {
                return decision;
            }

            List<AccountSnapshot> snapshots = [];
            AddSnapshot(snapshots, state, decision.Events[0]);
            if (await TryAppendAsync(decision, snapshots, attempt, cancellationToken))
            {
                return decision;
            }

            if (attempt == MaxAttempts)
            {
                return ConflictAfterRetries(accountId);
            }
        }
    }

    private async Task<bool> TryAppendAsync(Decision decision, List<AccountSnapshot> snapshots, int attempt, CancellationToken cancellationToken)
    {
        try
        {
            await store.AppendAsync(decision.Events, snapshots, cancellationToken);
            return true;
        }
        catch (ConcurrencyConflictException)
        {
            if (attempt < MaxAttempts)
            {
                metrics.Retried();
            }

            return false;
        }
    }

    /// <summary>Snapshots the state after <paramref name="appended"/> when its sequence number is a multiple of the interval.</summary>
    private void AddSnapshot(List<AccountSnapshot> snapshots, AccountState before, AccountEvent appended)
    {
        if (_snapshotInterval > 0 && appended.SequenceNumber % _snapshotInterval == 0)
        {
            snapshots.Add(before.Apply(appended).ToSnapshot());
        }
    }

    private Decision ConflictAfterRetries(Guid accountId)
    {
        metrics.RetriesExhausted();
        return Decision.Reject(
            RejectionKind.Conflict,
            $"Account {accountId} was modified concurrently; gave up after {MaxAttempts} attempts. Retry the request.");
    }
}
