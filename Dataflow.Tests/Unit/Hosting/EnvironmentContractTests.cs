using Dataflow.Hosting;
using Dataflow.Hosting.ApplicationModel;
using Dataflow.Hosting.Orchestration;

namespace Dataflow.Tests.Unit.Hosting;

[Trait("Category", "Unit")]
public sealed class EnvironmentContractTests
{
    private const string ProjectPath = "/nonexistent/Service/Service.csproj";

    private static (IDistributedApplicationBuilder Builder, DistributedApplicationModel Model) Allocate(IDistributedApplicationBuilder builder)
    {
        var model = new DistributedApplicationModel([.. builder.Resources]);
        Orchestrator.AllocatePorts(model, new PortAllocator());
        return (builder, model);
    }

    private static int Port(IResource resource, string endpoint = "tcp", int replica = 0) =>
        resource.Annotations.OfType<EndpointAnnotation>().Single(e => e.Name == endpoint).AllocatedPorts[replica];

    private static Task<Dictionary<string, string?>> EnvironmentOf(ExecutableResource resource, int replica = 0, string? otlp = null) =>
        Orchestrator.EvaluateEnvironmentAsync(resource, replica, otlp, TestContext.Current.CancellationToken);

    [Fact]
    public async Task Referencing_a_postgres_database_injects_ConnectionStrings_with_host_port_user_password_and_database()
    {
        var builder = DistributedApplication.CreateBuilder([]);
        var postgres = builder.AddPostgres("pg");
        var db = postgres.AddDatabase("ordersdb", "orders");
        var service = builder.AddProject("svc", ProjectPath).WithReference(db);
        Allocate(builder);

        var environment = await EnvironmentOf(service.Resource);

        Assert.Equal($"Host=127.0.0.1;Port={Port(postgres.Resource)};Username=postgres;Password={postgres.Resource.Password.Value};Database=orders",
            environment["ConnectionStrings__ordersdb"]);
    }

    [Fact]
    public async Task A_connection_name_overrides_the_variable_name()
    {
        var builder = DistributedApplication.CreateBuilder([]);
        var db = builder.AddPostgres("pg").AddDatabase("accountsdb", "accounts");
        var service = builder.AddProject("svc", ProjectPath).WithReference(db, connectionName: "accounts");
        Allocate(builder);

        var environment = await EnvironmentOf(service.Resource);

        Assert.True(environment.ContainsKey("ConnectionStrings__accounts"));
        Assert.False(environment.ContainsKey("ConnectionStrings__accountsdb"));
    }

    [Fact]
    public async Task MySql_redis_and_mqtt_connection_strings_use_their_client_formats()
    {
        var builder = DistributedApplication.CreateBuilder([]);
        var mysql = builder.AddMySql("maria");
        var db = mysql.AddDatabase("catalog");
        var redis = builder.AddRedis("cache");
        var mqtt = builder.AddMosquitto("broker");
        var service = builder.AddProject("svc", ProjectPath).WithReference(db).WithReference(redis).WithReference(mqtt);
        Allocate(builder);

        var environment = await EnvironmentOf(service.Resource);

        Assert.Equal($"Server=127.0.0.1;Port={Port(mysql.Resource)};User ID=root;Password={mysql.Resource.Password.Value};Database=catalog",
            environment["ConnectionStrings__catalog"]);
        Assert.Equal($"127.0.0.1:{Port(redis.Resource)},password={redis.Resource.Password.Value}", environment["ConnectionStrings__cache"]);
        Assert.Equal($"mqtt://127.0.0.1:{Port(mqtt.Resource)}", environment["ConnectionStrings__broker"]);
    }

    [Fact]
    public async Task Referencing_a_project_injects_service_discovery_variables_for_every_replica()
    {
        var builder = DistributedApplication.CreateBuilder([]);
        var api = builder.AddProject("api", ProjectPath).WithReplicas(2);
        var frontend = builder.AddProject("frontend", ProjectPath).WithReference(api);
        Allocate(builder);

        var environment = await EnvironmentOf(frontend.Resource);

        Assert.Equal($"http://127.0.0.1:{Port(api.Resource, "http", 0)}", environment["services__api__http__0"]);
        Assert.Equal($"http://127.0.0.1:{Port(api.Resource, "http", 1)}", environment["services__api__http__1"]);
    }

    [Fact]
    public async Task Each_replica_gets_its_own_ASPNETCORE_URLS_and_instance_id_but_one_service_name()
    {
        var builder = DistributedApplication.CreateBuilder([]);
        var api = builder.AddProject("api", ProjectPath).WithReplicas(2);
        Allocate(builder);

        var first = await EnvironmentOf(api.Resource, 0);
        var second = await EnvironmentOf(api.Resource, 1);

        Assert.Equal($"http://127.0.0.1:{Port(api.Resource, "http", 0)}", first["ASPNETCORE_URLS"]);
        Assert.Equal($"http://127.0.0.1:{Port(api.Resource, "http", 1)}", second["ASPNETCORE_URLS"]);
        Assert.Equal("api", first["OTEL_SERVICE_NAME"]);
        Assert.Equal("api", second["OTEL_SERVICE_NAME"]);
        Assert.Equal("service.instance.id=api-0", first["OTEL_RESOURCE_ATTRIBUTES"]);
        Assert.Equal("service.instance.id=api-1", second["OTEL_RESOURCE_ATTRIBUTES"]);
    }

    [Fact]
    public async Task Otlp_variables_point_projects_at_the_collector_only_when_one_is_configured()
    {
        var builder = DistributedApplication.CreateBuilder([]);
        var api = builder.AddProject("api", ProjectPath);
        Allocate(builder);

        var withCollector = await EnvironmentOf(api.Resource, otlp: "http://127.0.0.1:4318");
        var without = await EnvironmentOf(api.Resource);

        Assert.Equal("http://127.0.0.1:4318", withCollector["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        Assert.Equal("http/protobuf", withCollector["OTEL_EXPORTER_OTLP_PROTOCOL"]);
        Assert.False(without.ContainsKey("OTEL_EXPORTER_OTLP_ENDPOINT"));
    }

    [Fact]
    public async Task Google_cloud_references_inject_the_standard_emulator_variables_and_the_project_id()
    {
        var builder = DistributedApplication.CreateBuilder([], o => o.GcpProjectId = "acme");
        var pubsub = builder.AddPubSubEmulator("pubsub");
        var firestore = builder.AddFirestoreEmulator("firestore");
        var standIns = builder.AddProject("standins", ProjectPath);
        var storage = builder.AddCloudStorage("storage", standIns);
        var bigquery = builder.AddBigQuery("bigquery", standIns);
        var service = builder.AddProject("svc", ProjectPath)
            .WithReference(pubsub).WithReference(firestore).WithReference(storage).WithReference(bigquery);
        Allocate(builder);

        var environment = await EnvironmentOf(service.Resource);

        Assert.Equal($"127.0.0.1:{Port(pubsub.Resource, "http")}", environment["PUBSUB_EMULATOR_HOST"]);
        Assert.Equal($"127.0.0.1:{Port(firestore.Resource, "http")}", environment["FIRESTORE_EMULATOR_HOST"]);
        Assert.Equal($"http://127.0.0.1:{Port(standIns.Resource, "http")}", environment["STORAGE_EMULATOR_HOST"]);
        Assert.Equal($"http://127.0.0.1:{Port(standIns.Resource, "http")}", environment["BIGQUERY_EMULATOR_HOST"]);
        Assert.Equal("acme", environment["GOOGLE_CLOUD_PROJECT"]);
    }

    [Fact]
    public void Cloud_names_get_the_run_id_suffix_when_asked()
    {
        var builder = DistributedApplication.CreateBuilder([], o =>
        {
            o.GcpProjectId = "acme";
            o.SuffixCloudNamesWithRunId = true;
        });

        Assert.Equal($"acme-{builder.RunId}", builder.GetGcpProjectId().ProjectId);
        Assert.Matches("^[0-9a-f]{8}$", builder.RunId);
    }

    [Fact]
    public void A_configured_parameter_value_wins_over_the_generated_one()
    {
        var builder = DistributedApplication.CreateBuilder(["--Parameters:pg-password=fixed-secret"]);
        var postgres = builder.AddPostgres("pg");
        var redis = builder.AddRedis("cache");

        Assert.Equal("fixed-secret", postgres.Resource.Password.Value);
        Assert.Equal(22, redis.Resource.Password.Value.Length);
        Assert.Equal(redis.Resource.Password.Value, redis.Resource.Password.Value);
    }

    [Fact]
    public void A_parameter_without_value_or_default_fails_naming_the_configuration_key()
    {
        var builder = DistributedApplication.CreateBuilder([]);
        var parameter = builder.AddParameter("api-key", secret: true);

        var error = Assert.Throws<InvalidOperationException>(() => parameter.Resource.Value);
        Assert.Contains("Parameters:api-key", error.Message, StringComparison.Ordinal);
    }
}
