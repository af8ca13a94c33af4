using Dataflow.Ingestion;
using Dataflow.Mqtt.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Dataflow.Tests.Unit.Services.Ingestion;

/// <summary><c>Ingestion:Mqtt:ReceiveMaximum</c>: how many unacknowledged messages the broker may send the service at once.</summary>
[Trait("Category", "Unit")]
public sealed class IngestionMqttOptionsTests : IDisposable
{
    private readonly ServiceConfiguration _configuration = new();

    public void Dispose() => _configuration.Dispose();

    private MqttClientOptions ClientOptions(Dictionary<string, string?> settings)
    {
        using var services = _configuration.Build(b => b.AddIngestion(), new(settings) { ["Ingestion:Mqtt:ConnectionString"] = "mqtt://127.0.0.1:1883" });
        return MqttClientFactory.CreateOptions(services.GetRequiredService<IOptions<IngestionOptions>>().Value);
    }

    [Fact]
    public void The_receive_window_defaults_to_the_pipelines_outstanding_limit_so_more_than_one_batch_is_in_flight()
    {
        var options = ClientOptions([]);

        Assert.Equal(2000, options.ReceiveMaximum);
        Assert.Equal(1000, new IngestionPublisherOptions().MaxMessagesPerBatch);
    }

    [Fact]
    public void The_receive_window_follows_a_configured_outstanding_limit_up_to_the_protocol_maximum()
    {
        Assert.Equal(5000, ClientOptions(new() { ["Ingestion:Pipeline:MaxOutstandingMessages"] = "5000" }).ReceiveMaximum);
        Assert.Equal(ushort.MaxValue, ClientOptions(new() { ["Ingestion:Pipeline:MaxOutstandingMessages"] = "100000" }).ReceiveMaximum);
    }

    [Fact]
    public void A_configured_receive_window_wins()
    {
        Assert.Equal(300, ClientOptions(new() { ["Ingestion:Mqtt:ReceiveMaximum"] = "300" }).ReceiveMaximum);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("65536")]
    public void An_out_of_range_receive_window_fails_start_naming_the_key(string value)
    {
        var error = Assert.Throws<OptionsValidationException>(() => ClientOptions(new() { ["Ingestion:Mqtt:ReceiveMaximum"] = value }));

        Assert.Contains($"Ingestion:Mqtt:ReceiveMaximum must be 1 to 65535 (was {value})", error.Message, StringComparison.Ordinal);
    }
}
