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

    private AccountService Service(IEventStore store, int snapshotInterval = 50) =>
        new(store, Options.Create(new AccountsOptions { SnapshotInterval = snapshotInterval }), new AccountsMetrics(_meters.GetRequiredService<IMeterFactory>()));

    [Fact]
    public async Task A_conflicting_append_is_retried_with_a_fresh_load_and_succeeds()
    {
        var store = new ConflictingStore(new InMemoryEventStore(), conflicts: 2);
        var service = Service(store);
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
        var service = Service(store);
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

    /// <summary>Lets the first <c>conflicts</c> appends after <see cref="Arm"/> fail as if another writer won.</summary>
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

        public Task<StoredStream> LoadAsync(Guid accountId, Guid? transactionId, CancellationToken cancellationToken) =>
            inner.LoadAsync(accountId, transactionId, cancellationToken);

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
