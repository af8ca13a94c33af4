using Dataflow.Hosting;
using Dataflow.Hosting.ApplicationModel;

namespace Dataflow.AppHost;

internal static class AccountsTopology
{
    /// <summary>
    /// The accounts service as "accounts": two replicas behind nginx on PostgreSQL when both are installed, otherwise one
    /// instance (on PostgreSQL without nginx, or on the in-memory event store without PostgreSQL). In the deployment
    /// manifest it is the project itself on PostgreSQL: there the platform's load balancer spreads its replicas.
    /// </summary>
    public static IResourceBuilder<IResourceWithServiceDiscovery> AddAccounts(this IDistributedApplicationBuilder builder,
        IResourceBuilder<PostgresServerResource> postgres, IResourceBuilder<PostgresDatabaseResource> accountsDb)
    {
        var publishing = builder.ExecutionMode == ExecutionMode.Publish;
        var hasPostgres = publishing || postgres.Resource.ResolveBacking().IsAvailable;
        var hasNginx = BinaryLocator.Find("nginx") is not null;
        if (hasPostgres && hasNginx && !publishing)
        {
            var replicas = builder.AddProject<Projects.Dataflow_Accounts>("accounts-api")
                .WithReplicas(2)
                .WithEnvironment("Accounts__Provider", "PostgreSql")
                .WithReference(accountsDb, connectionName: "accounts")
                .WaitFor(accountsDb);
            return builder.AddNginxLoadBalancer("accounts", replicas).WithExternalHttpEndpoints();
        }
        var single = builder.AddProject<Projects.Dataflow_Accounts>("accounts").WithExternalHttpEndpoints();
        if (hasPostgres)
        {
            single.WithEnvironment("Accounts__Provider", "PostgreSql")
                .WithReference(accountsDb, connectionName: "accounts")
                .WaitFor(accountsDb);
            return publishing ? single : single.WithEmbeddedFallback("single instance: nginx is not installed (apt-get install nginx)");
        }
        return single.WithEnvironment("Accounts__Provider", "InMemory")
            .WithEmbeddedFallback("in-memory event store: PostgreSQL is not installed (apt-get install postgresql)");
    }
}
