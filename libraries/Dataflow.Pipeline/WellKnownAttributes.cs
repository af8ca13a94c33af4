namespace Dataflow.Pipeline;

/// <summary>Pub/Sub attribute names carried across every hop (spec §0 Fix).</summary>
public static class WellKnownAttributes
{
    public const string MqttTopic = "mqtt_topic";
    public const string RouteName = "route_name";
    public const string DeviceId = "device_id";

    /// <summary>Attributes that a service copies from its input message to its output message.</summary>
    public static IReadOnlyList<string> Propagated { get; } = [MqttTopic, RouteName, DeviceId];

    /// <summary>Copies the propagated attributes of <paramref name="source"/> into <paramref name="target"/>.</summary>
    public static Dictionary<string, string> Propagate(IReadOnlyDictionary<string, string> source, Dictionary<string, string>? target = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        target ??= new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in Propagated)
        {
            if (source.TryGetValue(name, out var value) && !string.IsNullOrEmpty(value))
            {
                target[name] = value;
            }
        }

        return target;
    }
}
