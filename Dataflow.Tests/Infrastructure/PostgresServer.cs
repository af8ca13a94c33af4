using Dataflow.Hosting.Processes;
using Npgsql;

namespace Dataflow.Tests.Infrastructure;

/// <summary>A throwaway PostgreSQL cluster (initdb + postgres in the foreground, trust auth, loopback only).</summary>
public sealed class PostgresServer : ServerProcess
{
    private readonly bool _durable;

    private PostgresServer(bool durable)
        : base("postgres") => _durable = durable;

    public string DataPath => Path.Combine(DataDirectory, "data");

    /// <summary>Connection string (Npgsql) to the <c>postgres</c> database as the <c>postgres</c> superuser.</summary>
    public string ConnectionString => ConnectionStringFor("postgres");

    /// <param name="durable">Keep PostgreSQL's default durability (fsync on) — for benchmarks; tests run faster without.</param>
    public static Task<PostgresServer> StartAsync(bool durable = false, CancellationToken cancellationToken = default) =>
        StartAsync(new PostgresServer(durable), server => server.InitDbAsync(cancellationToken), cancellationToken);

    public string ConnectionStringFor(string database) =>
        new NpgsqlConnectionStringBuilder
        {
            Host = Host,
            Port = Port,
            Username = "postgres",
            Database = database,
            IncludeErrorDetail = true,
        }.ConnectionString;

    /// <summary>Creates a fresh, uniquely named database and returns a connection string to it.</summary>
    public async Task<string> CreateDatabaseAsync(string? name = null, CancellationToken cancellationToken = default)
    {
        name ??= $"test_{Guid.NewGuid():N}"[..20];
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
        return ConnectionStringFor(name);
    }

    protected override ChildProcessOptions CreateProcessOptions()
    {
        List<string> arguments =
        [
            "-D", DataPath, "-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "-c", "listen_addresses=127.0.0.1", "-k", DataDirectory, "-c", "max_connections=300",
        ];
        if (!_durable)
        {
            arguments.AddRange(["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]);
        }
        return new ChildProcessOptions(ServerBinaries.Postgres, arguments)
        {
            DisplayName = "postgres",
            RunAsUser = UnprivilegedUser("postgres"),
        };
    }

    protected override async Task<bool> IsReadyAsync(CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(ConnectionString + ";Pooling=false;Timeout=2");
        await connection.OpenAsync(cancellationToken);
        return true;
    }

    private async Task InitDbAsync(CancellationToken cancellationToken)
    {
        await ChownAsync("postgres", DataDirectory, cancellationToken);
        await RunToCompletionAsync(
            new ChildProcessOptions(ServerBinaries.InitDb, ["-D", DataPath, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"])
            {
                RunAsUser = UnprivilegedUser("postgres"),
            },
            cancellationToken);
    }
}
