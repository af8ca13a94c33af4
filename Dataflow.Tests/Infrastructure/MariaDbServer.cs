using System.Globalization;
using Dataflow.Hosting.Processes;
using MySql.Data.MySqlClient;

namespace Dataflow.Tests.Infrastructure;

/// <summary>A throwaway MariaDB server (utf8mb4 throughout, root without password, loopback only).</summary>
public sealed class MariaDbServer : ServerProcess
{
    private readonly bool _durable;

    private MariaDbServer(bool durable)
        : base("mariadb") => _durable = durable;

    public string DataPath => Path.Combine(DataDirectory, "data");

    /// <summary>Connection string (MySql.Data) to the <c>mysql</c> database as root.</summary>
    public string ConnectionString => ConnectionStringFor("mysql");

    public static Task<MariaDbServer> StartAsync(bool durable = false, CancellationToken cancellationToken = default) =>
        StartAsync(new MariaDbServer(durable), server => server.InstallAsync(cancellationToken), cancellationToken);

    public string ConnectionStringFor(string database) =>
        new MySqlConnectionStringBuilder
        {
            Server = Host,
            Port = (uint)Port,
            UserID = "root",
            Password = "",
            Database = database,
            SslMode = MySqlSslMode.None,
            CharacterSet = "utf8mb4",
        }.ConnectionString;

    /// <summary>Creates a fresh, uniquely named database and returns a connection string to it.</summary>
    public async Task<string> CreateDatabaseAsync(string? name = null, CancellationToken cancellationToken = default)
    {
        name ??= $"test_{Guid.NewGuid():N}"[..20];
        await using var connection = new MySqlConnection(ConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new MySqlCommand($"CREATE DATABASE `{name}` CHARACTER SET utf8mb4", connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
        return ConnectionStringFor(name);
    }

    protected override TimeSpan StartTimeout => TimeSpan.FromSeconds(60);

    protected override ChildProcessOptions CreateProcessOptions()
    {
        List<string> arguments =
        [
            "--no-defaults", $"--datadir={DataPath}", $"--socket={Path.Combine(DataDirectory, "mysqld.sock")}",
            $"--port={Port.ToString(CultureInfo.InvariantCulture)}", "--bind-address=127.0.0.1",
            "--character-set-server=utf8mb4", "--collation-server=utf8mb4_unicode_ci",
            "--max-connections=300", "--skip-log-bin", $"--pid-file={Path.Combine(DataDirectory, "mysqld.pid")}",
        ];
        if (!_durable)
        {
            arguments.AddRange(["--innodb-flush-log-at-trx-commit=0", "--sync-binlog=0", "--innodb-doublewrite=0"]);
        }
        // Run directly as mysql (rather than --user=mysql): a process that changes its own uid loses the
        // parent-death signal that ties it to the test host.
        return new ChildProcessOptions(ServerBinaries.MariaDbServer, arguments)
        {
            DisplayName = "mariadbd",
            RunAsUser = UnprivilegedUser("mysql"),
        };
    }

    protected override async Task<bool> IsReadyAsync(CancellationToken cancellationToken)
    {
        await using var connection = new MySqlConnection(ConnectionString + ";Pooling=false;Connection Timeout=2");
        await connection.OpenAsync(cancellationToken);
        return true;
    }

    private async Task InstallAsync(CancellationToken cancellationToken)
    {
        await ChownAsync("mysql", DataDirectory, cancellationToken);
        await RunToCompletionAsync(
            new ChildProcessOptions(
                ServerBinaries.MariaDbInstall,
                ["--no-defaults", $"--datadir={DataPath}", "--auth-root-authentication-method=normal", "--skip-test-db", "--skip-name-resolve"])
            {
                RunAsUser = UnprivilegedUser("mysql"),
            },
            cancellationToken);
    }
}
