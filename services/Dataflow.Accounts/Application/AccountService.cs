using System.Diagnostics.CodeAnalysis;
using Dataflow.Accounts.Domain;
using Dataflow.Accounts.EventStore;
using Microsoft.Extensions.Options;

namespace Dataflow.Accounts.Application;

/// <summary>
/// Runs commands as load → decide → append, repeating the whole cycle when the append conflicts
/// (another writer took the sequence number), up to <see cref="MaxAttempts"/> attempts.
/// A concurrent repeat of the same transaction surfaces here as a conflict and is recognised on reload.
/// When the accounts' last known states are cached, a command is first decided on them and appended without
/// loading (one round trip instead of two). That is exact when the append succeeds: the stream had no event after
/// the cached version and the transaction id was not yet recorded on the account (the store refuses both), so the
/// cached state was the current one. A refused speculative append or any other outcome falls back to the full
/// cycle, whose attempts it does not consume.
/// </summary>
public sealed class AccountService(IEventStore store, IOptions<AccountsOptions> options, AccountsMetrics metrics, AccountStateCache? cache = null)
{
    public const int MaxAttempts = 3;

    private readonly int _snapshotInterval = options.Value.SnapshotInterval;

    public async Task<AccountState?> GetAsync(Guid accountId, CancellationToken cancellationToken)
    {
        var state = (await store.LoadAsync(accountId, null, cancellationToken)).Fold(accountId);
        cache?.Remember(state);
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

        if (TryGetCached(sourceId, out var cachedSource) && TryGetCached(targetId, out var cachedTarget))
        {
            var speculative = AccountDecisions.Transfer(cachedSource, [], cachedTarget, [], amount, transactionId);
            if (await TryAppendSpeculativelyAsync(speculative, [cachedSource, cachedTarget], cancellationToken))
            {
                return speculative;
            }
        }

        for (var attempt = 1; ; attempt++)
        {
            var source = await store.LoadAsync(sourceId, transactionId, cancellationToken);
            var target = await store.LoadAsync(targetId, transactionId, cancellationToken);
            var sourceState = source.Fold(sourceId);
            var targetState = target.Fold(targetId);
            cache?.Remember(sourceState);
            cache?.Remember(targetState);
            var decision = AccountDecisions.Transfer(sourceState, source.TransactionEvents, targetState, target.TransactionEvents, amount, transactionId);
            if (decision.Outcome != DecisionOutcome.Append)
            {
                return decision;
            }

            if (await TryAppendAsync(decision, [sourceState, targetState], attempt, cancellationToken))
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
        if (TryGetCached(accountId, out var cached))
        {
            var speculative = decide(cached, []);
            if (await TryAppendSpeculativelyAsync(speculative, [cached], cancellationToken))
            {
                return speculative;
            }
        }

        for (var attempt = 1; ; attempt++)
        {
            var stream = await store.LoadAsync(accountId, transactionId, cancellationToken);
            var state = stream.Fold(accountId);
            cache?.Remember(state);
            var decision = decide(state, stream.TransactionEvents);
            if (decision.Outcome != DecisionOutcome.Append)
            {
                return decision;
            }

            if (await TryAppendAsync(decision, [state], attempt, cancellationToken))
            {
                return decision;
            }

            if (attempt == MaxAttempts)
            {
                return ConflictAfterRetries(accountId);
            }
        }
    }

    private bool TryGetCached(Guid accountId, [MaybeNullWhen(false)] out AccountState state)
    {
        state = null;
        if (cache is null)
        {
            return false;
        }

        if (cache.TryGet(accountId, out state))
        {
            return true;
        }

        metrics.StateCacheLookup("miss");
        return false;
    }

    /// <summary>
    /// Appends a decision taken on cached states. Only appends are tried: a refusal or a no-op decided on a stale state
    /// could be wrong, so those are decided again on loaded state. On a conflict the cached states are dropped.
    /// </summary>
    private async Task<bool> TryAppendSpeculativelyAsync(Decision decision, AccountState[] before, CancellationToken cancellationToken)
    {
        if (decision.Outcome != DecisionOutcome.Append)
        {
            metrics.StateCacheLookup("confirm");
            return false;
        }

        try
        {
            await AppendAsync(decision, before, cancellationToken);
            metrics.StateCacheLookup("hit");
            return true;
        }
        catch (ConcurrencyConflictException)
        {
            foreach (var state in before)
            {
                cache!.Forget(state.AccountId);
            }

            metrics.StateCacheLookup("stale");
            return false;
        }
    }

    private async Task<bool> TryAppendAsync(Decision decision, AccountState[] before, int attempt, CancellationToken cancellationToken)
    {
        try
        {
            await AppendAsync(decision, before, cancellationToken);
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

    /// <summary>
    /// Appends the decision's events (the i-th applies to <paramref name="before"/>[i]) with the snapshots that fall
    /// due, then caches the states after them.
    /// </summary>
    private async Task AppendAsync(Decision decision, AccountState[] before, CancellationToken cancellationToken)
    {
        var after = new AccountState[before.Length];
        List<AccountSnapshot> snapshots = [];
        for (var i = 0; i < before.Length; i++)
        {
            var appended = decision.Events[i];
            after[i] = before[i].Apply(appended);
            if (_snapshotInterval > 0 && appended.SequenceNumber % _snapshotInterval == 0)
            {
                snapshots.Add(after[i].ToSnapshot());
            }
        }

        await store.AppendAsync(decision.Events, snapshots, cancellationToken);
        foreach (var state in after)
        {
            cache?.Remember(state);
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
