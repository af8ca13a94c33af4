using System.Globalization;
using System.Text;
using Dataflow.Hosting.ApplicationModel;

namespace Dataflow.Hosting;

/// <summary>A MySQL-compatible server: the local MariaDB (Debian package mariadb-server) in a private data directory.</summary>
public sealed class MySqlServerResource : ExecutableResource, IResourceWithConnectionString
{
    private readonly List<MySqlDatabaseResource> _databases = [];

    public MySqlServerResource(string name, ParameterResource password)
        : base(name, "mariadbd")
    {
        Password = password;
        Package = "mariadb-server";
        // Started as mysql rather than with --user=mysql: a server that changes its own user loses the parent-death signal.
        RunAsUser = "mysql";
    }

    public ParameterResource Password { get; }

    public IReadOnlyList<MySqlDatabaseResource> Databases => _databases;

    public EndpointReference PrimaryEndpoint => new(this, "tcp");

    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create(
        $"Server={PrimaryEndpoint.Property(EndpointProperty.Host)};Port={PrimaryEndpoint.Property(EndpointProperty.Port)};User ID=root;Password={Password}");

    internal void AddDatabase(MySqlDatabaseResource database) => _databases.Add(database);

    public override ResourceBacking ResolveBacking() =>
        BinaryLocator.Find("mariadbd") is { } mariadb ? ResourceBacking.LocalProcess(mariadb)
        : BinaryLocator.Find("mysqld") is { } mysql ? ResourceBacking.LocalProcess(mysql)
        : ResourceBacking.Missing("'mariadbd' is not installed: apt-get install mariadb-server");

    private static string DataPath(ResourceRunContext context) => Path.Combine(context.DataDirectory, "data");

    public override async Task PrepareAsync(ResourceRunContext context, CancellationToken cancellationToken)
    {
        UnixSocketPath.EnsureFits(Path.Combine(context.DataDirectory, "s.lock"));
        var data = DataPath(context);
        if (!Directory.Exists(Path.Combine(data, "mysql")))
        {
            Directory.CreateDirectory(data);
            await context.RunToolAsync("mariadb-install-db", "mariadb-server",
                ["--no-defaults", "--user=mysql", $"--datadir={data}", "--auth-root-authentication-method=normal", "--skip-test-db"],
                cancellationToken);
        }
        // Runs inside the server before it accepts connections, so "healthy" implies password and databases are in place.
        var init = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"ALTER USER 'root'@'localhost' IDENTIFIED BY '{Escape(Password.Value)}';")
            .AppendLine("CREATE USER IF NOT EXISTS 'root'@'127.0.0.1';")
            .AppendLine(CultureInfo.InvariantCulture, $"ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY '{Escape(Password.Value)}';")
            .AppendLine("GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;");
        foreach (var database in _databases)
        {
            init.AppendLine(CultureInfo.InvariantCulture,
                $"CREATE DATABASE IF NOT EXISTS `{database.DatabaseName.Replace("`", "``", StringComparison.Ordinal)}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;");
        }
        var initFile = Path.Combine(context.DataDirectory, "init.sql");
        await File.WriteAllTextAsync(initFile, init.ToString(), cancellationToken);
        if (ProcessUser.IsRoot)
        {
            ProcessUser.ChangeOwner(context.DataDirectory, "mysql");
        }
    }

    public override ValueTask<(string FileName, IReadOnlyList<string> Arguments)> GetStartCommandAsync(
        ResourceRunContext context, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        List<string> args = ["--no-defaults", $"--datadir={DataPath(context)}", $"--socket={Path.Combine(context.DataDirectory, "s")}",
            $"--port={context.Port().ToString(CultureInfo.InvariantCulture)}", "--bind-address=127.0.0.1",
            $"--init-file={Path.Combine(context.DataDirectory, "init.sql")}", $"--pid-file={Path.Combine(context.DataDirectory, "mariadb.pid")}",
            // Health probes close connections during the handshake; never let them block the host.
            "--max-connect-errors=1000000000", "--character-set-server=utf8mb4", "--collation-server=utf8mb4_unicode_ci",
            "--innodb-flush-log-at-trx-commit=2", "--skip-log-bin"];
        return ValueTask.FromResult<(string, IReadOnlyList<string>)>((context.Backing.Path!, [.. args, .. arguments]));
    }

    private static string Escape(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "''", StringComparison.Ordinal);
}

/// <summary>A database on a <see cref="MySqlServerResource"/> (created by the server's init file at start).</summary>
public sealed class MySqlDatabaseResource(string name, string databaseName, MySqlServerResource parent)
    : Resource(name), IResourceWithParent, IResourceWithConnectionString
{
    public string DatabaseName { get; } = databaseName;

    public MySqlServerResource Parent { get; } = parent;

    IResource IResourceWithParent.Parent => Parent;

    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create($"{Parent};Database={DatabaseName}");
}

public static class MySqlBuilderExtensions
{
    public static IResourceBuilder<MySqlServerResource> AddMySql(this IDistributedApplicationBuilder builder, string name,
        IResourceBuilder<ParameterResource>? password = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var passwordParameter = password?.Resource ?? builder.AddParameter($"{name}-password", new GenerateParameterDefault(22)).Resource;
        var server = new MySqlServerResource(name, passwordParameter);
        server.Annotations.Add(new EndpointAnnotation("tcp", "tcp", "tcp", 3306, isExternal: false));
        server.Annotations.Add(new HealthProbeAnnotation("MySQL server greeting", (c, ct) => HealthProbes.MySqlGreetingAsync(c.Port, ct)));
        server.Annotations.Add(new ContainerImageAnnotation("docker.io/library/mariadb", "10.11")
        {
            Environment = new Dictionary<string, object> { ["MARIADB_ROOT_PASSWORD"] = passwordParameter },
            Volumes = [($"dataflow-{name}-data", "/var/lib/mysql")],
        });
        return builder.AddResource(server);
    }

    public static IResourceBuilder<MySqlDatabaseResource> AddDatabase(this IResourceBuilder<MySqlServerResource> builder, string name,
        string? databaseName = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var database = new MySqlDatabaseResource(name, databaseName ?? name, builder.Resource);
        builder.Resource.AddDatabase(database);
        return builder.ApplicationBuilder.AddResource(database);
    }
}
