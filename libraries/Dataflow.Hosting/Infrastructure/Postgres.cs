using Dataflow.Hosting.ApplicationModel;

namespace Dataflow.Hosting;

/// <summary>A PostgreSQL server run from the local installation (Debian package postgresql) in a private data directory.</summary>
public sealed class PostgresServerResource : ExecutableResource, IResourceWithConnectionString
{
    private readonly List<PostgresDatabaseResource> _databases = [];

    public PostgresServerResource(string name, ParameterResource password)
        : base(name, "postgres")
    {
        Password = password;
        Package = "postgresql";
        RunAsUser = "postgres";
    }

    public ParameterResource Password { get; }

    public IReadOnlyList<PostgresDatabaseResource> Databases => _databases;

    public EndpointReference PrimaryEndpoint => new(this, "tcp");

    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create(
        $"Host={PrimaryEndpoint.Property(EndpointProperty.Host)};Port={PrimaryEndpoint.Property(EndpointProperty.Port)};Username=postgres;Password={Password}");

    internal void AddDatabase(PostgresDatabaseResource database) => _databases.Add(database);

    private static string DataPath(ResourceRunContext context) => Path.Combine(context.DataDirectory, "data");

    public override async Task PrepareAsync(ResourceRunContext context, CancellationToken cancellationToken)
    {
        UnixSocketPath.EnsureFits(Path.Combine(context.DataDirectory, $".s.PGSQL.{context.Port().ToString(System.Globalization.CultureInfo.InvariantCulture)}.lock"));
        var data = DataPath(context);
        if (File.Exists(Path.Combine(data, "PG_VERSION")))
        {
            return;
        }
        Directory.CreateDirectory(data);
        var passwordFile = Path.Combine(context.DataDirectory, "pwfile");
        await File.WriteAllTextAsync(passwordFile, Password.Value, cancellationToken);
        OwnByServiceUser(context.DataDirectory);
        var initdb = Path.Combine(Path.GetDirectoryName(context.Backing.Path!)!, "initdb");
        await context.RunToCompletionAsync(File.Exists(initdb) ? initdb : BinaryLocator.Find("initdb") ?? initdb,
            ["-D", data, "-U", "postgres", "--pwfile", passwordFile, "--auth-host=scram-sha-256", "--auth-local=trust", "-E", "UTF8", "--no-sync"],
            cancellationToken, ServiceUser);
        File.Delete(passwordFile);
    }

    public override ValueTask<(string FileName, IReadOnlyList<string> Arguments)> GetStartCommandAsync(
        ResourceRunContext context, IReadOnlyList<string> arguments, CancellationToken cancellationToken) =>
        ValueTask.FromResult<(string, IReadOnlyList<string>)>((context.Backing.Path!,
        [
            "-D", DataPath(context), "-p", context.Port().ToString(System.Globalization.CultureInfo.InvariantCulture),
            "-c", "listen_addresses=127.0.0.1", "-k", context.DataDirectory,
            // A developer database: durability is traded for start-up and test speed.
            "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=300",
            .. arguments,
        ]));

    public override async Task OnHealthyAsync(ResourceRunContext context, CancellationToken cancellationToken)
    {
        foreach (var database in _databases)
        {
            await EnsureDatabaseAsync(context, database.DatabaseName, cancellationToken);
        }
    }

    internal async Task EnsureDatabaseAsync(ResourceRunContext context, string databaseName, CancellationToken cancellationToken)
    {
        // Trust authentication on the private Unix socket: no password on the command line.
        string[] connection = ["-h", context.DataDirectory, "-p", context.Port().ToString(System.Globalization.CultureInfo.InvariantCulture), "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-tAc"];
        var exists = await context.RunToolAsync("psql", "postgresql-client",
            [.. connection, $"SELECT 1 FROM pg_database WHERE datname = '{databaseName.Replace("'", "''", StringComparison.Ordinal)}'"],
            cancellationToken, ServiceUser);
        if (!exists.Contains('1', StringComparison.Ordinal))
        {
            await context.RunToolAsync("psql", "postgresql-client",
                [.. connection, $"CREATE DATABASE \"{databaseName.Replace("\"", "\"\"", StringComparison.Ordinal)}\""], cancellationToken, ServiceUser);
        }
    }

    private string? ServiceUser => ProcessUser.IsRoot ? RunAsUser : null;

    private static void OwnByServiceUser(string directory)
    {
        if (ProcessUser.IsRoot)
        {
            ProcessUser.ChangeOwner(directory, "postgres");
        }
    }
}

/// <summary>A database on a <see cref="PostgresServerResource"/>, created when the server is healthy.</summary>
public sealed class PostgresDatabaseResource(string name, string databaseName, PostgresServerResource parent)
    : Resource(name), IResourceWithParent, IResourceWithConnectionString
{
    public string DatabaseName { get; } = databaseName;

    public PostgresServerResource Parent { get; } = parent;

    IResource IResourceWithParent.Parent => Parent;

    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create($"{Parent};Database={DatabaseName}");
}

public static class PostgresBuilderExtensions
{
    public static IResourceBuilder<PostgresServerResource> AddPostgres(this IDistributedApplicationBuilder builder, string name,
        IResourceBuilder<ParameterResource>? password = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var passwordParameter = password?.Resource ?? builder.AddParameter($"{name}-password", new GenerateParameterDefault(22)).Resource;
        var server = new PostgresServerResource(name, passwordParameter);
        server.Annotations.Add(new EndpointAnnotation("tcp", "tcp", "tcp", 5432, isExternal: false));
        server.Annotations.Add(new HealthProbeAnnotation("PostgreSQL startup handshake", (c, ct) => HealthProbes.PostgresStartupAsync(c.Port, ct)));
        server.Annotations.Add(new ContainerImageAnnotation("docker.io/library/postgres", "15")
        {
            Environment = new Dictionary<string, object>
            {
                ["POSTGRES_HOST_AUTH_METHOD"] = "scram-sha-256",
                ["POSTGRES_INITDB_ARGS"] = "--auth-host=scram-sha-256 --auth-local=scram-sha-256",
                ["POSTGRES_USER"] = "postgres",
                ["POSTGRES_PASSWORD"] = passwordParameter,
            },
            Volumes = [($"dataflow-{name}-data", "/var/lib/postgresql/data")],
        });
        return builder.AddResource(server);
    }

    public static IResourceBuilder<PostgresDatabaseResource> AddDatabase(this IResourceBuilder<PostgresServerResource> builder, string name,
        string? databaseName = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var database = new PostgresDatabaseResource(name, databaseName ?? name, builder.Resource);
        builder.Resource.AddDatabase(database);
        return builder.ApplicationBuilder.AddResource(database);
    }
}
