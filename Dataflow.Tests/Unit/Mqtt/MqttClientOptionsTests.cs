using Dataflow.Mqtt.Client;
using Dataflow.Mqtt.Protocol;

namespace Dataflow.Tests.Unit.Mqtt;

[Trait("Category", "Unit")]
public sealed class MqttClientOptionsTests
{
    [Fact]
    public void Plain_connection_string_gives_host_port_and_no_tls()
    {
        var options = MqttClientOptions.Parse("mqtt://broker.local:1884");

        Assert.Equal("broker.local", options.Host);
        Assert.Equal(1884, options.Port);
        Assert.Null(options.Tls);
    }

    [Fact]
    public void Tls_connection_string_enables_tls_on_the_default_port()
    {
        var options = MqttClientOptions.Parse("mqtts://user:p%40ss@broker.local?clientId=ingest-1&protocolVersion=3.1.1&keepAlive=10&cleanStart=false&sessionExpiry=600");

        Assert.NotNull(options.Tls);
        Assert.Equal(0, options.Port);
        Assert.Equal("user", options.Username);
        Assert.Equal("p@ss", options.Password);
        Assert.Equal("ingest-1", options.ClientId);
        Assert.Equal(MqttProtocolVersion.V311, options.ProtocolVersion);
        Assert.Equal(TimeSpan.FromSeconds(10), options.KeepAlive);
        Assert.False(options.CleanStart);
        Assert.Equal(600u, options.SessionExpirySeconds);
    }

    [Theory]
    [InlineData("http://broker:1883")]
    [InlineData("broker:1883")]
    [InlineData("mqtt://broker:1883?protocolVersion=6")]
    [InlineData("mqtt://broker:1883?unknown=1")]
    [InlineData("mqtt://broker:1883?keepAlive=-1")]
    public void Invalid_connection_strings_are_rejected_with_a_format_error(string connectionString)
    {
        Assert.Throws<FormatException>(() => MqttClientOptions.Parse(connectionString));
    }

    [Fact]
    public void Missing_ca_file_is_a_configuration_error_not_a_plain_text_fallback()
    {
        var options = MqttClientOptions.Parse("mqtts://broker:8883");
        options.Tls!.CaCertificatePath = "/nonexistent/ca.pem";

        var error = Assert.Throws<ArgumentException>(() => new MqttClient(options));

        Assert.Contains("CaCertificatePath", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Persistent_mqtt311_session_needs_a_client_id()
    {
        var options = new MqttClientOptions { ProtocolVersion = MqttProtocolVersion.V311, CleanStart = false };

        var error = Assert.Throws<ArgumentException>(() => new MqttClient(options));

        Assert.Equal("ClientId", error.ParamName);
    }
}
