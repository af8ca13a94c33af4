using System.Diagnostics.Metrics;
using Dataflow.Accounts;
using Dataflow.Accounts.Application;
using Dataflow.Accounts.Domain;
using Dataflow.Accounts.EventStore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Dataflow.Tests.Unit.Accounts;

[Trait("Category", "Unit")]
public sealed class AccountServiceTests : IDisposable
{
    private readonly ServiceProvider _meters = new ServiceCollection().AddMetrics().BuildServiceProvider();

    public void Dispose() => _meters.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private AccountService Service(IEventStore store, int snapshotInterval = 50, int stateCacheCapacity = 10_000) =>
        new(
            store,
            Options.Create(new AccountsOptions { SnapshotInterval = snapshotInterval }),
            new AccountsMetrics(_meters.GetRequiredService<IMeterFactory>()),
            stateCacheCapacity > 0 ? new AccountStateCache(stateCacheCapacity) : null);

    [Fact]
    public async Task A_conflicting_append_is_retried_with_a_fresh_load_and_succeeds()
    {
        var store = new ConflictingStore(new InMemoryEventStore(), conflicts: 2);
        var service = Service(store, stateCacheCapacity: 0);
        var id = Guid.NewGuid();
        await service.OpenAsync(id, Guid.NewGuid(), TestContext.Current.CancellationToken);
        store.Arm();

        var decision = await service.DepositAsync(id, 5, Guid.NewGuid(), TestContext.Current.CancellationToken);

        Assert.Equal(DecisionOutcome.Append, decision.Outcome);
        Assert.Equal(3, store.Appends);
        Assert.Equal(5, (await service.GetAsync(id, TestContext.Current.CancellationToken))!.Balance);
    }

    [Fact]
    public async Task Three_conflicting_attempts_answer_a_conflict_and_record_nothing()
    {
        var store = new ConflictingStore(new InMemoryEventStore(), conflicts: 3);
        var service = Service(store, stateCacheCapacity: 0);
        var id = Guid.NewGuid();
        await service.OpenAsync(id, Guid.NewGuid(), TestContext.Current.CancellationToken);
        store.Arm();

        var decision = await service.DepositAsync(id, 5, Guid.NewGuid(), TestContext.Current.CancellationToken);

        Assert.Equal(RejectionKind.Conflict, decision.Rejection);
        Assert.Equal(3, store.Appends);
        Assert.Equal(0, (await service.GetAsync(id, TestContext.Current.CancellationToken))!.Balance);
    }

    [Fact]
    public async Task A_snapshot_is_written_with_every_interval_th_event()
    {
        var store = new InMemoryEventStore();
        var service = Service(store, snapshotInterval: 5);
        var id = Guid.NewGuid();
        await service.OpenAsync(id, Guid.NewGuid(), TestContext.Current.CancellationToken);
        for (var i = 0; i < 11; i++)
        {
            await service.DepositAsync(id, 1, Guid.NewGuid(), TestContext.Current.CancellationToken);
        }

        var stream = await store.LoadAsync(id, null, TestContext.Current.CancellationToken);

        Assert.Equal(new AccountSnapshot(id, 10, stream.Snapshot!.OwnerId, 9, true), stream.Snapshot);
        Assert.Equal([11L, 12L], stream.Events.Select(e => e.SequenceNumber));
        Assert.Equal(11, stream.Fold(id).Balance);
    }

    [Fact]
    public async Task Snapshot_interval_zero_writes_no_snapshots()
    {
        var store = new InMemoryEventStore();
        var service = Service(store, snapshotInterval: 0);
        var id = Guid.NewGuid();
        await service.OpenAsync(id, Guid.NewGuid(), TestContext.Current.CancellationToken);
        for (var i = 0; i < 60; i++)
        {
            await service.DepositAsync(id, 1, Guid.NewGuid(), TestContext.Current.CancellationToken);
        }

        var stream = await store.LoadAsync(id, null, TestContext.Current.CancellationToken);

        Assert.Null(stream.Snapshot);
        Assert.Equal(61, stream.Events.Count);
    }

    [Fact]
    public async Task A_transfer_snapshots_each_side_that_reaches_the_interval()
    {
        var store = new InMemoryEventStore();
        var service = Service(store, snapshotInterval: 2);
        var source = Guid.NewGuid();
        var target = Guid.NewGuid();
        await service.OpenAsync(source, Guid.NewGuid(), TestContext.Current.CancellationToken);
        await service.OpenAsync(target, Guid.NewGuid(), TestContext.Current.CancellationToken);
        await service.DepositAsync(source, 10, Guid.NewGuid(), TestContext.Current.CancellationToken);

        await service.TransferAsync(source, target, 4, Guid.NewGuid(), TestContext.Current.CancellationToken);

        Assert.Equal(2, (await store.LoadAsync(source, null, TestContext.Current.CancellationToken)).Snapshot?.SequenceNumber);
        Assert.Equal(2, (await store.LoadAsync(target, null, TestContext.Current.CancellationToken)).Snapshot?.SequenceNumber);
        Assert.Equal(4, (await service.GetAsync(target, TestContext.Current.CancellationToken))!.Balance);
    }

    [Fact]
    public async Task A_command_on_a_cached_account_is_appended_without_loading_it()
    {
        var store = new ConflictingStore(new InMemoryEventStore(), conflicts: 0);
        var service = Service(store);
        var id = Guid.NewGuid();
        await service.OpenAsync(id, Guid.NewGuid(), Ct);
        var loadsAfterOpen = store.Loads;

        await service.DepositAsync(id, 5, Guid.NewGuid(), Ct);
        await service.WithdrawAsync(id, 2, Guid.NewGuid(), Ct);

        Assert.Equal(loadsAfterOpen, store.Loads);
        Assert.Equal([1L, 2L, 3L], (await store.ReadStreamAsync(id, Ct)).Select(e => e.SequenceNumber));
        Assert.Equal(3, (await service.GetAsync(id, Ct))!.Balance);
    }

    [Fact]
    public async Task Without_the_cache_every_command_loads_the_account()
    {
        var store = new ConflictingStore(new InMemoryEventStore(), conflicts: 0);
        var service = Service(store, stateCacheCapacity: 0);
        var id = Guid.NewGuid();
        await service.OpenAsync(id, Guid.NewGuid(), Ct);

        await service.DepositAsync(id, 5, Guid.NewGuid(), Ct);
        await service.DepositAsync(id, 5, Guid.NewGuid(), Ct);

        Assert.Equal(3, store.Loads);
    }

    /// <summary>Two instances on one store: the first cached balance 10, then the second deposited 5 (balance 15, version 3).</summary>
    private async Task<(InMemoryEventStore Store, AccountService First, AccountService Second, Guid Id)> StaleFirstInstanceAsync()
    {
        var store = new InMemoryEventStore();
        var first = Service(store);
        var second = Service(store);
        var id = Guid.NewGuid();
        await first.OpenAsync(id, Guid.NewGuid(), Ct);
        await first.DepositAsync(id, 10, Guid.NewGuid(), Ct);
        await second.DepositAsync(id, 5, Guid.NewGuid(), Ct);
        return (store, first, second, id);
    }

    [Fact]
    public async Task A_state_cached_before_another_instance_wrote_is_detected_and_the_command_applied_to_the_current_state()
    {
        var (store, first, _, id) = await StaleFirstInstanceAsync();

        var decision = await first.DepositAsync(id, 1, Guid.NewGuid(), Ct);

        Assert.Equal(DecisionOutcome.Append, decision.Outcome);
        Assert.Equal([1L, 2L, 3L, 4L], (await store.ReadStreamAsync(id, Ct)).Select(e => e.SequenceNumber));
        Assert.Equal(16, (await first.GetAsync(id, Ct))!.Balance);
    }

    [Fact]
    public async Task A_refusal_decided_on_a_stale_cached_state_is_decided_again_on_the_current_state()
    {
        var (_, first, second, id) = await StaleFirstInstanceAsync();

        // The first instance's cache still says 10: the overdraft it would decide there is not the answer.
        var decision = await first.WithdrawAsync(id, 15, Guid.NewGuid(), Ct);

        Assert.Equal(DecisionOutcome.Append, decision.Outcome);
        Assert.Equal(0, (await second.GetAsync(id, Ct))!.Balance);
    }

    [Fact]
    public async Task A_repeated_transaction_on_a_cached_account_is_applied_once()
    {
        var store = new InMemoryEventStore();
        var service = Service(store);
        var id = Guid.NewGuid();
        var tx = Guid.NewGuid();
        await service.OpenAsync(id, Guid.NewGuid(), Ct);
        await service.DepositAsync(id, 7, tx, Ct);

        // Decided on the cached state alone this would be a new deposit; the store refuses the transaction id.
        var repeat = await service.DepositAsync(id, 7, tx, Ct);
        var different = await service.DepositAsync(id, 8, tx, Ct);

        Assert.Equal(DecisionOutcome.Unchanged, repeat.Outcome);
        Assert.Equal(RejectionKind.Conflict, different.Rejection);
        Assert.Equal(7, (await service.GetAsync(id, Ct))!.Balance);
        Assert.Equal(2, (await store.ReadStreamAsync(id, Ct)).Count);
    }

    [Fact]
    public async Task A_repeated_transfer_between_cached_accounts_is_applied_once_even_through_another_instance()
    {
        var store = new InMemoryEventStore();
        var first = Service(store);
        var second = Service(store);
        var source = Guid.NewGuid();
        var target = Guid.NewGuid();
        var tx = Guid.NewGuid();
        await first.OpenAsync(source, Guid.NewGuid(), Ct);
        await first.OpenAsync(target, Guid.NewGuid(), Ct);
        await first.DepositAsync(source, 10, Guid.NewGuid(), Ct);
        await second.GetAsync(source, Ct);
        await second.GetAsync(target, Ct);

        var applied = await first.TransferAsync(source, target, 4, tx, Ct);
        var repeatedHere = await first.TransferAsync(source, target, 4, tx, Ct);
        var repeatedThere = await second.TransferAsync(source, target, 4, tx, Ct);

        Assert.Equal(DecisionOutcome.Append, applied.Outcome);
        Assert.Equal(DecisionOutcome.Unchanged, repeatedHere.Outcome);
        Assert.Equal(DecisionOutcome.Unchanged, repeatedThere.Outcome);
        Assert.Equal(6, (await second.GetAsync(source, Ct))!.Balance);
        Assert.Equal(4, (await second.GetAsync(target, Ct))!.Balance);
    }

    [Fact]
    public async Task A_refused_speculative_append_does_not_use_up_one_of_the_three_attempts()
    {
        var store = new ConflictingStore(new InMemoryEventStore(), conflicts: 3);
        var service = Service(store);
        var id = Guid.NewGuid();
        await service.OpenAsync(id, Guid.NewGuid(), Ct);
        store.Arm();

        var decision = await service.DepositAsync(id, 5, Guid.NewGuid(), Ct);

        Assert.Equal(DecisionOutcome.Append, decision.Outcome);
        Assert.Equal(4, store.Appends);
        Assert.Equal(5, (await service.GetAsync(id, Ct))!.Balance);
    }

    /// <summary>Counts loads and appends, and lets the first <c>conflicts</c> appends after <see cref="Arm"/> fail as if another writer won.</summary>
    private sealed class ConflictingStore(IEventStore inner, int conflicts) : IEventStore
    {
        private int _remaining;

        public int Appends { get; private set; }

        public void Arm()
        {
            _remaining = conflicts;
            Appends = 0;
        }

        public Task InitializeAsync(CancellationToken cancellationToken) => inner.InitializeAsync(cancellationToken);

        public Task PingAsync(CancellationToken cancellationToken) => inner.PingAsync(cancellationToken);

        public int Loads { get; private set; }

        public Task<StoredStream> LoadAsync(Guid accountId, Guid? transactionId, CancellationToken cancellationToken)
        {
            Loads++;
            return inner.LoadAsync(accountId, transactionId, cancellationToken);
        }

        public Task<IReadOnlyList<AccountEvent>> ReadStreamAsync(Guid accountId, CancellationToken cancellationToken) =>
            inner.ReadStreamAsync(accountId, cancellationToken);

        public Task AppendAsync(IReadOnlyList<AccountEvent> events, IReadOnlyList<AccountSnapshot> snapshots, CancellationToken cancellationToken)
        {
            Appends++;
            if (_remaining > 0)
            {
                _remaining--;
                throw new ConcurrencyConflictException();
            }

            return inner.AppendAsync(events, snapshots, cancellationToken);
        }
    }
}
