using System.Net;
using System.Text.RegularExpressions;
using Dataflow.Hosting.Processes;
using Dataflow.Tests.Infrastructure;
using Dataflow.Tests.Integration.Accounts;
using Dataflow.Tests.Unit.Hosting;

namespace Dataflow.Tests.E2E.Accounts;

/// <summary>
/// The deployed form of the accounts service is the trimmed, self-contained publish (<c>dotnet publish -r linux-x64</c>).
/// Trimming removes code that only reflection reaches, so the published executable must answer every kind of
/// request exactly as the build the other tests run: the same status, content type and body, byte for byte.
/// </summary>
[Trait("Category", "E2E")]
public sealed partial class TrimmedPublishTests(SharedServers servers, TrimmedPublishTests.Publish publish) : IClassFixture<TrimmedPublishTests.Publish>
{
    private static readonly Guid Owner = Guid.Parse("0f0e0d0c-0b0a-4908-8706-050403020100");
    private static readonly Guid First = Guid.Parse("11111111-1111-4111-8111-111111111111");
    private static readonly Guid Second = Guid.Parse("22222222-2222-4222-8222-222222222222");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>One request of every kind the API answers: commands in both URL styles, reads, and each class of client error.</summary>
    private static readonly (HttpMethod Method, string Path)[] Requests =
    [
        (HttpMethod.Post, $"/api/account/{First}?owner={Owner}"),
        (HttpMethod.Post, $"/api/account/{Second}?owner={Owner}"),
        (HttpMethod.Post, $"/api/account/{First}?owner={Owner}"),
        (HttpMethod.Put, $"/api/account/{First}/deposit?amount=10&transactionId=a0000000-0000-4000-8000-000000000001"),
        (HttpMethod.Put, $"/api/account/{First}/deposit?amount=10&transactionId=a0000000-0000-4000-8000-000000000001"),
        (HttpMethod.Put, $"/api/account/{First}?withdraw=3&transactionId=a0000000-0000-4000-8000-000000000002"),
        (HttpMethod.Put, $"/api/account/{First}/transfer?targetAccount={Second}&amount=5&transactionId=a0000000-0000-4000-8000-000000000003"),
        (HttpMethod.Put, $"/api/account/{Second}?transfer={First}&amount=1&transactionId=a0000000-0000-4000-8000-000000000004"),
        (HttpMethod.Put, $"/api/account/{First}/withdraw?amount=1000&transactionId=a0000000-0000-4000-8000-000000000005"),
        (HttpMethod.Put, $"/api/account/{First}/deposit?amount=-1&transactionId=a0000000-0000-4000-8000-000000000006"),
        (HttpMethod.Put, $"/api/account/{First}/deposit?amount=99999999999999999999999&transactionId=a0000000-0000-4000-8000-000000000007"),
        (HttpMethod.Put, "/api/account/not-a-uuid/deposit?amount=1"),
        (HttpMethod.Put, $"/api/account/{First}"),
        (HttpMethod.Get, $"/api/account/{First}"),
        (HttpMethod.Get, $"/api/account/{Second}"),
        (HttpMethod.Get, $"/api/account/{First}/events"),
        (HttpMethod.Get, "/api/account/33333333-3333-4333-8333-333333333333"),
        (HttpMethod.Delete, $"/api/account/{Second}"),
        (HttpMethod.Patch, $"/api/account/{First}"),
        (HttpMethod.Get, "/no/such/route"),
        (HttpMethod.Get, "/ping"),
        (HttpMethod.Get, "/openapi/v1.json"),
    ];

    [Theory]
    [InlineData("PostgreSql")]
    [InlineData("MySql")]
    public async Task Trimmed_executable_answers_every_request_exactly_as_the_untrimmed_build(string provider)
    {
        var (referenceDatabase, publishedDatabase) = await CreateDatabasesAsync(provider);
        await using var reference = AccountsApp.WithDatabase(provider, referenceDatabase);
        using var referenceClient = reference.CreateClient();
        await using var published = await AccountsServiceProcess.StartPublishedAsync(publish.Executable, provider, publishedDatabase, Ct);
        using var publishedClient = new HttpClient { BaseAddress = published.BaseUri };

        var expected = await ExchangeAsync(referenceClient);
        var actual = await ExchangeAsync(publishedClient);

        Assert.Contains(expected, e => e.StartsWith("GET /api/account/" + First + " -> 200", StringComparison.Ordinal) && e.Contains("\"balance\":3", StringComparison.Ordinal));
        Assert.Equal(expected, actual);
    }

    [Fact]
    public async Task Trimmed_executable_reports_readiness_and_prometheus_metrics()
    {
        var postgres = await servers.GetPostgresAsync();
        await using var published = await AccountsServiceProcess.StartPublishedAsync(publish.Executable, "PostgreSql", await postgres.CreateDatabaseAsync(cancellationToken: Ct), Ct);
        using var client = new HttpClient { BaseAddress = published.BaseUri };
        await client.OpenAsync(Ct);

        using var ready = await client.GetAsync("/readyz", Ct);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Contains("\"accounts-event-store\":{\"status\":\"Healthy\"", await ready.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        var metrics = await client.GetStringAsync("/metrics", Ct);
        Assert.Matches(@"(?m)^accounts_eventstore_events_appended(_total)?\{[^}]*\} 1( |$)", metrics);
        Assert.Contains("http_server_request_duration_seconds_bucket", metrics, StringComparison.Ordinal);
    }

    private async Task<(string Reference, string Published)> CreateDatabasesAsync(string provider)
    {
        if (provider == "PostgreSql")
        {
            var postgres = await servers.GetPostgresAsync();
            return (await postgres.CreateDatabaseAsync(cancellationToken: Ct), await postgres.CreateDatabaseAsync(cancellationToken: Ct));
        }

        var mariaDb = await servers.GetMariaDbAsync();
        return (await mariaDb.CreateDatabaseAsync(cancellationToken: Ct), await mariaDb.CreateDatabaseAsync(cancellationToken: Ct));
    }

    private static async Task<List<string>> ExchangeAsync(HttpClient client)
    {
        var exchanges = new List<string>();
        foreach (var (method, path) in Requests)
        {
            using var request = new HttpRequestMessage(method, path);
            using var response = await client.SendAsync(request, Ct);
            // Trace ids and the ids the service generates (version 7: the opening events' transaction ids) differ per run.
            // and the OpenAPI document names the server it was asked on.
            var body = GeneratedIds().Replace(await response.Content.ReadAsStringAsync(Ct), "\"${name}\":\"…\"")
                .Replace(client.BaseAddress!.ToString(), "http://server/", StringComparison.Ordinal);
            exchanges.Add($"{method} {path} -> {(int)response.StatusCode} {response.Content.Headers.ContentType} {body}");
        }
        return exchanges;
    }

    [GeneratedRegex("\"(?<name>traceId)\":\"[^\"]*\"|\"(?<name>transactionId)\":\"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}\"")]
    private static partial Regex GeneratedIds();

    /// <summary>Publishes the service once for the class, as a deployment does, into a directory removed afterwards.</summary>
    public sealed class Publish : IAsyncLifetime
    {
        private readonly string _directory = Directory.CreateTempSubdirectory("dataflow-accounts-publish-").FullName;

        public string Executable => Path.Combine(_directory, "out", "Dataflow.Accounts");

        public async ValueTask InitializeAsync()
        {
            var project = Path.Combine(HostingPaths.RepositoryRoot, "services", "Dataflow.Accounts", "Dataflow.Accounts.csproj");
            await using var publish = await ChildProcess.StartAsync(new ChildProcessOptions("dotnet",
                ["publish", project, "-c", "Release", "-r", "linux-x64", "-nologo", "-v", "q", "-nodeReuse:false",
                 "-o", Path.Combine(_directory, "out"), "--artifacts-path", Path.Combine(_directory, "artifacts")])
            {
                DisplayName = "publish accounts",
                Environment = new Dictionary<string, string?> { ["MSBUILDNOINPROCNODE"] = "1" },
            });
            var exitCode = await publish.Exited.WaitAsync(TimeSpan.FromMinutes(5));
            if (exitCode != 0 || !File.Exists(Executable))
            {
                throw new InvalidOperationException($"Publishing Dataflow.Accounts failed (exit code {exitCode}): {publish.Logs.Tail(30)}");
            }
        }

        public ValueTask DisposeAsync()
        {
            Directory.Delete(_directory, recursive: true);
            return ValueTask.CompletedTask;
        }
    }
}
