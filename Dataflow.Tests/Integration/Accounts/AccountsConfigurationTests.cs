using System.Net;
using Dataflow.Tests.Infrastructure;

namespace Dataflow.Tests.Integration.Accounts;

/// <summary>Store selection from configuration, start-up failures that name the key at fault, and readiness.</summary>
[Trait("Category", "Integration")]
public sealed class AccountsConfigurationTests(SharedServers servers)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("PostgreSql", null, "ConnectionStrings:accounts is required when Accounts:Provider is PostgreSql.")]
    [InlineData("MySql", null, "ConnectionStrings:accounts is required when Accounts:Provider is MySql.")]
    [InlineData(null, "Endpoint=somewhere", "Cannot tell the database from ConnectionStrings:accounts; set Accounts:Provider to PostgreSql or MySql.")]
    [InlineData("PostgreSql", "Hostt=localhost", "ConnectionStrings:accounts is not a valid PostgreSql connection string")]
    [InlineData("Oracle", null, "Accounts:Provider")]
    public async Task Bad_configuration_fails_start_up_naming_the_key(string? provider, string? connectionString, string expected)
    {
        var error = await AccountsApp.StartFailureAsync(new Dictionary<string, string?> { ["Accounts:Provider"] = provider, ["ConnectionStrings:accounts"] = connectionString });

        Assert.Contains(expected, Flatten(error), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_negative_snapshot_interval_fails_start_up_naming_the_setting()
    {
        var error = await AccountsApp.StartFailureAsync(new Dictionary<string, string?> { ["Accounts:SnapshotInterval"] = "-1" });

        Assert.Contains("SnapshotInterval", Flatten(error), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_database_fails_start_up_naming_the_connection_string()
    {
        var error = await AccountsApp.StartFailureAsync(new Dictionary<string, string?>
        {
            ["ConnectionStrings:accounts"] = $"Host=127.0.0.1;Port={FreePort.Next()};Username=postgres;Timeout=1",
            ["Accounts:Provider"] = "PostgreSql",
        });

        Assert.Contains("Could not create the PostgreSql event-store schema with ConnectionStrings:accounts", Flatten(error), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_provider_is_inferred_from_an_Aspire_style_PostgreSQL_connection_string()
    {
        var postgres = await servers.GetPostgresAsync();
        var connectionString = await postgres.CreateDatabaseAsync(cancellationToken: Ct);
        await using var app = new AccountsApp(new Dictionary<string, string?> { ["ConnectionStrings:accounts"] = connectionString });
        using var client = app.CreateClient();

        var id = await client.OpenAsync(Ct);

        await using var connection = new Npgsql.NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
        await using var command = new Npgsql.NpgsqlCommand("SELECT count(*) FROM account_events WHERE aggregate_id = $1", connection) { Parameters = { new() { Value = id } } };
        Assert.Equal(1L, await command.ExecuteScalarAsync(Ct));
        var metrics = await client.GetStringAsync("/metrics", Ct);
        Assert.Contains("accounts_eventstore_append_duration_seconds_count{outcome=\"ok\",store=\"PostgreSql\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("accounts_db_pool_connections{state=\"idle\"}", metrics, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, 1, "accounts_state_cache_lookups_total{result=\"hit\"} 2\n")]
    [InlineData("0", 3, null)]
    public async Task A_database_store_appends_to_recently_used_accounts_without_loading_them_unless_the_cache_is_off(
        string? capacity, int expectedLoads, string? expectedCacheLine)
    {
        var postgres = await servers.GetPostgresAsync();
        var settings = new Dictionary<string, string?> { ["ConnectionStrings:accounts"] = await postgres.CreateDatabaseAsync(cancellationToken: Ct) };
        if (capacity is not null)
        {
            settings["Accounts:StateCacheCapacity"] = capacity;
        }

        await using var app = new AccountsApp(settings);
        using var client = app.CreateClient();
        var id = await client.OpenAsync(Ct);

        Assert.Equal(HttpStatusCode.NoContent, await client.DepositAsync(id, 5, Guid.NewGuid(), Ct));
        Assert.Equal(HttpStatusCode.NoContent, await client.DepositAsync(id, 5, Guid.NewGuid(), Ct));

        var metrics = await client.GetStringAsync("/metrics", Ct);
        Assert.Contains($"accounts_eventstore_load_duration_seconds_count{{store=\"PostgreSql\"}} {expectedLoads}\n", metrics, StringComparison.Ordinal);
        Assert.Contains("accounts_eventstore_append_duration_seconds_count{outcome=\"ok\",store=\"PostgreSql\"} 3\n", metrics, StringComparison.Ordinal);
        if (expectedCacheLine is null)
        {
            Assert.DoesNotContain("accounts_state_cache_lookups", metrics, StringComparison.Ordinal);
        }
        else
        {
            Assert.Contains(expectedCacheLine, metrics, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task The_in_memory_store_does_not_cache_account_state()
    {
        await using var app = AccountsApp.InMemory();
        using var client = app.CreateClient();
        var id = await client.OpenAsync(Ct);

        Assert.Equal(HttpStatusCode.NoContent, await client.DepositAsync(id, 5, Guid.NewGuid(), Ct));

        var metrics = await client.GetStringAsync("/metrics", Ct);
        Assert.Contains("accounts_eventstore_load_duration_seconds_count{store=\"InMemory\"} 2\n", metrics, StringComparison.Ordinal);
        Assert.DoesNotContain("accounts_state_cache_lookups", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Readiness_includes_the_event_store()
    {
        var mariaDb = await servers.GetMariaDbAsync();
        await using var app = AccountsApp.WithDatabase("MySql", await mariaDb.CreateDatabaseAsync(cancellationToken: Ct));
        using var client = app.CreateClient();

        using var response = await client.GetAsync("/readyz", Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("\"accounts-event-store\":{\"status\":\"Healthy\"", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    private static string Flatten(Exception error)
    {
        var messages = new List<string>();
        for (Exception? e = error; e is not null; e = e.InnerException)
        {
            messages.Add($"{e.GetType().Name}: {e.Message}");
            if (e is AggregateException aggregate)
            {
                messages.AddRange(aggregate.InnerExceptions.Select(Flatten));
            }
        }

        return string.Join(" | ", messages);
    }
}
