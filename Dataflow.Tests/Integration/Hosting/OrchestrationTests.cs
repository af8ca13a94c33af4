using System.Net.Sockets;
using System.Text;
using Dataflow.Hosting;
using Dataflow.Hosting.ApplicationModel;
using Dataflow.Hosting.Orchestration;
using Dataflow.Hosting.Testing;
using MySql.Data.MySqlClient;
using Npgsql;

namespace Dataflow.Tests.Integration.Hosting;

[Trait("Category", "Integration")]
public sealed class OrchestrationTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static TestingDistributedApplicationBuilder CreateBuilder() =>
        TestingBuilder.Create(o => o.Log = line => TestContext.Current.TestOutputHelper?.WriteLine(line));

    private static async Task<string> SendAsync(int port, string request)
    {
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", port, Ct);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request), Ct);
        var buffer = new byte[256];
        var read = await stream.ReadAsync(buffer, Ct);
        return Encoding.ASCII.GetString(buffer, 0, read);
    }

    [Fact]
    public async Task Redis_runs_password_protected_and_its_connection_string_authenticates()
    {
        var builder = CreateBuilder();
        builder.AddRedis("cache");
        await using var app = await builder.BuildAsync();
        await app.StartAsync(Ct);
        await app.WaitForResourceHealthyAsync("cache", cancellationToken: Ct);

        var connectionString = await app.GetConnectionStringAsync("cache", Ct);
        var (endpoint, password) = (connectionString.Split(',')[0], connectionString.Split(",password=")[1]);
        var port = int.Parse(endpoint.Split(':')[1], System.Globalization.CultureInfo.InvariantCulture);

        Assert.StartsWith("-NOAUTH", await SendAsync(port, "PING\r\n"), StringComparison.Ordinal);
        Assert.Equal("+OK\r\n", await SendAsync(port, $"AUTH {password}\r\n"));
    }

    [Fact]
    public async Task A_postgres_database_is_created_and_reachable_with_the_injected_connection_string()
    {
        var builder = CreateBuilder();
        builder.AddPostgres("pg").AddDatabase("ordersdb", "orders");
        await using var app = await builder.BuildAsync();
        await app.StartAsync(Ct);
        await app.WaitForResourceHealthyAsync("ordersdb", cancellationToken: Ct);

        await using var connection = new NpgsqlConnection(await app.GetConnectionStringAsync("ordersdb", Ct));
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand("SELECT current_database()", connection);

        Assert.Equal("orders", await command.ExecuteScalarAsync(Ct));
    }

    [Fact]
    public async Task A_postgres_password_is_enforced_over_tcp()
    {
        var builder = CreateBuilder();
        builder.AddPostgres("pg");
        await using var app = await builder.BuildAsync();
        await app.StartAsync(Ct);
        await app.WaitForResourceHealthyAsync("pg", cancellationToken: Ct);
        var wrong = new NpgsqlConnectionStringBuilder(await app.GetConnectionStringAsync("pg", Ct)) { Password = "not-the-password" };

        await using var connection = new NpgsqlConnection(wrong.ConnectionString);
        var error = await Assert.ThrowsAsync<PostgresException>(() => connection.OpenAsync(Ct));
        Assert.Equal("28P01", error.SqlState);
    }

    [Fact]
    public async Task A_mariadb_database_is_created_and_reachable_with_the_injected_connection_string()
    {
        var builder = CreateBuilder();
        builder.AddMySql("maria").AddDatabase("catalog");
        await using var app = await builder.BuildAsync();
        await app.StartAsync(Ct);
        await app.WaitForResourceHealthyAsync("catalog", cancellationToken: Ct);

        await using var connection = new MySqlConnection(await app.GetConnectionStringAsync("catalog", Ct));
        await connection.OpenAsync(Ct);
        await using var command = new MySqlCommand("CREATE TABLE t (id INT) CHARACTER SET utf8mb4; INSERT INTO t VALUES (7); SELECT id FROM t", connection);

        Assert.Equal(7, Convert.ToInt32(await command.ExecuteScalarAsync(Ct), System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Mosquitto_accepts_an_mqtt_connection_once_healthy()
    {
        var builder = CreateBuilder();
        builder.AddMosquitto("broker");
        await using var app = await builder.BuildAsync();
        await app.StartAsync(Ct);
        await app.WaitForResourceHealthyAsync("broker", cancellationToken: Ct);
        var uri = new Uri(await app.GetConnectionStringAsync("broker", Ct));

        Assert.True(await HealthProbes.MqttConnAckAsync(uri.Port, Ct));
    }

    [Fact]
    public async Task WaitFor_holds_a_dependent_in_Waiting_until_the_dependency_is_healthy()
    {
        var ready = new TaskCompletionSource();
        var builder = CreateBuilder();
        var dependency = builder.AddExecutable("dependency", "sleep", null, "600")
            .WithHealthProbe(new HealthProbeAnnotation("test switch", (_, _) => Task.FromResult(ready.Task.IsCompleted)));
        builder.AddExecutable("dependent", "sleep", null, "600").WaitFor(dependency);
        await using var app = await builder.BuildAsync();
        await app.StartAsync(Ct);

        await app.WaitForResourceAsync("dependency", [KnownResourceStates.Running], cancellationToken: Ct);
        Assert.Equal(KnownResourceStates.Waiting, app.GetResources().Single(r => r.Name == "dependent").State);

        ready.SetResult();
        await app.WaitForResourceHealthyAsync("dependent", cancellationToken: Ct);
        Assert.NotNull(app.GetResources().Single(r => r.Name == "dependent").ProcessId);
    }

    [Fact]
    public async Task WaitForCompletion_starts_the_dependent_after_the_job_finishes_with_exit_code_0()
    {
        var builder = CreateBuilder();
        var job = builder.AddExecutable("migrate", "sh", null, "-c", "echo migrated");
        builder.AddExecutable("service", "sleep", null, "600").WaitForCompletion(job);
        await using var app = await builder.BuildAsync();
        await app.StartAsync(Ct);

        await app.WaitForResourceHealthyAsync("service", cancellationToken: Ct);

        var migrate = app.GetResources().Single(r => r.Name == "migrate");
        Assert.Equal(KnownResourceStates.Finished, migrate.State);
        Assert.Equal(0, migrate.ExitCode);
        Assert.Contains("migrated", app.Application.Orchestrator.GetLog("migrate").Tail(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_failed_job_fails_its_dependent_with_a_message_naming_the_job()
    {
        var builder = CreateBuilder();
        var job = builder.AddExecutable("migrate", "sh", null, "-c", "exit 3");
        builder.AddExecutable("service", "sleep", null, "600").WaitForCompletion(job);
        await using var app = await builder.BuildAsync();
        await app.StartAsync(Ct);

        var error = await Assert.ThrowsAsync<ResourceFailedException>(() => app.WaitForResourceHealthyAsync("service", cancellationToken: Ct));

        Assert.Contains("migrate", error.Message, StringComparison.Ordinal);
        Assert.Contains("exit code 3", error.Message, StringComparison.Ordinal);
        Assert.Equal(KnownResourceStates.Exited, app.GetResources().Single(r => r.Name == "migrate").State);
    }

    [Fact]
    public async Task A_missing_program_fails_to_start_naming_the_package_and_fails_its_dependents()
    {
        var builder = CreateBuilder();
        var missing = builder.AddResource(new ExecutableResource("search", "dataflow-no-such-server") { Package = "dataflow-search" });
        builder.AddExecutable("api", "sleep", null, "600").WaitFor(missing);
        await using var app = await builder.BuildAsync();
        await app.StartAsync(Ct);

        var error = await Assert.ThrowsAsync<ResourceFailedException>(() => app.WaitForResourceHealthyAsync("search", cancellationToken: Ct));
        Assert.Contains("apt-get install dataflow-search", error.Message, StringComparison.Ordinal);

        var dependentError = await Assert.ThrowsAsync<ResourceFailedException>(() => app.WaitForResourceHealthyAsync("api", cancellationToken: Ct));
        Assert.Equal(KnownResourceStates.FailedToStart, dependentError.State);
        Assert.Contains("'search'", dependentError.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Servers_whose_unix_socket_path_would_be_too_long_fail_to_start_naming_the_setting_to_change()
    {
        var root = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), $"long-temporary-root-{Guid.NewGuid():N}{new string('x', 40)}")).FullName;
        try
        {
            var builder = TestingBuilder.Create(o => o.Log = line => TestContext.Current.TestOutputHelper?.WriteLine(line), $"--AppHost:TemporaryRoot={root}");
            builder.AddPostgres("pg");
            builder.AddMySql("maria");
            await using var app = await builder.BuildAsync();
            await app.StartAsync(Ct);

            foreach (var server in new[] { "pg", "maria" })
            {
                var error = await Assert.ThrowsAsync<ResourceFailedException>(() => app.WaitForResourceHealthyAsync(server, cancellationToken: Ct));
                Assert.Equal(KnownResourceStates.FailedToStart, error.State);
                Assert.Contains($"more than the {UnixSocketPath.MaxLength} a socket address holds", error.Message, StringComparison.Ordinal);
                Assert.Contains("set AppHost:TemporaryRoot (or TMPDIR) to a shorter directory", error.Message, StringComparison.Ordinal);
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task A_process_that_dies_is_Exited_with_its_exit_code()
    {
        var builder = CreateBuilder();
        builder.AddExecutable("crashy", "sh", null, "-c", "echo about to fail; exit 42");
        await using var app = await builder.BuildAsync();
        await app.StartAsync(Ct);

        await app.WaitForResourceAsync("crashy", [KnownResourceStates.Exited], cancellationToken: Ct);

        var snapshot = app.GetResources().Single(r => r.Name == "crashy");
        Assert.Equal(42, snapshot.ExitCode);
        Assert.Contains("42", snapshot.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_stopped_resource_can_be_started_again_on_the_same_port()
    {
        var builder = CreateBuilder();
        builder.AddRedis("cache");
        await using var app = await builder.BuildAsync();
        await app.StartAsync(Ct);
        await app.WaitForResourceHealthyAsync("cache", cancellationToken: Ct);
        var before = app.GetResources().Single(r => r.Name == "cache");

        await app.StopResourceAsync("cache", Ct);
        var stopped = app.GetResources().Single(r => r.Name == "cache");
        await app.StartResourceAsync("cache", Ct);
        await app.WaitForResourceHealthyAsync("cache", cancellationToken: Ct);
        var after = app.GetResources().Single(r => r.Name == "cache");

        Assert.Equal(KnownResourceStates.Exited, stopped.State);
        Assert.False(Directory.Exists($"/proc/{before.ProcessId}") && File.ReadAllText($"/proc/{before.ProcessId}/comm").StartsWith("redis", StringComparison.Ordinal));
        Assert.NotEqual(before.ProcessId, after.ProcessId);
        Assert.Equal(before.Urls, after.Urls);
    }

    [Fact]
    public async Task Disposing_releases_processes_ports_and_data_directories()
    {
        var builder = CreateBuilder();
        builder.AddRedis("cache");
        builder.AddPostgres("pg");
        var app = await builder.BuildAsync();
        await app.StartAsync(Ct);
        await app.WaitForResourceHealthyAsync("cache", cancellationToken: Ct);
        await app.WaitForResourceHealthyAsync("pg", cancellationToken: Ct);
        var pids = app.GetResources().Where(r => r.ProcessId is not null).Select(r => r.ProcessId!.Value).ToList();
        var ports = app.GetResources().SelectMany(r => r.Urls).Select(u => new Uri(u).Port).ToList();
        var dataRoot = app.Application.Orchestrator.DataRoot;

        await app.DisposeAsync();

        Assert.Equal(2, pids.Count);
        Assert.All(pids, pid => Assert.False(Directory.Exists($"/proc/{pid}"), $"process {pid} is still alive"));
        Assert.False(Directory.Exists(dataRoot));
        foreach (var port in ports)
        {
            using var listener = new TcpListener(System.Net.IPAddress.Loopback, port);
            listener.Start();
        }
    }

    [Fact]
    public async Task Waiting_on_an_unknown_resource_fails_at_once_listing_the_known_ones()
    {
        var builder = CreateBuilder();
        builder.AddRedis("cache");
        await using var app = await builder.BuildAsync();

        var error = await Assert.ThrowsAsync<KeyNotFoundException>(() => app.WaitForResourceHealthyAsync("cahce", cancellationToken: Ct));
        Assert.Contains("cache", error.Message, StringComparison.Ordinal);
        Assert.Throws<KeyNotFoundException>(() => app.CreateHttpClient("nope"));
        await Assert.ThrowsAsync<KeyNotFoundException>(() => app.GetConnectionStringAsync("nope", Ct));
    }

    [Fact]
    public async Task A_wait_that_times_out_names_the_stuck_resource_its_state_and_its_last_log_lines()
    {
        var builder = CreateBuilder();
        builder.AddExecutable("slow", "sh", null, "-c", "echo still-warming-up; sleep 600")
            .WithHealthProbe(new HealthProbeAnnotation("never", (_, _) => Task.FromResult(false)));
        builder.AddExecutable("dependent", "sleep", null, "600").WaitFor(builder.CreateResourceBuilder(builder.Resources.OfType<ExecutableResource>().First()));
        await using var app = await builder.BuildAsync();
        await app.StartAsync(Ct);
        await app.WaitForResourceAsync("slow", [KnownResourceStates.Running], cancellationToken: Ct);
        await Task.Delay(300, Ct);

        var slow = await Assert.ThrowsAsync<TimeoutException>(() => app.WaitForResourceHealthyAsync("slow", TimeSpan.FromSeconds(1), Ct));
        var dependent = await Assert.ThrowsAsync<TimeoutException>(() => app.WaitForResourceHealthyAsync("dependent", TimeSpan.FromSeconds(1), Ct));

        Assert.Contains("'slow' is Running (Unhealthy)", slow.Message, StringComparison.Ordinal);
        Assert.Contains("still-warming-up", slow.Message, StringComparison.Ordinal);
        Assert.Contains("'dependent' is Waiting", dependent.Message, StringComparison.Ordinal);
        Assert.Contains("waiting for 'slow' (Running)", dependent.Message, StringComparison.Ordinal);
    }
}
