using System.Diagnostics;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Dataflow.Tests.Infrastructure;
using MySql.Data.MySqlClient;
using Npgsql;

namespace Dataflow.Tests.Integration.Fixtures;

/// <summary>Each fixture starts a real server that answers: connect, round-trip one value.</summary>
[Trait("Category", "Integration")]
public sealed class ServerFixtureTests(SharedServers servers)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Postgres_fixture_round_trips_a_row_in_a_fresh_database()
    {
        var postgres = await servers.GetPostgresAsync();
        var connectionString = await postgres.CreateDatabaseAsync(cancellationToken: Ct);

        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
        await using (var create = new NpgsqlCommand("CREATE TABLE t (v text); INSERT INTO t VALUES ('round-trip')", connection))
        {
            await create.ExecuteNonQueryAsync(Ct);
        }
        await using var select = new NpgsqlCommand("SELECT v FROM t", connection);
        Assert.Equal("round-trip", await select.ExecuteScalarAsync(Ct));
    }

    [Fact]
    public async Task MariaDb_fixture_round_trips_a_row_in_a_fresh_database()
    {
        var mariaDb = await servers.GetMariaDbAsync();
        var connectionString = await mariaDb.CreateDatabaseAsync(cancellationToken: Ct);

        await using var connection = new MySqlConnection(connectionString);
        await connection.OpenAsync(Ct);
        await using (var create = new MySqlCommand("CREATE TABLE t (v VARCHAR(20)) CHARACTER SET utf8mb4; INSERT INTO t VALUES ('round-trip')", connection))
        {
            await create.ExecuteNonQueryAsync(Ct);
        }
        await using var select = new MySqlCommand("SELECT v FROM t", connection);
        Assert.Equal("round-trip", await select.ExecuteScalarAsync(Ct));
    }

    [Fact]
    public async Task Redis_fixture_round_trips_a_value_through_redis_cli()
    {
        var redis = await servers.GetRedisAsync();
        var key = $"fixture:{Guid.NewGuid():N}";

        Assert.Equal("OK", await RunAsync(ServerBinaries.RedisCli, ["-p", $"{redis.Port}", "SET", key, "round-trip"]));
        Assert.Equal("round-trip", await RunAsync(ServerBinaries.RedisCli, ["-p", $"{redis.Port}", "GET", key]));
    }

    [Fact]
    public async Task Mosquitto_fixture_delivers_a_message_between_the_mosquitto_clients()
    {
        var mosquitto = await servers.GetMosquittoAsync();
        var topic = $"fixture/{Guid.NewGuid():N}";

        var received = RunAsync(ServerBinaries.MosquittoSub, ["-p", $"{mosquitto.Port}", "-t", topic, "-C", "1", "-q", "1", "-W", "20"]);
        // The subscriber must be subscribed before the publish; a retained message removes the race.
        await RunAsync(ServerBinaries.MosquittoPub, ["-p", $"{mosquitto.Port}", "-t", topic, "-m", "round-trip", "-q", "1", "-r"]);

        Assert.Equal("round-trip", await received);
    }

    [Fact]
    public async Task PubSub_emulator_fixture_delivers_a_published_message_to_a_subscription()
    {
        var pubSub = await servers.GetPubSubAsync();
        using var http = new HttpClient { BaseAddress = pubSub.BaseUri };
        var project = $"fixture-{Guid.NewGuid():N}"[..20];

        (await http.PutAsync($"v1/projects/{project}/topics/topic-a", null, Ct)).EnsureSuccessStatusCode();
        (await http.PutAsJsonAsync($"v1/projects/{project}/subscriptions/sub-a", new { topic = $"projects/{project}/topics/topic-a" }, Ct)).EnsureSuccessStatusCode();
        var data = Convert.ToBase64String(Encoding.UTF8.GetBytes("round-trip"));
        (await http.PostAsJsonAsync($"v1/projects/{project}/topics/topic-a:publish", new { messages = new[] { new { data } } }, Ct)).EnsureSuccessStatusCode();

        using var pulled = await http.PostAsJsonAsync($"v1/projects/{project}/subscriptions/sub-a:pull", new { maxMessages = 1 }, Ct);
        using var body = JsonDocument.Parse(await pulled.Content.ReadAsStringAsync(Ct));
        var message = body.RootElement.GetProperty("receivedMessages")[0].GetProperty("message");
        Assert.Equal("round-trip", Encoding.UTF8.GetString(message.GetProperty("data").GetBytesFromBase64()));
    }

    [Fact]
    public async Task Firestore_emulator_fixture_reads_back_a_written_document()
    {
        var firestore = await servers.GetFirestoreAsync();
        using var http = new HttpClient { BaseAddress = firestore.BaseUri };
        http.DefaultRequestHeaders.Authorization = new("Bearer", "owner");
        var project = $"fixture-{Guid.NewGuid():N}"[..20];
        var document = $"v1/projects/{project}/databases/(default)/documents/devices/dev-1";

        (await http.PatchAsJsonAsync(document, new { fields = new { name = new { stringValue = "round-trip" } } }, Ct)).EnsureSuccessStatusCode();

        using var body = JsonDocument.Parse(await http.GetStringAsync(document, Ct));
        Assert.Equal("round-trip", body.RootElement.GetProperty("fields").GetProperty("name").GetProperty("stringValue").GetString());
    }

    [Fact]
    public async Task Nginx_fixture_balances_requests_across_its_upstreams()
    {
        await using var first = await TestHttpServer.StartAsync("first", Ct);
        await using var second = await TestHttpServer.StartAsync("second", Ct);
        await using var nginx = await NginxServer.StartAsync([(first.Host, first.Port), (second.Host, second.Port)], Ct);
        using var http = new HttpClient { BaseAddress = nginx.BaseUri };

        var answers = new HashSet<string>();
        for (var i = 0; i < 4; i++)
        {
            answers.Add(await http.GetStringAsync("/", Ct));
        }

        Assert.Equal(["first", "second"], answers.Order());
    }

    [Fact]
    public async Task A_private_server_stops_restarts_on_the_same_port_and_is_removed_on_dispose()
    {
        var redis = await RedisServer.StartAsync(cancellationToken: Ct);
        var port = redis.Port;
        var directory = redis.DataDirectory;

        await redis.StopAsync(Ct);
        Assert.False(redis.IsRunning);
        await Assert.ThrowsAnyAsync<SocketException>(() => Probes.TcpAcceptsAsync(redis.Host, port, Ct));

        await redis.StartAgainAsync(Ct);
        Assert.Equal(port, redis.Port);
        Assert.True(await Probes.TcpAcceptsAsync(redis.Host, port, Ct));

        redis.Kill();
        Assert.False(redis.IsRunning);
        await redis.DisposeAsync();
        Assert.False(Directory.Exists(directory));
    }

    private static async Task<string> RunAsync(string program, IReadOnlyList<string> arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync(Ct);
        var error = await process.StandardError.ReadToEndAsync(Ct);
        await process.WaitForExitAsync(Ct);
        Assert.True(process.ExitCode == 0, $"{program} exited with {process.ExitCode}: {error}");
        return output.Trim();
    }
}
