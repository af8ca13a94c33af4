using System.Text.Json;
using Dataflow.Hosting;
using Dataflow.Hosting.ApplicationModel;
using Dataflow.Hosting.Publishing;

namespace Dataflow.Tests.Unit.Hosting;

[Trait("Category", "Unit")]
public sealed class ManifestPublisherTests
{
    private static readonly JsonSchemaValidator Schema = new(JsonDocument.Parse(File.ReadAllText(HostingPaths.ManifestSchema)).RootElement);

    private static JsonElement Publish(IDistributedApplicationBuilder builder, string directory = "/repo/AppHost")
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            ManifestPublisher.Write(new DistributedApplicationModel([.. builder.Resources]), writer, directory);
        }
        return JsonDocument.Parse(stream.ToArray()).RootElement;
    }

    [Theory]
    [InlineData("example-aspire-manifest-mysql.json")]
    [InlineData("example-aspire-manifest-testshop.json")]
    public void The_validator_accepts_the_real_reference_manifests(string file)
    {
        var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(Path.GetDirectoryName(HostingPaths.ManifestSchema)!, file))).RootElement;

        Assert.Empty(Schema.Validate(manifest));
    }

    [Theory]
    [InlineData("""{"resources":{"x":{"type":"container.v0"}}}""", "image")]
    [InlineData("""{"resources":{"x":{"type":"project.v0","path":"a.csproj","replicas":2}}}""", "replicas")]
    [InlineData("""{"resources":{"x":{"type":"project.v0","path":"a.csproj","bindings":{"http":{"scheme":"ftp","protocol":"tcp","transport":"http"}}}}}""", "ftp")]
    [InlineData("""{"resources":{"x":{"type":"value.v0"}}}""", "connectionString")]
    public void The_validator_rejects_manifests_that_break_the_schema(string manifest, string culprit)
    {
        var errors = Schema.Validate(JsonDocument.Parse(manifest).RootElement);

        Assert.NotEmpty(errors);
        Assert.Contains(culprit, string.Join("\n", errors), StringComparison.Ordinal);
    }

    [Fact]
    public void A_topology_is_published_as_a_valid_manifest_with_container_value_parameter_and_project_resources()
    {
        var builder = DistributedApplication.CreateBuilder(["--publisher", "manifest"]);
        var db = builder.AddPostgres("pg").AddDatabase("ordersdb", "orders");
        var redis = builder.AddRedis("cache");
        builder.AddProject("orders", "/repo/services/Orders/Orders.csproj").WithReference(db).WithReference(redis).WithExternalHttpEndpoints();

        var manifest = Publish(builder);

        Assert.Empty(Schema.Validate(manifest));
        var resources = manifest.GetProperty("resources");
        Assert.Equal("container.v0", resources.GetProperty("pg").GetProperty("type").GetString());
        Assert.Equal("Host={pg.bindings.tcp.host};Port={pg.bindings.tcp.port};Username=postgres;Password={pg-password.value}",
            resources.GetProperty("pg").GetProperty("connectionString").GetString());
        Assert.Equal(5432, resources.GetProperty("pg").GetProperty("bindings").GetProperty("tcp").GetProperty("targetPort").GetInt32());
        Assert.Equal("{pg.connectionString};Database=orders", resources.GetProperty("ordersdb").GetProperty("connectionString").GetString());
        var orders = resources.GetProperty("orders");
        Assert.Equal("../services/Orders/Orders.csproj", orders.GetProperty("path").GetString());
        Assert.Equal("{ordersdb.connectionString}", orders.GetProperty("env").GetProperty("ConnectionStrings__ordersdb").GetString());
        Assert.Equal("{cache.connectionString}", orders.GetProperty("env").GetProperty("ConnectionStrings__cache").GetString());
        Assert.True(orders.GetProperty("bindings").GetProperty("http").GetProperty("external").GetBoolean());
    }

    [Fact]
    public void Generated_secrets_are_parameters_with_a_generate_default_and_never_a_value()
    {
        var builder = DistributedApplication.CreateBuilder(["--publisher", "manifest"]);
        var redis = builder.AddRedis("cache");
        _ = redis.Resource.Password.Value;

        var password = Publish(builder).GetProperty("resources").GetProperty("cache-password");

        Assert.Equal("parameter.v0", password.GetProperty("type").GetString());
        Assert.Equal("{cache-password.inputs.value}", password.GetProperty("value").GetString());
        var input = password.GetProperty("inputs").GetProperty("value");
        Assert.True(input.GetProperty("secret").GetBoolean());
        Assert.Equal(22, input.GetProperty("default").GetProperty("generate").GetProperty("minLength").GetInt32());
        Assert.DoesNotContain(redis.Resource.Password.Value, password.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_configured_connection_string_is_a_secret_parameter_with_a_connection_string()
    {
        var builder = DistributedApplication.CreateBuilder(["--publisher", "manifest"]);
        builder.AddConnectionString("legacy");

        var legacy = Publish(builder).GetProperty("resources").GetProperty("legacy");

        Assert.Equal("parameter.v0", legacy.GetProperty("type").GetString());
        Assert.Equal("{legacy.value}", legacy.GetProperty("connectionString").GetString());
        Assert.True(legacy.GetProperty("inputs").GetProperty("value").GetProperty("secret").GetBoolean());
    }

    [Fact]
    public void An_executable_is_published_with_its_command_arguments_and_working_directory()
    {
        var builder = DistributedApplication.CreateBuilder(["--publisher", "manifest"]);
        builder.AddExecutable("worker", "python3", "/repo/tools", "worker.py", "--fast").WithHttpEndpoint();

        var worker = Publish(builder).GetProperty("resources").GetProperty("worker");

        Assert.Empty(Schema.Validate(Publish(builder)));
        Assert.Equal("executable.v0", worker.GetProperty("type").GetString());
        Assert.Equal("python3", worker.GetProperty("command").GetString());
        Assert.Equal("../tools", worker.GetProperty("workingDirectory").GetString());
        Assert.Equal(["worker.py", "--fast"], worker.GetProperty("args").EnumerateArray().Select(a => a.GetString()));
    }
}
