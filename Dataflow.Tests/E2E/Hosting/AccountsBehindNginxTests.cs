using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using Dataflow.Hosting;
using Dataflow.Hosting.Testing;
using Dataflow.Tests.Unit.Hosting;

namespace Dataflow.Tests.E2E.Hosting;

/// <summary>The accounts service as the AppHost runs it: two replicas behind nginx over one PostgreSQL database.</summary>
[Trait("Category", "E2E")]
public sealed class AccountsBehindNginxTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Concurrent_idempotent_deposits_through_the_load_balancer_end_with_the_exact_balance()
    {
        var builder = TestingBuilder.Create(o => o.Log = line => TestContext.Current.TestOutputHelper?.WriteLine(line));
        var accountsDb = builder.AddPostgres("postgres").AddDatabase("accountsdb", "accounts");
        var replicas = builder.AddProject("accounts-api", Path.Combine(HostingPaths.RepositoryRoot, "services", "Dataflow.Accounts", "Dataflow.Accounts.csproj"))
            .WithReplicas(2)
            .WithEnvironment("Accounts__Provider", "PostgreSql")
            .WithReference(accountsDb, connectionName: "accounts")
            .WaitFor(accountsDb);
        builder.AddNginxLoadBalancer("accounts", replicas);
        await using var app = await builder.BuildAsync();
        await app.StartAsync(Ct);
        await app.WaitForResourceHealthyAsync("accounts", TimeSpan.FromMinutes(4), Ct);
        using var http = app.CreateHttpClient("accounts");

        var account = Guid.NewGuid();
        using (var open = await http.PostAsync($"api/account/{account}?owner={Guid.NewGuid()}", null, Ct))
        {
            Assert.Equal(HttpStatusCode.Created, open.StatusCode);
        }

        // Accounts spec §4: 1000 rounds × 8 concurrent deposits of 1 sharing one transactionId per round; clients retry 409.
        const int Rounds = 1000;
        const int Concurrency = 8;
        var statuses = new ConcurrentDictionary<HttpStatusCode, int>();
        for (var round = 0; round < Rounds; round++)
        {
            var transactionId = Guid.NewGuid();
            await Task.WhenAll(Enumerable.Range(0, Concurrency).Select(async _ =>
            {
                for (var attempt = 0; attempt < 20; attempt++)
                {
                    using var response = await http.PutAsync($"api/account/{account}?deposit=1&transactionId={transactionId}", null, Ct);
                    statuses.AddOrUpdate(response.StatusCode, 1, (_, n) => n + 1);
                    if (response.StatusCode != HttpStatusCode.Conflict)
                    {
                        return;
                    }
                }
            }));
        }

        var balance = await http.GetFromJsonAsync<AccountView>($"api/account/{account}", Ct);
        Assert.Equal(1000, balance!.Balance);
        Assert.All(statuses.Keys, status => Assert.Contains(status, new[] { HttpStatusCode.NoContent, HttpStatusCode.Conflict }));
        TestContext.Current.TestOutputHelper?.WriteLine(string.Join(", ", statuses.Select(s => $"{(int)s.Key}: {s.Value}")));
        // Both replicas came through the load unharmed.
        Assert.All(app.GetResources().Where(r => r.ResourceName == "accounts-api"), replica =>
            Assert.Equal(Dataflow.Hosting.Orchestration.HealthStatus.Healthy, replica.Health));
    }

    private sealed record AccountView(Guid AccountId, Guid OwnerId, long Balance, bool Open);
}
