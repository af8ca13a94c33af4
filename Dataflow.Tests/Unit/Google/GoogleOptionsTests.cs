using Dataflow.Google.BigQuery;
using Dataflow.Google.Firestore;
using Dataflow.Google.PubSub;
using Dataflow.Google.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Dataflow.Tests.Unit.Google;

[Trait("Category", "Unit")]
public sealed class GoogleOptionsTests
{
    private static ServiceProvider Build(Dictionary<string, string?> settings, Action<IServiceCollection, IConfiguration> add)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        add(services, configuration);
        return services.BuildServiceProvider();
    }

    private static void ValidateOnStart(IServiceProvider provider) => provider.GetRequiredService<IStartupValidator>().Validate();

    [Fact]
    public void Missing_project_id_fails_start_up_naming_the_configuration_key()
    {
        using var provider = Build(new() { ["GOOGLE_CLOUD_PROJECT"] = "" }, (s, c) => s.AddPubSub(c));

        var error = Assert.Throws<OptionsValidationException>(() => ValidateOnStart(provider));

        Assert.Contains("Google:PubSub:ProjectId", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Malformed_emulator_host_fails_start_up_naming_the_key()
    {
        using var provider = Build(new() { ["Google:Firestore:ProjectId"] = "p", ["Google:Firestore:EmulatorHost"] = "ftp://x" }, (s, c) => s.AddFirestore(c));

        var error = Assert.Throws<OptionsValidationException>(() => ValidateOnStart(provider));

        Assert.Contains("Google:Firestore:EmulatorHost", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Standard_emulator_variables_from_configuration_select_emulator_mode()
    {
        using var provider = Build(
            new()
            {
                ["GOOGLE_CLOUD_PROJECT"] = "proj",
                ["PUBSUB_EMULATOR_HOST"] = "127.0.0.1:8085",
                ["STORAGE_EMULATOR_HOST"] = "http://127.0.0.1:9023",
                ["BIGQUERY_EMULATOR_HOST"] = "127.0.0.1:9050",
                ["FIRESTORE_EMULATOR_HOST"] = "127.0.0.1:8080",
            },
            (s, c) => s.AddPubSub(c).AddCloudStorage(c).AddBigQuery(c).AddFirestore(c));

        ValidateOnStart(provider);
        var pubSub = provider.GetRequiredService<PubSubClient>();
        var storage = provider.GetRequiredService<StorageClient>();
        var bigQuery = provider.GetRequiredService<BigQueryClient>();
        var firestore = provider.GetRequiredService<FirestoreClient>();

        Assert.Equal("proj", pubSub.ProjectId);
        Assert.Equal(new Uri("http://127.0.0.1:8085/"), pubSub.Transport.Endpoint.BaseAddress);
        Assert.All(new[] { pubSub.Transport, storage.Transport, bigQuery.Transport, firestore.Transport }, t => Assert.True(t.Endpoint.IsEmulator));
        Assert.Equal(new Uri("http://127.0.0.1:9023/"), storage.Transport.Endpoint.BaseAddress);
        Assert.Equal("projects/proj/databases/(default)/documents", firestore.DocumentsRoot);
    }

    [Fact]
    public void Without_emulator_the_production_endpoint_is_used()
    {
        using var provider = Build(new() { ["Google:BigQuery:ProjectId"] = "prod", ["BIGQUERY_EMULATOR_HOST"] = "" }, (s, c) => s.AddBigQuery(c));

        ValidateOnStart(provider);
        var client = provider.GetRequiredService<BigQueryClient>();

        Assert.False(client.Transport.Endpoint.IsEmulator);
        Assert.Equal(new Uri(BigQueryClient.ProductionEndpoint), client.Transport.Endpoint.BaseAddress);
    }
}
