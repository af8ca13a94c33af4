using Dataflow.Ingestion;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Dataflow.Tests.Unit.Services.Ingestion;

/// <summary><c>Ingestion:Publisher</c>: the batching of the Pub/Sub publishers, bound and validated at start.</summary>
[Trait("Category", "Unit")]
public sealed class IngestionPublisherOptionsTests : IDisposable
{
    private readonly ServiceConfiguration _configuration = new();

    public void Dispose() => _configuration.Dispose();

    private IngestionOptions Bind(Dictionary<string, string?> settings)
    {
        using var services = _configuration.Build(b => b.AddIngestion(), new(settings) { ["Ingestion:Mqtt:ConnectionString"] = "mqtt://127.0.0.1:1883" });
        return services.GetRequiredService<IOptions<IngestionOptions>>().Value;
    }

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
}
