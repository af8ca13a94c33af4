using Dataflow.Mqtt;

namespace Dataflow.Ingestion.Routing;

/// <summary>One routing entry: MQTT messages matching <see cref="MqttTopicFilter"/> go to <see cref="PubSubTopic"/>.</summary>
/// <param name="EntryName">The descriptive key of the entry in the routing file.</param>
public sealed record IngestionRoute(string EntryName, string MqttTopicFilter, int Qos, string RouteName, string PubSubTopic);

/// <summary>The validated routing file.</summary>
public sealed class RoutingTable(string sourceFile, IReadOnlyList<IngestionRoute> routes)
{
    public string SourceFile { get; } = sourceFile;

    public IReadOnlyList<IngestionRoute> Routes { get; } = routes;

    /// <summary>The distinct Pub/Sub topics routes publish to.</summary>
    public IReadOnlyList<string> Topics { get; } = routes.Select(r => r.PubSubTopic).Distinct(StringComparer.Ordinal).ToList();

    // The filters as matched: a shared subscription's filter without its $share/group/ prefix.
    private readonly string[] _filters = [.. routes.Select(r => MqttTopic.TryParseShared(r.MqttTopicFilter, out _, out var inner) ? inner : r.MqttTopicFilter)];

    // Each route as a one-route match result, shared: most topics match exactly one route.
    private readonly IReadOnlyList<IngestionRoute>[] _alone = [.. routes.Select(r => (IReadOnlyList<IngestionRoute>)[r])];

    /// <summary>Every route whose filter matches <paramref name="mqttTopic"/> (overlapping filters fan out), in file order.</summary>
    public IReadOnlyList<IngestionRoute> Match(string mqttTopic)
    {
        var single = -1;
        List<IngestionRoute>? several = null;
        for (var i = 0; i < _filters.Length; i++)
        {
            if (!MqttTopic.Matches(_filters[i], mqttTopic))
            {
                continue;
            }

            if (single < 0)
            {
                single = i;
            }
            else
            {
                several ??= [Routes[single]];
                several.Add(Routes[i]);
            }
        }

        return several ?? (single >= 0 ? _alone[single] : []);
    }
}

/// <summary>A routing file that cannot be used; the message names the file, the line and the reason.</summary>
public sealed class RoutingConfigurationException(string file, int line, string reason, Exception? inner = null)
    : Exception($"{file}:{line}: {reason}", inner)
{
    public string File { get; } = file;

    /// <summary>1-based line of the offending node; 0 when the file itself could not be read.</summary>
    public int Line { get; } = line;

    public string Reason { get; } = reason;
}
