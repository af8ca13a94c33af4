using Dataflow.Mqtt.Client;
using Microsoft.Extensions.Options;

namespace Dataflow.IceStore.Replay;

/// <summary>Settings of <c>replay</c> (section <c>Replay</c>): which archives go back to which MQTT broker and topics.</summary>
public sealed class ReplayOptions
{
    public const string Section = "Replay";

    public const string DevicePlaceholder = "{device}";

    public string Bucket { get; set; } = "";

    /// <summary>Object name prefix to replay, e.g. <c>archive/2026/11/21/</c>; only <c>.jsonl.gz</c> objects are read.</summary>
    public string Prefix { get; set; } = "archive/";

    /// <summary>Broker, <c>mqtt://host:port</c> or <c>mqtts://…</c>.</summary>
    public string MqttConnectionString { get; set; } = "";

    /// <summary>Topic of each message; <c>{device}</c> becomes the device id (envelope <c>enrichmentData.DeviceID</c>,
    /// else the payload's <c>device_id</c>).</summary>
    public string TopicTemplate { get; set; } = "replay/devices/{device}/telemetry";

    public int QoS { get; set; } = 1;

    /// <summary>Publish the device's original bytes (the envelope's payload); false publishes the archived envelope itself.</summary>
    public bool UnwrapEnvelope { get; set; } = true;
}

internal sealed class ReplayOptionsValidator : IValidateOptions<ReplayOptions>
{
    public ValidateOptionsResult Validate(string? name, ReplayOptions options)
    {
        const string s = ReplayOptions.Section;
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.Bucket))
        {
            errors.Add($"{s}:Bucket is required.");
        }

        if (string.IsNullOrWhiteSpace(options.MqttConnectionString))
        {
            errors.Add($"{s}:MqttConnectionString is required.");
        }
        else
        {
            try
            {
                MqttClientOptions.Parse(options.MqttConnectionString).Validate();
            }
            catch (ArgumentException ex)
            {
                errors.Add($"{s}:MqttConnectionString: {ex.Message}");
            }
        }

        if (string.IsNullOrWhiteSpace(options.TopicTemplate) || options.TopicTemplate.Contains('+', StringComparison.Ordinal) || options.TopicTemplate.Contains('#', StringComparison.Ordinal))
        {
            errors.Add($"{s}:TopicTemplate must be a topic name without wildcards.");
        }

        if (options.QoS is < 0 or > 2)
        {
            errors.Add($"{s}:QoS must be 0, 1 or 2.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
