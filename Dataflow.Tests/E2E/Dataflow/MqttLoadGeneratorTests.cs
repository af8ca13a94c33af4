using System.Text;
using System.Text.Json;
using Dataflow.Testing.Load;

namespace Dataflow.Tests.E2E.DataflowScenarios;

[Trait("Category", "Unit")]
public sealed class MqttLoadGeneratorTests
{
    [Fact]
    public void A_reading_is_exactly_device_id_timestamp_and_value_with_a_microsecond_UTC_timestamp()
    {
        var reading = new TelemetryReading("dev-2", new DateTimeOffset(2026, 11, 21, 13, 0, 0, TimeSpan.FromHours(1)).AddTicks(1_234_567), 7, "devices/dev-2/telemetry");

        Assert.Equal("""{"device_id":"dev-2","timestamp":"2026-11-21T12:00:00.123456Z","value":7}""", Encoding.UTF8.GetString(reading.ToPayload()));
        Assert.Equal("dev-2#7", reading.Key);
        using var document = JsonDocument.Parse(reading.ToPayload());
        Assert.Equal(reading.Key, TelemetryReading.FormatKey(document.RootElement.GetProperty("device_id").GetString()!, document.RootElement.GetProperty("value").GetDouble()));
    }

    [Fact]
    public void Devices_rate_and_duration_give_the_message_count_and_each_device_its_topic()
    {
        var options = new MqttLoadOptions { ConnectionString = "mqtt://127.0.0.1:1883", Devices = 2, RatePerDevice = 5, Duration = TimeSpan.FromSeconds(3), TopicTemplate = "run/devices/{device}/telemetry" };

        Assert.Equal(15, options.MessagesPerDevice);
        Assert.Equal("run/devices/dev-2/telemetry", options.Topic(options.DeviceId(2)));
    }

    [Theory]
    [InlineData(0, 2.0, 5, "devices/{device}/up", "Devices")]
    [InlineData(1, 0.0, 5, "devices/{device}/up", "RatePerDevice")]
    [InlineData(1, 2.0, 0, "devices/{device}/up", "Duration")]
    [InlineData(1, 2.0, 5, "devices/all/up", "TopicTemplate")]
    public void Invalid_settings_fail_naming_the_setting(int devices, double rate, int seconds, string template, string setting)
    {
        var options = new MqttLoadOptions { ConnectionString = "mqtt://127.0.0.1:1883", Devices = devices, RatePerDevice = rate, Duration = TimeSpan.FromSeconds(seconds), TopicTemplate = template };

        var error = Assert.Throws<ArgumentException>(() => new MqttLoadGenerator(options));
        Assert.Contains(setting, error.Message, StringComparison.Ordinal);
    }
}
