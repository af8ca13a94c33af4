using System.Net;
using Dataflow.Accounts;
using Dataflow.Tests.Integration.Services;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Dataflow.Tests.Integration.Accounts;

/// <summary>The accounts service hosted in-process, configured like a deployment (connection string + provider).</summary>
public sealed class AccountsApp(IReadOnlyDictionary<string, string?>? settings = null, Action<IServiceCollection>? configureServices = null)
    : WebApplicationFactory<AccountsOptions>
{
    public static AccountsApp InMemory(Action<IServiceCollection>? configureServices = null) => new(null, configureServices);

    public static AccountsApp WithDatabase(string provider, string connectionString) =>
        new(new Dictionary<string, string?> { ["ConnectionStrings:accounts"] = connectionString, ["Accounts:Provider"] = provider });

    /// <summary>
    /// Starts the service over <paramref name="settings"/> in a <see cref="ServiceTestHost"/> and returns the exception
    /// start-up failed with. Not through the factory: its entry-point interception is process-wide, and under the full
    /// suite's parallelism a failed start could surface as an unrelated ObjectDisposedException instead of the
    /// validation error. Start-up checks (options, schema) do not depend on the mapped endpoints.
    /// </summary>
    public static async Task<Exception> StartFailureAsync(IReadOnlyDictionary<string, string?> settings)
    {
        var error = await Record.ExceptionAsync(async () =>
        {
            await using var host = await ServiceTestHost.StartAsync(new Dictionary<string, string?>(settings), b => b.AddAccounts(), TestContext.Current.CancellationToken);
        });
        return error ?? throw new Xunit.Sdk.XunitException("the service started; a start-up failure was expected");
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Production");
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));
        if (configureServices is not null)
        {
            builder.ConfigureTestServices(configureServices);
        }
    }
}

/// <summary>Small helpers over the HTTP API used by the integration and E2E tests.</summary>
public static class AccountsClient
{
    public static async Task<Guid> OpenAsync(this HttpClient client, CancellationToken cancellationToken, Guid? id = null)
    {
        var accountId = id ?? Guid.NewGuid();
        using var response = await client.PostAsync($"/api/account/{accountId}?owner={Guid.NewGuid()}", null, cancellationToken);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return accountId;
    }

    public static async Task<HttpStatusCode> DepositAsync(this HttpClient client, Guid id, long amount, Guid transactionId, CancellationToken cancellationToken)
    {
        using var response = await client.PutAsync($"/api/account/{id}/deposit?amount={amount}&transactionId={transactionId}", null, cancellationToken);
        return response.StatusCode;
    }

    public static async Task<HttpStatusCode> TransferAsync(this HttpClient client, Guid from, Guid to, long amount, Guid transactionId, CancellationToken cancellationToken)
    {
        using var response = await client.PutAsync($"/api/account/{from}/transfer?targetAccount={to}&amount={amount}&transactionId={transactionId}", null, cancellationToken);
        return response.StatusCode;
    }

    public static async Task<long> BalanceAsync(this HttpClient client, Guid id, CancellationToken cancellationToken)
    {
        using var response = await client.GetAsync($"/api/account/{id}", cancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        return json.RootElement.GetProperty("balance").GetInt64();
    }
}
