using Dataflow.Hosting;
using Dataflow.Hosting.ApplicationModel;

namespace Dataflow.AppHost;

/// <summary>The infrastructure the dataflow services can reference, typed so each service picks what it needs.</summary>
internal sealed record DataflowInfrastructure(
    IResourceBuilder<IResourceWithServiceDiscovery> Accounts,
    IResourceBuilder<PostgresDatabaseResource> AccountsDb,
    IResourceBuilder<MySqlDatabaseResource> DataflowDb,
    IResourceBuilder<RedisResource> Redis,
    IResourceBuilder<MosquittoResource> Mqtt,
    IResourceBuilder<GcpEmulatorResource> PubSub,
    IResourceBuilder<GcpEmulatorResource> Firestore,
    IResourceBuilder<GcpStandInResource> Storage,
    IResourceBuilder<GcpStandInResource> BigQuery);

internal static class DataflowServices
{
    /// <summary>
    /// The dataflow services (services/Dataflow.*) join the topology here, one line each, e.g.
    /// <c>builder.AddProject&lt;Projects.Dataflow_Ingest&gt;("ingest").WithReference(infrastructure.Mqtt).WaitFor(infrastructure.Mqtt);</c>
    /// after adding the service to the AppHost csproj as a ProjectReference with <c>AppHostProjectResource="true"</c>.
    /// The infrastructure is declared (and started) even while no service references it, so it can be used from the dashboard.
    /// </summary>
    public static void AddDataflowServices(this IDistributedApplicationBuilder builder, DataflowInfrastructure infrastructure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(infrastructure);
    }
}
