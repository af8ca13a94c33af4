using Dataflow.Google.BigQuery;
using Dataflow.Google.Core;
using Dataflow.Google.Firestore;
using Dataflow.Google.PubSub;
using Dataflow.Google.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Dataflow.Tests.E2E.DataflowScenarios;

/// <summary>How the end-to-end suite picks emulators or real Google Cloud from the environment (no network needed).</summary>
[Trait("Category", "Unit")]
public sealed class CloudTargetTests : IDisposable
{
    private readonly string _credentials = Path.GetTempFileName();

    public void Dispose() => File.Delete(_credentials);

    [Fact]
    public void Without_a_project_variable_the_suite_runs_on_the_emulators_even_when_credentials_are_set()
    {
        Assert.Null(CloudTarget.GoogleCloudProject(Environment(new() { [CloudTarget.CredentialsVariable] = _credentials })));
        Assert.Null(CloudTarget.GoogleCloudProject(Environment(new() { [CloudTarget.ProjectVariable] = "  " })));
    }

    [Fact]
    public void A_project_and_a_credentials_file_select_Google_Cloud_whose_clients_and_services_use_the_production_endpoints()
    {
        var project = CloudTarget.GoogleCloudProject(Environment(new()
        {
            [CloudTarget.ProjectVariable] = "my-project",
            [CloudTarget.CredentialsVariable] = _credentials,
        }));
        Assert.Equal("my-project", project);
        var target = CloudTarget.GoogleCloud(project!, firestore: true);
        Assert.True(target.IsGoogleCloud);

        // The test's own clients: no emulator host, so the production endpoint and Application Default Credentials.
        AssertProduction(target.PubSub.Options<PubSubOptions>(), PubSubClient.ProductionEndpoint);
        AssertProduction(target.Storage.Options<StorageOptions>(), StorageClient.ProductionEndpoint);
        AssertProduction(target.BigQuery.Options<BigQueryOptions>(), BigQueryClient.ProductionEndpoint);
        AssertProduction(target.Firestore!.Options<FirestoreOptions>(), FirestoreClient.ProductionEndpoint);

        // The services' clients, bound from the configuration the run gives them, the way the services register them.
        using var services = ServicesConfiguredBy(target);
        AssertProduction(services.GetRequiredService<IOptions<PubSubOptions>>().Value, PubSubClient.ProductionEndpoint);
        AssertProduction(services.GetRequiredService<IOptions<StorageOptions>>().Value, StorageClient.ProductionEndpoint);
        AssertProduction(services.GetRequiredService<IOptions<BigQueryOptions>>().Value, BigQueryClient.ProductionEndpoint);
        AssertProduction(services.GetRequiredService<IOptions<FirestoreOptions>>().Value, FirestoreClient.ProductionEndpoint);
    }

    [Fact]
    public void The_emulator_target_sends_every_service_to_the_emulators_under_the_run_project()
    {
        var target = CloudTarget.Emulators("e2e-1234", "127.0.0.1:1001", "127.0.0.1:1002", "127.0.0.1:1003");
        Assert.False(target.IsGoogleCloud);

        using var services = ServicesConfiguredBy(target);
        AssertEmulator(services.GetRequiredService<IOptions<PubSubOptions>>().Value, "http://127.0.0.1:1001/");
        AssertEmulator(services.GetRequiredService<IOptions<StorageOptions>>().Value, "http://127.0.0.1:1002/");
        AssertEmulator(services.GetRequiredService<IOptions<BigQueryOptions>>().Value, "http://127.0.0.1:1002/");
        AssertEmulator(services.GetRequiredService<IOptions<FirestoreOptions>>().Value, "http://127.0.0.1:1003/");
    }

    [Theory]
    [InlineData("PUBSUB_EMULATOR_HOST")]
    [InlineData("STORAGE_EMULATOR_HOST")]
    [InlineData("BIGQUERY_EMULATOR_HOST")]
    [InlineData("FIRESTORE_EMULATOR_HOST")]
    public void A_project_with_an_emulator_variable_set_fails_naming_the_variable(string variable)
    {
        var error = Assert.Throws<InvalidOperationException>(() => CloudTarget.GoogleCloudProject(Environment(new()
        {
            [CloudTarget.ProjectVariable] = "my-project",
            [CloudTarget.CredentialsVariable] = _credentials,
            [variable] = "127.0.0.1:8085",
        })));
        Assert.Contains(variable, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_project_without_credentials_fails_naming_GOOGLE_APPLICATION_CREDENTIALS()
    {
        var error = Assert.Throws<InvalidOperationException>(() => CloudTarget.GoogleCloudProject(Environment(new() { [CloudTarget.ProjectVariable] = "my-project" })));
        Assert.Contains(CloudTarget.CredentialsVariable, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_credentials_file_that_does_not_exist_fails_naming_it()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"missing-{Guid.NewGuid():N}.json");
        var error = Assert.Throws<InvalidOperationException>(() => CloudTarget.GoogleCloudProject(Environment(new()
        {
            [CloudTarget.ProjectVariable] = "my-project",
            [CloudTarget.CredentialsVariable] = missing,
        })));
        Assert.Contains(missing, error.Message, StringComparison.Ordinal);
    }

    private static Func<string, string?> Environment(Dictionary<string, string> variables) => name => variables.GetValueOrDefault(name);

    private static ServiceProvider ServicesConfiguredBy(CloudTarget target)
    {
        var settings = new Dictionary<string, string?>();
        target.AddTo(settings);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        return new ServiceCollection().AddPubSub(configuration).AddCloudStorage(configuration).AddBigQuery(configuration).AddFirestore(configuration)
            .BuildServiceProvider();
    }

    private static void AssertProduction(GoogleClientOptions options, string productionEndpoint)
    {
        Assert.Equal("my-project", options.ProjectId);
        Assert.Null(options.CredentialsFile); // Application Default Credentials read GOOGLE_APPLICATION_CREDENTIALS themselves
        var endpoint = GoogleEndpoint.Resolve(options.EmulatorHost, options.Endpoint, productionEndpoint);
        Assert.False(endpoint.IsEmulator);
        Assert.Equal(new Uri(productionEndpoint), endpoint.BaseAddress);
        Assert.Equal(Uri.UriSchemeHttps, endpoint.BaseAddress.Scheme);
    }

    private static void AssertEmulator(GoogleClientOptions options, string expected)
    {
        Assert.Equal("e2e-1234", options.ProjectId);
        var endpoint = GoogleEndpoint.Resolve(options.EmulatorHost, options.Endpoint, "https://unused.example/");
        Assert.True(endpoint.IsEmulator);
        Assert.Equal(new Uri(expected), endpoint.BaseAddress);
    }
}
