using Dataflow.Accounts.Domain;
using Dataflow.Accounts.EventStore;
using Dataflow.Tests.Infrastructure;
using Npgsql;

namespace Dataflow.Tests.Integration.Accounts;

/// <summary>The behaviour every <see cref="IEventStore"/> must have; run against each store by a subclass.</summary>
public abstract class EventStoreContractTests
{
    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A store over fresh, empty storage, schema not yet created.</summary>
    protected abstract Task<IEventStore> CreateUninitializedStoreAsync();

    /// <summary>Another store instance over the same storage as the last one created (a second service instance).</summary>
    protected abstract IEventStore SecondInstance();

    private async Task<IEventStore> CreateStoreAsync()
    {
        var store = await CreateUninitializedStoreAsync();
        await store.InitializeAsync(Ct);
        return store;
    }

    private static AccountEvent[] History(Guid id, Guid owner, int deposits)
    {
        var events = new List<AccountEvent> { AccountEvent.Opened(id, 1, Guid.NewGuid(), owner) };
        for (var i = 1; i <= deposits; i++)
        {
            events.Add(AccountEvent.Deposited(id, i + 1, Guid.NewGuid(), 1, i));
        }

        return [.. events];
    }

    [Fact]
    public async Task Appended_events_read_back_in_sequence_order_with_every_field()
    {
        var store = await CreateStoreAsync();
        var id = Guid.NewGuid();
        var other = Guid.NewGuid();
        var owner = Guid.NewGuid();
        AccountEvent[] events =
        [
            AccountEvent.Opened(id, 1, Guid.NewGuid(), owner),
            AccountEvent.Deposited(id, 2, Guid.NewGuid(), long.MaxValue - 1, long.MaxValue - 1),
            AccountEvent.Withdrawn(id, 3, Guid.NewGuid(), long.MaxValue - 1, 0, other),
            AccountEvent.Deposited(id, 4, Guid.NewGuid(), 9, 9, other),
            AccountEvent.Withdrawn(id, 5, Guid.NewGuid(), 9, 0),
            AccountEvent.Closed(id, 6, Guid.NewGuid()),
        ];
        foreach (var e in events)
        {
            await store.AppendAsync([e], [], Ct);
        }

        Assert.Equal(events, await store.ReadStreamAsync(id, Ct));
        var loaded = await store.LoadAsync(id, null, Ct);
        Assert.Null(loaded.Snapshot);
        Assert.Equal(events, loaded.Events);
        Assert.Empty(loaded.TransactionEvents);
        Assert.Equal(new AccountState(id, owner, 0, false, 6), loaded.Fold(id));
    }

    [Fact]
    public async Task An_unknown_account_loads_and_reads_empty()
    {
        var store = await CreateStoreAsync();
        var id = Guid.NewGuid();

        var loaded = await store.LoadAsync(id, Guid.NewGuid(), Ct);

        Assert.Null(loaded.Snapshot);
        Assert.Empty(loaded.Events);
        Assert.Empty(loaded.TransactionEvents);
        Assert.Empty(await store.ReadStreamAsync(id, Ct));
    }

    [Fact]
    public async Task A_duplicate_sequence_number_is_a_concurrency_conflict_and_stores_nothing()
    {
        var store = await CreateStoreAsync();
        var id = Guid.NewGuid();
        var history = History(id, Guid.NewGuid(), 1);
        await store.AppendAsync(history, [], Ct);

        var duplicate = AccountEvent.Deposited(id, 2, Guid.NewGuid(), 5, 6);
        await Assert.ThrowsAsync<ConcurrencyConflictException>(() => store.AppendAsync([duplicate], [], Ct));

        Assert.Equal(history, await store.ReadStreamAsync(id, Ct));
    }

    [Fact]
    public async Task A_transaction_id_already_recorded_on_the_account_is_a_concurrency_conflict_and_stores_nothing()
    {
        var store = await CreateStoreAsync();
        var id = Guid.NewGuid();
        var other = Guid.NewGuid();
        var history = History(id, Guid.NewGuid(), 1);
        await store.AppendAsync([.. history, .. History(other, Guid.NewGuid(), 0)], [], Ct);
        var tx = history[1].TransactionId;

        await Assert.ThrowsAsync<ConcurrencyConflictException>(() => store.AppendAsync(
            [AccountEvent.Deposited(id, 3, tx, 1, 2)], [new AccountSnapshot(id, 3, history[0].OwnerId, 2, true)], Ct));
        var twice = Guid.NewGuid();
        await Assert.ThrowsAsync<ConcurrencyConflictException>(() => store.AppendAsync(
            [AccountEvent.Deposited(id, 3, twice, 1, 2), AccountEvent.Deposited(id, 4, twice, 1, 3)], [], Ct));

        Assert.Equal(history, await store.ReadStreamAsync(id, Ct));
        Assert.Null((await store.LoadAsync(id, null, Ct)).Snapshot);

        // The scope is the account: the same id on another account is a new transaction.
        await store.AppendAsync([AccountEvent.Deposited(other, 2, tx, 1, 1)], [], Ct);
        Assert.Equal(2, (await store.ReadStreamAsync(other, Ct)).Count);
    }

    [Fact]
    public async Task A_unit_spanning_two_accounts_is_all_or_nothing()
    {
        var store = await CreateStoreAsync();
        var source = Guid.NewGuid();
        var target = Guid.NewGuid();
        await store.AppendAsync([.. History(source, Guid.NewGuid(), 1), .. History(target, Guid.NewGuid(), 2)], [], Ct);
        var tx = Guid.NewGuid();

        // The target side collides with its existing event 3: the source side must not be stored either.
        await Assert.ThrowsAsync<ConcurrencyConflictException>(() => store.AppendAsync(
            [AccountEvent.Withdrawn(source, 3, tx, 1, 0, target), AccountEvent.Deposited(target, 3, tx, 1, 3, source)], [], Ct));

        Assert.Equal(2, (await store.ReadStreamAsync(source, Ct)).Count);
        Assert.Empty((await store.LoadAsync(source, tx, Ct)).TransactionEvents);
    }

    [Fact]
    public async Task The_transaction_id_of_a_transfer_is_recorded_on_both_sides()
    {
        var store = await CreateStoreAsync();
        var source = Guid.NewGuid();
        var target = Guid.NewGuid();
        await store.AppendAsync([.. History(source, Guid.NewGuid(), 3), .. History(target, Guid.NewGuid(), 0)], [], Ct);
        var tx = Guid.NewGuid();
        var withdrawn = AccountEvent.Withdrawn(source, 5, tx, 2, 1, target);
        var deposited = AccountEvent.Deposited(target, 2, tx, 2, 2, source);

        await store.AppendAsync([deposited, withdrawn], [], Ct);

        Assert.Equal([withdrawn], (await store.LoadAsync(source, tx, Ct)).TransactionEvents);
        Assert.Equal([deposited], (await store.LoadAsync(target, tx, Ct)).TransactionEvents);
        Assert.Empty((await store.LoadAsync(Guid.NewGuid(), tx, Ct)).TransactionEvents);
    }

    [Fact]
    public async Task The_transaction_lookup_is_scoped_to_the_account()
    {
        var store = await CreateStoreAsync();
        var first = Guid.NewGuid();
        var second = Guid.NewGuid();
        var tx = Guid.NewGuid();
        await store.AppendAsync([.. History(first, Guid.NewGuid(), 0), .. History(second, Guid.NewGuid(), 0)], [], Ct);
        var deposit = AccountEvent.Deposited(first, 2, tx, 5, 5);
        await store.AppendAsync([deposit], [], Ct);

        Assert.Equal([deposit], (await store.LoadAsync(first, tx, Ct)).TransactionEvents);
        Assert.Empty((await store.LoadAsync(second, tx, Ct)).TransactionEvents);
    }

    [Fact]
    public async Task Loading_reads_the_snapshot_then_only_later_events()
    {
        var store = await CreateStoreAsync();
        var id = Guid.NewGuid();
        var owner = Guid.NewGuid();
        var history = History(id, owner, 119);
        var atFifty = AccountState.Replay(id, null, history.Take(50)).ToSnapshot();
        var atHundred = AccountState.Replay(id, null, history.Take(100)).ToSnapshot();
        await store.AppendAsync(history[..50], [atFifty], Ct);
        await store.AppendAsync(history[50..100], [atHundred], Ct);
        await store.AppendAsync(history[100..], [], Ct);

        var loaded = await store.LoadAsync(id, null, Ct);

        Assert.Equal(atHundred, loaded.Snapshot);
        Assert.Equal(Enumerable.Range(101, 20).Select(i => (long)i), loaded.Events.Select(e => e.SequenceNumber));
        Assert.Equal(new AccountState(id, owner, 119, true, 120), loaded.Fold(id));
        Assert.Equal(history, await store.ReadStreamAsync(id, Ct));
    }

    [Fact]
    public async Task The_latest_snapshot_wins_over_an_older_one_written_later()
    {
        var store = await CreateStoreAsync();
        var id = Guid.NewGuid();
        var history = History(id, Guid.NewGuid(), 9);
        var atFive = AccountState.Replay(id, null, history.Take(5)).ToSnapshot();
        var atEight = AccountState.Replay(id, null, history.Take(8)).ToSnapshot();
        await store.AppendAsync(history, [atEight], Ct);

        await store.AppendAsync([], [atFive], Ct);

        var loaded = await store.LoadAsync(id, null, Ct);
        Assert.Equal(atEight, loaded.Snapshot);
        Assert.Equal([9L, 10L], loaded.Events.Select(e => e.SequenceNumber));
    }

    [Fact]
    public async Task A_snapshot_is_written_in_the_same_unit_as_its_events()
    {
        var store = await CreateStoreAsync();
        var id = Guid.NewGuid();
        var history = History(id, Guid.NewGuid(), 1);
        await store.AppendAsync(history, [], Ct);
        var clash = AccountEvent.Deposited(id, 2, Guid.NewGuid(), 1, 1);
        var snapshot = new AccountSnapshot(id, 2, Guid.NewGuid(), 1, true);

        await Assert.ThrowsAsync<ConcurrencyConflictException>(() => store.AppendAsync([clash], [snapshot], Ct));

        Assert.Null((await store.LoadAsync(id, null, Ct)).Snapshot);
    }

    [Fact]
    public async Task Concurrent_appends_of_the_same_sequence_number_let_exactly_one_win()
    {
        var store = await CreateStoreAsync();
        var id = Guid.NewGuid();
        await store.AppendAsync(History(id, Guid.NewGuid(), 0), [], Ct);

        var attempts = Enumerable.Range(0, 8).Select(async i =>
        {
            try
            {
                await store.AppendAsync([AccountEvent.Deposited(id, 2, Guid.NewGuid(), i + 1, i + 1)], [], Ct);
                return true;
            }
            catch (ConcurrencyConflictException)
            {
                return false;
            }
        });
        var results = await Task.WhenAll(attempts);

        Assert.Single(results, won => won);
        Assert.Equal(2, (await store.ReadStreamAsync(id, Ct)).Count);
    }

    [Fact]
    public async Task Initialization_is_idempotent_and_safe_when_instances_start_together()
    {
        var first = await CreateUninitializedStoreAsync();
        IEventStore[] instances = [first, SecondInstance(), SecondInstance(), SecondInstance()];

        await Task.WhenAll(instances.Select(s => s.InitializeAsync(Ct)));
        await first.InitializeAsync(Ct);

        var id = Guid.NewGuid();
        await instances[1].AppendAsync(History(id, Guid.NewGuid(), 2), [], Ct);
        Assert.Equal(3, (await instances[3].ReadStreamAsync(id, Ct)).Count);
        await instances[2].PingAsync(Ct);
    }
}

[Trait("Category", "Integration")]
public sealed class InMemoryEventStoreContractTests : EventStoreContractTests
{
    private InMemoryEventStore? _store;

    protected override Task<IEventStore> CreateUninitializedStoreAsync() => Task.FromResult<IEventStore>(_store = new InMemoryEventStore());

    protected override IEventStore SecondInstance() => _store!;
}

[Trait("Category", "Integration")]
public sealed class PostgreSqlEventStoreContractTests(SharedServers servers) : EventStoreContractTests, IAsyncDisposable
{
    private readonly List<NpgsqlDataSource> _dataSources = [];
    private string? _connectionString;

    protected override async Task<IEventStore> CreateUninitializedStoreAsync()
    {
        var postgres = await servers.GetPostgresAsync();
        _connectionString = await postgres.CreateDatabaseAsync(cancellationToken: Ct);
        return SecondInstance();
    }

    protected override IEventStore SecondInstance()
    {
        var dataSource = NpgsqlDataSource.Create(_connectionString!);
        _dataSources.Add(dataSource);
        return new PostgreSqlEventStore(dataSource);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var dataSource in _dataSources)
        {
            await dataSource.DisposeAsync();
        }
    }
}

[Trait("Category", "Integration")]
public sealed class MySqlEventStoreContractTests(SharedServers servers) : EventStoreContractTests
{
    private string? _connectionString;

    protected override async Task<IEventStore> CreateUninitializedStoreAsync()
    {
        var mariaDb = await servers.GetMariaDbAsync();
        _connectionString = await mariaDb.CreateDatabaseAsync(cancellationToken: Ct);
        return SecondInstance();
    }

    protected override IEventStore SecondInstance() => new MySqlEventStore(_connectionString!);
}
