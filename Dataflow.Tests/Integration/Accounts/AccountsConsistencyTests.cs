using System.Collections.Concurrent;
using System.Net;
using Dataflow.Tests.Infrastructure;

namespace Dataflow.Tests.Integration.Accounts;

/// <summary>
/// Concurrency through the HTTP API on each store: clients retry 409 as the spec says; no other failure
/// status may appear and no money may appear or vanish.
/// </summary>
public abstract class AccountsConsistencyTests
{
    private const int Threads = 8;

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    protected abstract Task<AccountsApp> CreateAppAsync();

    [Fact]
    public async Task Concurrent_distinct_deposits_to_one_account_all_apply()
    {
        await using var app = await CreateAppAsync();
        using var client = app.CreateClient();
        var id = await client.OpenAsync(Ct);
        var statuses = new ConcurrentBag<HttpStatusCode>();

        await Parallel.ForEachAsync(Enumerable.Range(0, Threads), Ct, async (_, ct) =>
        {
            for (var i = 0; i < 25; i++)
            {
                await UntilNotConflict(() => client.DepositAsync(id, 1, Guid.NewGuid(), ct), statuses);
            }
        });

        Assert.Equal(Threads * 25, await client.BalanceAsync(id, Ct));
        AssertOnly(statuses, HttpStatusCode.NoContent, HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task Concurrent_deposits_sharing_a_transaction_id_apply_once_per_round()
    {
        await using var app = await CreateAppAsync();
        using var client = app.CreateClient();
        var id = await client.OpenAsync(Ct);
        var statuses = new ConcurrentBag<HttpStatusCode>();

        for (var round = 0; round < 10; round++)
        {
            var tx = Guid.NewGuid();
            await Parallel.ForEachAsync(Enumerable.Range(0, Threads), Ct, async (_, ct) =>
                await UntilNotConflict(() => client.DepositAsync(id, 1, tx, ct), statuses));
        }

        Assert.Equal(10, await client.BalanceAsync(id, Ct));
        AssertOnly(statuses, HttpStatusCode.NoContent, HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task Concurrent_transfers_between_accounts_conserve_money()
    {
        await using var app = await CreateAppAsync();
        using var client = app.CreateClient();
        var accounts = new Guid[4];
        for (var i = 0; i < accounts.Length; i++)
        {
            accounts[i] = await client.OpenAsync(Ct);
            await client.DepositAsync(accounts[i], 1000, Guid.NewGuid(), Ct);
        }

        var statuses = new ConcurrentBag<HttpStatusCode>();
        var moved = new long[accounts.Length];
        await Parallel.ForEachAsync(Enumerable.Range(0, Threads), Ct, async (thread, ct) =>
        {
            for (var i = 0; i < 20; i++)
            {
                var from = (thread + i) % accounts.Length;
                var to = (from + 1 + (i % (accounts.Length - 1))) % accounts.Length;
                var status = await UntilNotConflict(() => client.TransferAsync(accounts[from], accounts[to], 7, Guid.NewGuid(), ct), statuses);
                if (status == HttpStatusCode.NoContent)
                {
                    Interlocked.Add(ref moved[from], -7);
                    Interlocked.Add(ref moved[to], 7);
                }
            }
        });

        for (var i = 0; i < accounts.Length; i++)
        {
            Assert.Equal(1000 + moved[i], await client.BalanceAsync(accounts[i], Ct));
        }

        AssertOnly(statuses, HttpStatusCode.NoContent, HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task Concurrent_repeats_of_one_transfer_apply_once_per_round()
    {
        await using var app = await CreateAppAsync();
        using var client = app.CreateClient();
        var source = await client.OpenAsync(Ct);
        var target = await client.OpenAsync(Ct);
        await client.DepositAsync(source, 1000, Guid.NewGuid(), Ct);
        var statuses = new ConcurrentBag<HttpStatusCode>();

        for (var round = 0; round < 10; round++)
        {
            var tx = Guid.NewGuid();
            await Parallel.ForEachAsync(Enumerable.Range(0, Threads), Ct, async (_, ct) =>
                await UntilNotConflict(() => client.TransferAsync(source, target, 3, tx, ct), statuses));
        }

        Assert.Equal(1000 - 30, await client.BalanceAsync(source, Ct));
        Assert.Equal(30, await client.BalanceAsync(target, Ct));
        AssertOnly(statuses, HttpStatusCode.NoContent, HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task Opposite_direction_transfers_under_load_never_fail_and_conserve_money()
    {
        await using var app = await CreateAppAsync();
        using var client = app.CreateClient();
        var a = await client.OpenAsync(Ct);
        var b = await client.OpenAsync(Ct);
        await client.DepositAsync(a, 10_000, Guid.NewGuid(), Ct);
        await client.DepositAsync(b, 10_000, Guid.NewGuid(), Ct);
        var statuses = new ConcurrentBag<HttpStatusCode>();
        long netToB = 0;

        await Parallel.ForEachAsync(Enumerable.Range(0, Threads), Ct, async (thread, ct) =>
        {
            for (var i = 0; i < 25; i++)
            {
                var forward = (thread + i) % 2 == 0;
                var status = await UntilNotConflict(
                    () => forward ? client.TransferAsync(a, b, 5, Guid.NewGuid(), ct) : client.TransferAsync(b, a, 5, Guid.NewGuid(), ct),
                    statuses);
                if (status == HttpStatusCode.NoContent)
                {
                    Interlocked.Add(ref netToB, forward ? 5 : -5);
                }
            }
        });

        Assert.Equal(10_000 - netToB, await client.BalanceAsync(a, Ct));
        Assert.Equal(10_000 + netToB, await client.BalanceAsync(b, Ct));
        AssertOnly(statuses, HttpStatusCode.NoContent, HttpStatusCode.Conflict);
    }

    /// <summary>Sends until the answer is not 409 (the spec's client contract); records every status seen.</summary>
    private static async Task<HttpStatusCode> UntilNotConflict(Func<Task<HttpStatusCode>> send, ConcurrentBag<HttpStatusCode> statuses)
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var status = await send();
            statuses.Add(status);
            if (status != HttpStatusCode.Conflict)
            {
                return status;
            }
        }

        throw new TimeoutException("Still 409 after 200 attempts.");
    }

    private static void AssertOnly(IEnumerable<HttpStatusCode> statuses, params HttpStatusCode[] allowed)
    {
        var unexpected = statuses.Where(s => !allowed.Contains(s)).GroupBy(s => s).Select(g => $"{(int)g.Key}×{g.Count()}").ToArray();
        Assert.True(unexpected.Length == 0, $"Unexpected statuses: {string.Join(", ", unexpected)}");
    }
}

[Trait("Category", "Integration")]
public sealed class InMemoryAccountsConsistencyTests : AccountsConsistencyTests
{
    protected override Task<AccountsApp> CreateAppAsync() => Task.FromResult(AccountsApp.InMemory());
}

[Trait("Category", "Integration")]
public sealed class PostgreSqlAccountsConsistencyTests(SharedServers servers) : AccountsConsistencyTests
{
    protected override async Task<AccountsApp> CreateAppAsync()
    {
        var postgres = await servers.GetPostgresAsync();
        return AccountsApp.WithDatabase("PostgreSql", await postgres.CreateDatabaseAsync(cancellationToken: Ct));
    }
}

[Trait("Category", "Integration")]
public sealed class MySqlAccountsConsistencyTests(SharedServers servers) : AccountsConsistencyTests
{
    protected override async Task<AccountsApp> CreateAppAsync()
    {
        var mariaDb = await servers.GetMariaDbAsync();
        return AccountsApp.WithDatabase("MySql", await mariaDb.CreateDatabaseAsync(cancellationToken: Ct));
    }
}
