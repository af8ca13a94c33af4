using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Dataflow.Tests.Unit.Services;

/// <summary>
/// A service's composition (<c>AddIngestion()</c>, <c>AddEnrich()</c>, …) over in-memory configuration, with a minimal
/// valid routing file and the required keys filled in, so a test sets only the keys it is about.
/// </summary>
internal sealed class ServiceConfiguration : IDisposable
{
    private readonly string _routingFile = Path.Combine(Path.GetTempPath(), $"routes-{Guid.NewGuid():N}.yaml");

    public ServiceConfiguration() => File.WriteAllText(_routingFile, """
        routes:
          up-mappings:
            source:      { mqtt_topic: "devices/+/up", qos: 1 }
            destination: { route_name: "up" }
        producers:
          up: { topic: "uplinks" }
        """);

    public void Dispose() => File.Delete(_routingFile);

    /// <summary>A service provider over <paramref name="settings"/> plus the keys the rest of validation needs.</summary>
    public ServiceProvider Build(Action<IHostApplicationBuilder> add, Dictionary<string, string?> settings)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Ingestion:RoutingFile"] = _routingFile,
            ["Enrich:Subscription"] = "enrich",
            ["Enrich:OutputTopic"] = "enriched",
        });
        builder.Configuration.AddInMemoryCollection(settings);
        add(builder);
        return builder.Services.BuildServiceProvider();
    }
}
