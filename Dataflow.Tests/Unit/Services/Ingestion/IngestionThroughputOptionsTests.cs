using Dataflow.Ingestion;
using Dataflow.Mqtt.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Dataflow.Tests.Unit.Services.Ingestion;

/// <summary>
/// What bounds ingestion's throughput, bound and validated at start: <c>Ingestion:Publisher</c> (the batching of the
/// Pub/Sub publishers) and <c>Ingestion:Mqtt:ReceiveMaximum</c> (how many unacknowledged messages the broker may send).
/// </summary>
[Trait("Category", "Unit")]
public sealed class IngestionThroughputOptionsTests : IDisposable
{
    private readonly ServiceConfiguration _configuration = new();

    public void Dispose() => _configuration.Dispose();

    private IngestionOptions Bind(Dictionary<string, string?> settings)
    {
        using var services = _configuration.Build(b => b.AddIngestion(), new(settings) { ["Ingestion:Mqtt:ConnectionString"] = "mqtt://127.0.0.1:1883" });
        return services.GetRequiredService<IOptions<IngestionOptions>>().Value;
    }

    private MqttClientOptions ClientOptions(Dictionary<string, string?> settings) => MqttClientFactory.CreateOptions(Bind(settings));

    [Fact]
    public void Defaults_are_full_requests_sent_after_at_most_10_ms()
    {
        var publisher = Bind([]).Publisher;

        Assert.Equal(1000, publisher.MaxMessagesPerBatch);
        Assert.Equal(TimeSpan.FromMilliseconds(10), publisher.DelayThreshold);
    }

    [Fact]
    public void Configured_batching_is_bound()
    {
        var publisher = Bind(new() { ["Ingestion:Publisher:MaxMessagesPerBatch"] = "100", ["Ingestion:Publisher:DelayThreshold"] = "00:00:00.050" }).Publisher;

        Assert.Equal(100, publisher.MaxMessagesPerBatch);
        Assert.Equal(TimeSpan.FromMilliseconds(50), publisher.DelayThreshold);
    }

    [Theory]
    [InlineData("Ingestion:Publisher:MaxMessagesPerBatch", "1001", "Ingestion:Publisher:MaxMessagesPerBatch must be 1 to 1000")]
    [InlineData("Ingestion:Publisher:MaxMessagesPerBatch", "0", "Ingestion:Publisher:MaxMessagesPerBatch must be 1 to 1000")]
    [InlineData("Ingestion:Publisher:DelayThreshold", "00:00:00", "Ingestion:Publisher:DelayThreshold must be positive")]
    public void Out_of_range_batching_fails_start_naming_the_key(string key, string value, string message)
    {
        var error = Assert.Throws<OptionsValidationException>(() => Bind(new() { [key] = value }));

        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_receive_window_defaults_to_the_pipelines_outstanding_limit_so_more_than_one_batch_is_in_flight()
    {
        var options = Bind([]);
        var window = MqttClientFactory.CreateOptions(options).ReceiveMaximum;

        Assert.Equal(2000, window);
        Assert.True(window > options.Publisher.MaxMessagesPerBatch);
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
        var error = Assert.Throws<OptionsValidationException>(() => Bind(new() { ["Ingestion:Mqtt:ReceiveMaximum"] = value }));

        Assert.Contains($"Ingestion:Mqtt:ReceiveMaximum must be 1 to 65535 (was {value})", error.Message, StringComparison.Ordinal);
    }
}
