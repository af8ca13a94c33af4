using System.Text.RegularExpressions;
using Dataflow.Mqtt;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Dataflow.Ingestion.Routing;

/// <summary>
/// Loads the ingestion routing file:
/// <code>
/// routes:
///   uplink-mappings:
///     source:      { mqtt_topic: "devices/+/up", qos: 1 }
///     destination: { route_name: "uplinks" }
/// producers:
///   uplinks: { topic: "ingestion-uplinks" }
/// </code>
/// Every problem is a <see cref="RoutingConfigurationException"/> naming the file, line and reason. The YAML is
/// read as events so duplicate keys are caught (YAML forbids them, most loaders silently keep the last one).
/// </summary>
public static partial class RoutingFileLoader
{
    public static RoutingTable Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            throw new RoutingConfigurationException(path, 0, $"cannot read the routing file: {ex.Message}", ex);
        }

        return Parse(text, path);
    }

    public static RoutingTable Parse(string yaml, string file)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        ArgumentNullException.ThrowIfNull(file);
        var root = ReadDocument(yaml, file);
        if (root is null)
        {
            throw new RoutingConfigurationException(file, 1, "the routing file is empty; it needs a 'routes' mapping");
        }

        var top = ExpectMapping(root, file, "the routing file");
        CheckKeys(top, file, "the routing file", ["routes", "producers"]);
        var routesNode = Get(top, "routes") ?? throw new RoutingConfigurationException(file, top.Line, "missing 'routes' mapping");
        var producersNode = Get(top, "producers") ?? throw new RoutingConfigurationException(file, top.Line, "missing 'producers' mapping (route name → Pub/Sub topic)");

        var producers = new Dictionary<string, (string Topic, int Line)>(StringComparer.Ordinal);
        var producersMap = ExpectMapping(producersNode, file, "'producers'");
        foreach (var (key, value) in producersMap.Entries)
        {
            var entry = ExpectMapping(value, file, $"producer '{key.Value}'");
            CheckKeys(entry, file, $"producer '{key.Value}'", ["topic"]);
            var topicNode = Get(entry, "topic");
            var topic = topicNode is null ? null : ExpectScalar(topicNode, file, $"producers.{key.Value}.topic").Value;
            if (string.IsNullOrWhiteSpace(topic))
            {
                throw new RoutingConfigurationException(file, (topicNode ?? entry).Line, $"producer '{key.Value}' has no topic");
            }

            if (!PubSubTopicId().IsMatch(topic) || topic.StartsWith("goog", StringComparison.OrdinalIgnoreCase))
            {
                throw new RoutingConfigurationException(file, topicNode!.Line,
                    $"'{topic}' is not a valid Pub/Sub topic id (3-255 characters: letters, digits, - _ . ~ + %; starts with a letter; not 'goog')");
            }

            producers[key.Value] = (topic, key.Line);
        }

        var routes = new List<IngestionRoute>();
        var routeNames = new Dictionary<string, int>(StringComparer.Ordinal);
        var routesMap = ExpectMapping(routesNode, file, "'routes'");
        if (routesMap.Entries.Count == 0)
        {
            throw new RoutingConfigurationException(file, routesMap.Line, "'routes' defines no route");
        }

        foreach (var (key, value) in routesMap.Entries)
        {
            var label = $"route '{key.Value}'";
            var entry = ExpectMapping(value, file, label);
            CheckKeys(entry, file, label, ["source", "destination"]);
            var source = ExpectMapping(Get(entry, "source") ?? throw new RoutingConfigurationException(file, entry.Line, $"{label} has no 'source'"), file, $"{label} source");
            var destination = ExpectMapping(Get(entry, "destination") ?? throw new RoutingConfigurationException(file, entry.Line, $"{label} has no 'destination'"), file, $"{label} destination");
            CheckKeys(source, file, $"{label} source", ["mqtt_topic", "qos"]);
            CheckKeys(destination, file, $"{label} destination", ["route_name"]);

            var filterNode = Get(source, "mqtt_topic");
            var filter = filterNode is null ? null : ExpectScalar(filterNode, file, $"{label} mqtt_topic").Value;
            if (string.IsNullOrEmpty(filter))
            {
                throw new RoutingConfigurationException(file, (filterNode ?? source).Line, $"{label} has an empty mqtt_topic");
            }

            if (!MqttTopic.IsValidTopicFilter(filter))
            {
                throw new RoutingConfigurationException(file, filterNode!.Line,
                    $"{label}: '{filter}' is not a valid MQTT topic filter ('+' must fill a whole level, '#' must be the last level)");
            }

            var qos = 0;
            if (Get(source, "qos") is { } qosNode)
            {
                var qosText = ExpectScalar(qosNode, file, $"{label} qos").Value;
                if (!int.TryParse(qosText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out qos) || qos > 2)
                {
                    throw new RoutingConfigurationException(file, qosNode.Line, $"{label}: qos must be 0, 1 or 2 (was '{qosText}')");
                }
            }

            var routeNameNode = Get(destination, "route_name");
            var routeName = routeNameNode is null ? null : ExpectScalar(routeNameNode, file, $"{label} route_name").Value;
            if (string.IsNullOrWhiteSpace(routeName))
            {
                throw new RoutingConfigurationException(file, (routeNameNode ?? destination).Line, $"{label} has an empty route_name");
            }

            if (routeNames.TryGetValue(routeName, out var firstLine))
            {
                throw new RoutingConfigurationException(file, routeNameNode!.Line,
                    $"{label}: route name '{routeName}' is already used by the route at line {firstLine}");
            }

            routeNames[routeName] = routeNameNode!.Line;
            if (!producers.TryGetValue(routeName, out var producer))
            {
                throw new RoutingConfigurationException(file, routeNameNode.Line,
                    $"{label}: route name '{routeName}' has no topic (add producers.{routeName}.topic)");
            }

            routes.Add(new IngestionRoute(key.Value, filter, qos, routeName, producer.Topic));
        }

        foreach (var (name, (topic, line)) in producers)
        {
            if (!routeNames.ContainsKey(name))
            {
                throw new RoutingConfigurationException(file, line, $"producer '{name}' (topic '{topic}') is not used by any route");
            }
        }

        return new RoutingTable(file, routes);
    }

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9\\-_.~+%]{2,254}$")]
    private static partial Regex PubSubTopicId();

    private static Node? ReadDocument(string yaml, string file)
    {
        var parser = new Parser(new StringReader(yaml));
        var anchors = new Dictionary<string, Node>(StringComparer.Ordinal);
        try
        {
            parser.Consume<StreamStart>();
            if (parser.TryConsume<StreamEnd>(out _))
            {
                return null;
            }

            parser.Consume<DocumentStart>();
            var root = parser.Accept<DocumentEnd>(out _) ? null : ReadNode(parser, file, anchors);
            parser.Consume<DocumentEnd>();
            if (!parser.Accept<StreamEnd>(out _))
            {
                throw new RoutingConfigurationException(file, (int)parser.Current!.Start.Line, "the routing file must hold exactly one YAML document");
            }

            return root is Scalar { Value: "" } ? null : root;
        }
        catch (YamlException ex)
        {
            throw new RoutingConfigurationException(file, (int)ex.Start.Line, $"invalid YAML: {ex.Message}", ex);
        }
        catch (InvalidOperationException ex)
        {
            // YamlDotNet's scanner reports some malformed flow collections this way, without a position:
            // the line of the last event parsed is the closest honest location.
            var line = (int)(parser.Current?.End.Line ?? 1);
            throw new RoutingConfigurationException(file, line, "invalid YAML: malformed content after this line (unclosed '{' or '['?)", ex);
        }
    }

    private static Node ReadNode(IParser parser, string file, Dictionary<string, Node> anchors)
    {
        if (parser.TryConsume<AnchorAlias>(out var alias))
        {
            return anchors.TryGetValue(alias.Value.Value, out var target)
                ? target
                : throw new RoutingConfigurationException(file, (int)alias.Start.Line, $"unknown alias '*{alias.Value.Value}'");
        }

        Node node;
        string? anchor;
        if (parser.TryConsume<YamlDotNet.Core.Events.Scalar>(out var scalar))
        {
            node = new Scalar((int)scalar.Start.Line, scalar.Value);
            anchor = scalar.Anchor.IsEmpty ? null : scalar.Anchor.Value;
        }
        else if (parser.TryConsume<MappingStart>(out var mappingStart))
        {
            var mapping = new Mapping((int)mappingStart.Start.Line);
            var seen = new Dictionary<string, int>(StringComparer.Ordinal);
            while (!parser.TryConsume<MappingEnd>(out _))
            {
                var key = ReadNode(parser, file, anchors) as Scalar
                    ?? throw new RoutingConfigurationException(file, (int)parser.Current!.Start.Line, "mapping keys must be plain strings");
                if (seen.TryGetValue(key.Value, out var firstLine))
                {
                    throw new RoutingConfigurationException(file, key.Line, $"key '{key.Value}' is already defined at line {firstLine}");
                }

                seen[key.Value] = key.Line;
                mapping.Entries.Add((key, ReadNode(parser, file, anchors)));
            }

            node = mapping;
            anchor = mappingStart.Anchor.IsEmpty ? null : mappingStart.Anchor.Value;
        }
        else if (parser.TryConsume<SequenceStart>(out var sequenceStart))
        {
            var sequence = new Sequence((int)sequenceStart.Start.Line);
            while (!parser.TryConsume<SequenceEnd>(out _))
            {
                sequence.Items.Add(ReadNode(parser, file, anchors));
            }

            node = sequence;
            anchor = sequenceStart.Anchor.IsEmpty ? null : sequenceStart.Anchor.Value;
        }
        else
        {
            throw new RoutingConfigurationException(file, (int)(parser.Current?.Start.Line ?? 0), "unexpected YAML content");
        }

        if (anchor is not null)
        {
            anchors[anchor] = node;
        }

        return node;
    }

    private static Mapping ExpectMapping(Node node, string file, string what) =>
        node as Mapping ?? throw new RoutingConfigurationException(file, node.Line, $"{what} must be a mapping");

    private static Scalar ExpectScalar(Node node, string file, string what) =>
        node as Scalar ?? throw new RoutingConfigurationException(file, node.Line, $"{what} must be a single value");

    private static Node? Get(Mapping mapping, string key)
    {
        foreach (var (k, v) in mapping.Entries)
        {
            if (k.Value == key)
            {
                return v;
            }
        }

        return null;
    }

    private static void CheckKeys(Mapping mapping, string file, string what, string[] allowed)
    {
        foreach (var (key, _) in mapping.Entries)
        {
            if (!allowed.Contains(key.Value, StringComparer.Ordinal))
            {
                throw new RoutingConfigurationException(file, key.Line,
                    $"unknown key '{key.Value}' in {what} (expected {string.Join(", ", allowed.Select(a => $"'{a}'"))})");
            }
        }
    }

    private abstract record Node(int Line);

    private sealed record Scalar(int Line, string Value) : Node(Line);

    private sealed record Mapping(int Line) : Node(Line)
    {
        public List<(Scalar Key, Node Value)> Entries { get; } = [];
    }

    private sealed record Sequence(int Line) : Node(Line)
    {
        public List<Node> Items { get; } = [];
    }
}
