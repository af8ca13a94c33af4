using Dataflow.Enrich;
using Dataflow.Ingestion;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Dataflow.Tests.Unit.Services;

/// <summary>
/// The services take their brokers from the Aspire contract (<c>ConnectionStrings__mqtt</c>, <c>ConnectionStrings__redis</c>)
/// when their own keys are not set; their own keys win; a missing broker still fails at start naming both keys.
/// </summary>
[Trait("Category", "Unit")]
public sealed class ConnectionStringFallbackTests : IDisposable
{
    private readonly ServiceConfiguration _configuration = new();

    public void Dispose() => _configuration.Dispose();

    private ServiceProvider Build(Action<IHostApplicationBuilder> add, Dictionary<string, string?> settings) => _configuration.Build(add, settings);

    [Fact]
    public void Ingestion_uses_ConnectionStrings_mqtt_when_its_own_key_is_empty()
    {
        using var services = Build(b => b.AddIngestion(), new() { ["ConnectionStrings:mqtt"] = "mqtt://127.0.0.1:1999" });

        Assert.Equal("mqtt://127.0.0.1:1999", services.GetRequiredService<IOptions<IngestionOptions>>().Value.Mqtt.ConnectionString);
    }

    [Fact]
    public void Ingestion_own_key_wins_over_the_connection_string_and_the_connection_name_is_configurable()
    {
        using var own = Build(b => b.AddIngestion(), new()
        {
            ["ConnectionStrings:mqtt"] = "mqtt://127.0.0.1:1999",
            ["Ingestion:Mqtt:ConnectionString"] = "mqtt://broker.example:1883",
        });
        using var named = Build(b => b.AddIngestion("telemetry-broker"), new() { ["ConnectionStrings:telemetry-broker"] = "mqtt://127.0.0.1:2001" });

        Assert.Equal("mqtt://broker.example:1883", own.GetRequiredService<IOptions<IngestionOptions>>().Value.Mqtt.ConnectionString);
        Assert.Equal("mqtt://127.0.0.1:2001", named.GetRequiredService<IOptions<IngestionOptions>>().Value.Mqtt.ConnectionString);
    }

    [Fact]
    public void Ingestion_without_any_broker_fails_validation_naming_both_keys()
    {
        using var services = Build(b => b.AddIngestion(), []);

        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<IngestionOptions>>().Value);

        Assert.Contains("Ingestion:Mqtt:ConnectionString (or ConnectionStrings:mqtt) is required", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_malformed_fallback_connection_string_is_reported_under_its_ConnectionStrings_name()
    {
        using var services = Build(b => b.AddIngestion(), new() { ["ConnectionStrings:mqtt"] = "http://127.0.0.1:1999" });

        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<IngestionOptions>>().Value);

        Assert.Contains("ConnectionStrings:mqtt: ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Enrich_uses_ConnectionStrings_redis_for_its_redis_layer_unless_its_own_key_is_set()
    {
        using var fallback = Build(b => b.AddEnrich(), new() { ["ConnectionStrings:redis"] = "127.0.0.1:6390,password=secret" });
        using var own = Build(b => b.AddEnrich(), new()
        {
            ["ConnectionStrings:redis"] = "127.0.0.1:6390,password=secret",
            ["Enrich:RedisConnectionString"] = "cache.example:6379",
        });
        using var none = Build(b => b.AddEnrich(), []);

        Assert.Equal("127.0.0.1:6390,password=secret", fallback.GetRequiredService<IOptions<EnrichOptions>>().Value.RedisConnectionString);
        Assert.Equal("cache.example:6379", own.GetRequiredService<IOptions<EnrichOptions>>().Value.RedisConnectionString);
        Assert.True(string.IsNullOrEmpty(none.GetRequiredService<IOptions<EnrichOptions>>().Value.RedisConnectionString));
    }
}
