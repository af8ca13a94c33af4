using System.Text.Json;
using Dataflow.Tests.Unit.Hosting;

namespace Dataflow.Tests.Integration.Hosting;

[Trait("Category", "Integration")]
public sealed class AppHostManifestTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_AppHost_publishes_a_manifest_that_validates_against_the_Aspire_schema()
    {
        var output = Path.Combine(Path.GetTempPath(), $"dataflow-manifest-{Guid.NewGuid():N}", "aspire-manifest.json");
        await using (var appHost = await AppHostProcess.StartAsync(["--publisher", "manifest", "--output-path", output], Ct))
        {
            Assert.Equal(0, await appHost.Exited.WaitAsync(TimeSpan.FromMinutes(1), Ct));
        }
        var manifest = JsonDocument.Parse(await File.ReadAllTextAsync(output, Ct)).RootElement;
        Directory.Delete(Path.GetDirectoryName(output)!, recursive: true);
        var schema = new JsonSchemaValidator(JsonDocument.Parse(await File.ReadAllTextAsync(HostingPaths.ManifestSchema, Ct)).RootElement);

        Assert.Empty(schema.Validate(manifest));
        var resources = manifest.GetProperty("resources");
        string Type(string name) => resources.GetProperty(name).GetProperty("type").GetString()!;

        foreach (var infrastructure in new[] { "postgres", "mariadb", "redis", "mqtt", "pubsub", "firestore" })
        {
            Assert.Equal("container.v0", Type(infrastructure));
        }
        Assert.Equal("value.v0", Type("accountsdb"));
        Assert.Equal("value.v0", Type("dataflowdb"));
        Assert.Equal("project.v0", Type("accounts"));
        Assert.Equal("project.v0", Type("gcp-standins"));

        foreach (var secret in new[] { "postgres-password", "mariadb-password", "redis-password" })
        {
            Assert.Equal("parameter.v0", Type(secret));
            var input = resources.GetProperty(secret).GetProperty("inputs").GetProperty("value");
            Assert.True(input.GetProperty("secret").GetBoolean());
            Assert.True(input.GetProperty("default").GetProperty("generate").GetProperty("minLength").GetInt32() >= 22);
        }

        var postgres = resources.GetProperty("postgres");
        Assert.Equal("Host={postgres.bindings.tcp.host};Port={postgres.bindings.tcp.port};Username=postgres;Password={postgres-password.value}",
            postgres.GetProperty("connectionString").GetString());
        Assert.Equal(5432, postgres.GetProperty("bindings").GetProperty("tcp").GetProperty("targetPort").GetInt32());
        Assert.Equal("{postgres-password.value}", postgres.GetProperty("env").GetProperty("POSTGRES_PASSWORD").GetString());

        var accounts = resources.GetProperty("accounts");
        Assert.Equal("../services/Dataflow.Accounts/Dataflow.Accounts.csproj",
            Path.GetRelativePath(HostingPaths.RepositoryRoot, Path.GetFullPath(accounts.GetProperty("path").GetString()!, Path.GetDirectoryName(output)!))
                .Insert(0, "../"));
        var environment = accounts.GetProperty("env");
        Assert.Equal("{accountsdb.connectionString}", environment.GetProperty("ConnectionStrings__accounts").GetString());
        Assert.Equal("PostgreSql", environment.GetProperty("Accounts__Provider").GetString());
        Assert.Equal("{accounts.bindings.http.targetPort}", environment.GetProperty("HTTP_PORTS").GetString());
        Assert.True(accounts.GetProperty("bindings").GetProperty("http").GetProperty("external").GetBoolean());

        // The dataflow: services as projects wired by the Aspire contract, Pub/Sub topology for the platform to create.
        foreach (var service in new[] { "ingestion", "enrich", "icestore", "bigqueries" })
        {
            Assert.Equal("project.v0", Type(service));
            var serviceEnvironment = resources.GetProperty(service).GetProperty("env");
            Assert.Equal("{pubsub.bindings.http.host}:{pubsub.bindings.http.port}", serviceEnvironment.GetProperty("PUBSUB_EMULATOR_HOST").GetString());
        }
        var ingestion = resources.GetProperty("ingestion").GetProperty("env");
        Assert.Equal("{mqtt.connectionString}", ingestion.GetProperty("ConnectionStrings__mqtt").GetString());
        Assert.Equal("{redis.connectionString}", resources.GetProperty("enrich").GetProperty("env").GetProperty("ConnectionStrings__redis").GetString());
        foreach (var topic in new[] { "ingestion-topic", "enriched-topic", "dead-letter-topic" })
        {
            Assert.Equal("gcp.pubsub.topic.v0", Type(topic));
        }
        var enrichSubscription = resources.GetProperty("enrich-subscription");
        Assert.Equal("gcp.pubsub.subscription.v0", enrichSubscription.GetProperty("type").GetString());
        Assert.Equal("ingestion-topic", enrichSubscription.GetProperty("topic").GetString());
        Assert.Equal("dead-letter-topic", enrichSubscription.GetProperty("deadLetterPolicy").GetProperty("deadLetterTopic").GetString());
        Assert.Equal("enriched-topic", resources.GetProperty("bigqueries-subscription").GetProperty("topic").GetString());
        Assert.Equal("ingestion-topic", resources.GetProperty("icestore-subscription").GetProperty("topic").GetString());
        // Local-only jobs (topic creation, seed data) have no place in a deployment.
        Assert.False(resources.TryGetProperty("pubsub-provisioning", out _));
        Assert.False(resources.TryGetProperty("devices-seed", out _));

        Assert.DoesNotContain("127.0.0.1", manifest.GetRawText(), StringComparison.Ordinal);
    }
}
