using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Dataflow.Tests.Infrastructure;
using Dataflow.Tests.Integration.Accounts;

namespace Dataflow.Tests.E2E.Accounts;

/// <summary>
/// Two service processes behind nginx on one shared database: 1000 rounds of 8 concurrent deposits of 1 that
/// share a transaction id per round must end at exactly 1000, with only 204 and 409 on the wire (clients retry 409).
/// </summary>
[Trait("Category", "E2E")]
public sealed partial class AccountsBehindNginxTests(SharedServers servers)
{
    private const int Rounds = 1000;
    private const int Clients = 8;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Same_transaction_deposits_through_nginx_on_PostgreSql_end_at_exactly_1000()
    {
        var postgres = await servers.GetPostgresAsync();
        await RunAsync("PostgreSql", await postgres.CreateDatabaseAsync(cancellationToken: Ct), killAtRound: null);
    }

    [Fact]
    public async Task Same_transaction_deposits_through_nginx_on_MariaDb_end_at_exactly_1000()
    {
        var mariaDb = await servers.GetMariaDbAsync();
        await RunAsync("MySql", await mariaDb.CreateDatabaseAsync(cancellationToken: Ct), killAtRound: null);
    }

    [Fact]
    public async Task Killing_one_instance_mid_load_completes_through_the_survivor_with_an_exact_balance()
    {
        var postgres = await servers.GetPostgresAsync();
        await RunAsync("PostgreSql", await postgres.CreateDatabaseAsync(cancellationToken: Ct), killAtRound: Rounds / 3);
    }

    private static async Task RunAsync(string provider, string connectionString, int? killAtRound)
    {
        // Both instances start together against the empty database: schema creation must tolerate that.
        var starting = new[] { AccountsServiceProcess.StartAsync(provider, connectionString, Ct), AccountsServiceProcess.StartAsync(provider, connectionString, Ct) };
        await Task.WhenAll(starting.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default)));
        await using var first = await starting[0];
        await using var second = await starting[1];
        await using var nginx = await NginxServer.StartAsync([(first.Host, first.Port), (second.Host, second.Port)], Ct);
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = Clients * 2 };
        using var client = new HttpClient(handler) { BaseAddress = nginx.BaseUri, Timeout = TimeSpan.FromSeconds(30) };

        var account = await client.OpenAsync(Ct);
        var statuses = new ConcurrentDictionary<HttpStatusCode, int>();
        for (var round = 1; round <= Rounds; round++)
        {
            if (round == killAtRound)
            {
                first.Kill();
            }

            var transactionId = Guid.NewGuid();
            await Parallel.ForEachAsync(Enumerable.Range(0, Clients), new ParallelOptions { MaxDegreeOfParallelism = Clients, CancellationToken = Ct }, async (_, ct) =>
            {
                for (var attempt = 0; ; attempt++)
                {
                    var status = await client.DepositAsync(account, 1, transactionId, ct);
                    statuses.AddOrUpdate(status, 1, (_, n) => n + 1);
                    if (status != HttpStatusCode.Conflict || attempt == 100)
                    {
                        return;
                    }
                }
            });
        }

        var seen = string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{(int)s.Key}×{s.Value}"));
        Assert.True(statuses.Keys.All(s => s is HttpStatusCode.NoContent or HttpStatusCode.Conflict), $"Only 204/409 may appear; saw {seen}");
        Assert.Equal(Rounds, await client.BalanceAsync(account, Ct));

        // Each instance did real work (round-robin), seen through its own metrics endpoint.
        if (killAtRound is null)
        {
            Assert.True(await EventsAppendedAsync(first) > 0, "the first instance appended nothing");
        }

        Assert.True(await EventsAppendedAsync(second) > 0, "the second instance appended nothing");
        if (provider == "PostgreSql")
        {
            using var metrics = new HttpClient { BaseAddress = second.BaseUri };
            Assert.Contains("accounts_db_pool_connections{", await metrics.GetStringAsync("/metrics", Ct), StringComparison.Ordinal);
        }
    }

    private static async Task<long> EventsAppendedAsync(AccountsServiceProcess instance)
    {
        using var client = new HttpClient { BaseAddress = instance.BaseUri };
        var metrics = await client.GetStringAsync("/metrics", Ct);
        return EventsAppendedSample().Matches(metrics).Sum(m => long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));
    }

    [GeneratedRegex(@"^accounts_eventstore_events_appended_total\{[^}]*\} (\d+)", RegexOptions.Multiline)]
    private static partial Regex EventsAppendedSample();
}
