using Dataflow.Ingestion.Routing;

namespace Dataflow.Tests.Unit.Services.Ingestion;

[Trait("Category", "Unit")]
public sealed class RoutingFileLoaderTests
{
    private const string File = "routes.yaml";

    private const string Valid = """
        routes:
          uplink-mappings:
            source:      { mqtt_topic: "devices/+/up", qos: 1 }
            destination: { route_name: "uplinks" }
          join-mappings:
            source:      { mqtt_topic: "devices/+/join", qos: 2 }
            destination: { route_name: "joins" }
          legacy-uplinks:
            source:      { mqtt_topic: "legacy/#" }
            destination: { route_name: "legacy" }
        producers:
          uplinks: { topic: "ingestion-uplinks" }
          joins:   { topic: "ingestion-joins" }
          legacy:  { topic: "ingestion-uplinks" }
        """;

    private static RoutingConfigurationException Fails(string yaml) =>
        Assert.Throws<RoutingConfigurationException>(() => RoutingFileLoader.Parse(yaml, File));

    [Fact]
    public void The_spec_example_loads_with_fan_in_to_one_topic()
    {
        var table = RoutingFileLoader.Parse(Valid, File);

        Assert.Equal(
            [
                new IngestionRoute("uplink-mappings", "devices/+/up", 1, "uplinks", "ingestion-uplinks"),
                new IngestionRoute("join-mappings", "devices/+/join", 2, "joins", "ingestion-joins"),
                new IngestionRoute("legacy-uplinks", "legacy/#", 0, "legacy", "ingestion-uplinks"),
            ],
            table.Routes);
        Assert.Equal(["ingestion-uplinks", "ingestion-joins"], table.Topics);
    }

    [Fact]
    public void Topics_are_matched_with_mqtt_wildcards()
    {
        var table = RoutingFileLoader.Parse(Valid, File);

        Assert.Equal(["uplinks"], table.Match("devices/d1/up").Select(r => r.RouteName));
        Assert.Equal(["legacy"], table.Match("legacy/a/b").Select(r => r.RouteName));
        Assert.Empty(table.Match("devices/d1/down"));
    }

    [Fact]
    public void A_topic_matching_overlapping_filters_fans_out_to_every_route_in_file_order()
    {
        var table = RoutingFileLoader.Parse("""
            routes:
              all:
                source:      { mqtt_topic: "#" }
                destination: { route_name: "archive" }
              uplinks:
                source:      { mqtt_topic: "devices/+/up" }
                destination: { route_name: "uplinks" }
              device-one:
                source:      { mqtt_topic: "$share/workers/devices/d1/#" }
                destination: { route_name: "d1" }
            producers:
              archive: { topic: "archive" }
              uplinks: { topic: "uplinks" }
              d1:      { topic: "device-one" }
            """, File);

        Assert.Equal(["archive", "uplinks", "d1"], table.Match("devices/d1/up").Select(r => r.RouteName));
        Assert.Equal(["archive", "uplinks"], table.Match("devices/d2/up").Select(r => r.RouteName));
        Assert.Equal(["archive", "d1"], table.Match("devices/d1/join").Select(r => r.RouteName));
        Assert.Equal(["archive"], table.Match("other").Select(r => r.RouteName));
    }

    [Fact]
    public void An_unreadable_file_names_the_file()
    {
        var path = Path.Combine(Path.GetTempPath(), $"missing-{Guid.NewGuid():N}.yaml");

        var error = Assert.Throws<RoutingConfigurationException>(() => RoutingFileLoader.Load(path));

        Assert.Equal(path, error.File);
        Assert.Equal(0, error.Line);
        Assert.StartsWith($"{path}:0: cannot read the routing file", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_on_disk_loads()
    {
        var path = Path.Combine(Path.GetTempPath(), $"routes-{Guid.NewGuid():N}.yaml");
        System.IO.File.WriteAllText(path, Valid);
        try
        {
            Assert.Equal(3, RoutingFileLoader.Load(path).Routes.Count);
        }
        finally
        {
            System.IO.File.Delete(path);
        }
    }

    [Fact]
    public void Invalid_yaml_reports_its_line()
    {
        var error = Fails("""
            routes:
              a:
                source: { mqtt_topic: "x/y", qos: 1
                destination: { route_name: "r" }
            """);

        Assert.Equal(File, error.File);
        Assert.InRange(error.Line, 3, 4);
        Assert.Contains("invalid YAML", error.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_duplicate_route_key_is_already_defined()
    {
        var error = Fails("""
            routes:
              a:
                source: { mqtt_topic: "x/1" }
                destination: { route_name: "r1" }
              a:
                source: { mqtt_topic: "x/2" }
                destination: { route_name: "r2" }
            producers:
              r1: { topic: "topic-1" }
              r2: { topic: "topic-2" }
            """);

        Assert.Equal(5, error.Line);
        Assert.Equal("key 'a' is already defined at line 2", error.Reason);
        Assert.Equal("routes.yaml:5: key 'a' is already defined at line 2", error.Message);
    }

    [Fact]
    public void A_duplicate_nested_key_is_already_defined()
    {
        var error = Fails("""
            routes:
              a:
                source: { mqtt_topic: "x/1", mqtt_topic: "x/2" }
                destination: { route_name: "r1" }
            producers:
              r1: { topic: "topic-1" }
            """);

        Assert.Equal(3, error.Line);
        Assert.Contains("already defined", error.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_duplicate_route_name_is_rejected()
    {
        var error = Fails("""
            routes:
              a:
                source: { mqtt_topic: "x/1" }
                destination: { route_name: "r1" }
              b:
                source: { mqtt_topic: "x/2" }
                destination: { route_name: "r1" }
            producers:
              r1: { topic: "topic-1" }
            """);

        Assert.Equal(7, error.Line);
        Assert.Equal("route 'b': route name 'r1' is already used by the route at line 4", error.Reason);
    }

    [Theory]
    [InlineData("\"\"")]
    [InlineData("\"  \"")]
    public void An_empty_route_name_is_rejected(string routeName)
    {
        var error = Fails($$"""
            routes:
              a:
                source: { mqtt_topic: "x/1" }
                destination: { route_name: {{routeName}} }
            producers:
              r1: { topic: "topic-1" }
            """);

        Assert.Equal(4, error.Line);
        Assert.Equal("route 'a' has an empty route_name", error.Reason);
    }

    [Fact]
    public void A_missing_route_name_is_rejected()
    {
        var error = Fails("""
            routes:
              a:
                source: { mqtt_topic: "x/1" }
                destination: {}
            producers:
              r1: { topic: "topic-1" }
            """);

        Assert.Equal(4, error.Line);
        Assert.Equal("route 'a' has an empty route_name", error.Reason);
    }

    [Fact]
    public void A_route_without_a_topic_is_rejected()
    {
        var error = Fails("""
            routes:
              a:
                source: { mqtt_topic: "x/1" }
                destination: { route_name: "r1" }
              b:
                source: { mqtt_topic: "x/2" }
                destination: { route_name: "r2" }
            producers:
              r1: { topic: "topic-1" }
            """);

        Assert.Equal(7, error.Line);
        Assert.Equal("route 'b': route name 'r2' has no topic (add producers.r2.topic)", error.Reason);
    }

    [Fact]
    public void A_producer_with_an_empty_topic_is_rejected()
    {
        var error = Fails("""
            routes:
              a:
                source: { mqtt_topic: "x/1" }
                destination: { route_name: "r1" }
            producers:
              r1: { topic: "" }
            """);

        Assert.Equal(6, error.Line);
        Assert.Equal("producer 'r1' has no topic", error.Reason);
    }

    [Fact]
    public void A_topic_no_route_uses_is_rejected()
    {
        var error = Fails("""
            routes:
              a:
                source: { mqtt_topic: "x/1" }
                destination: { route_name: "r1" }
            producers:
              r1: { topic: "topic-1" }
              orphan: { topic: "topic-2" }
            """);

        Assert.Equal(7, error.Line);
        Assert.Equal("producer 'orphan' (topic 'topic-2') is not used by any route", error.Reason);
    }

    [Theory]
    [InlineData("""{ mqtt_topic: "" }""", "route 'a' has an empty mqtt_topic")]
    [InlineData("""{ qos: 1 }""", "route 'a' has an empty mqtt_topic")]
    [InlineData("""{ mqtt_topic: "x/#/y" }""", "route 'a': 'x/#/y' is not a valid MQTT topic filter ('+' must fill a whole level, '#' must be the last level)")]
    [InlineData("""{ mqtt_topic: "x/a+" }""", "route 'a': 'x/a+' is not a valid MQTT topic filter ('+' must fill a whole level, '#' must be the last level)")]
    [InlineData("""{ mqtt_topic: "x/1", qos: 3 }""", "route 'a': qos must be 0, 1 or 2 (was '3')")]
    [InlineData("""{ mqtt_topic: "x/1", qos: one }""", "route 'a': qos must be 0, 1 or 2 (was 'one')")]
    [InlineData("""{ mqtt_topic: "x/1", retain: true }""", "unknown key 'retain' in route 'a' source (expected 'mqtt_topic', 'qos')")]
    public void An_invalid_source_is_rejected_on_its_line(string source, string reason)
    {
        var error = Fails($$"""
            routes:
              a:
                source: {{source}}
                destination: { route_name: "r1" }
            producers:
              r1: { topic: "topic-1" }
            """);

        Assert.Equal(3, error.Line);
        Assert.Equal(reason, error.Reason);
    }

    [Theory]
    [InlineData("ab", "'ab' is not a valid Pub/Sub topic id")]
    [InlineData("1topic", "'1topic' is not a valid Pub/Sub topic id")]
    [InlineData("google-topic", "'google-topic' is not a valid Pub/Sub topic id")]
    [InlineData("has space", "'has space' is not a valid Pub/Sub topic id")]
    public void An_invalid_pubsub_topic_id_is_rejected(string topic, string reasonStart)
    {
        var error = Fails($$"""
            routes:
              a:
                source: { mqtt_topic: "x/1" }
                destination: { route_name: "r1" }
            producers:
              r1: { topic: "{{topic}}" }
            """);

        Assert.Equal(6, error.Line);
        Assert.StartsWith(reasonStart, error.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", 1, "the routing file is empty; it needs a 'routes' mapping")]
    [InlineData("# only a comment\n", 1, "the routing file is empty; it needs a 'routes' mapping")]
    [InlineData("- a\n- b\n", 1, "the routing file must be a mapping")]
    [InlineData("routes: {}\nproducers: {}\n", 1, "'routes' defines no route")]
    [InlineData("producers: {}\n", 1, "missing 'routes' mapping")]
    [InlineData("routes:\n  a: { source: { mqtt_topic: x }, destination: { route_name: r } }\n", 1, "missing 'producers' mapping (route name → Pub/Sub topic)")]
    [InlineData("routes: {}\nextra: 1\n", 2, "unknown key 'extra' in the routing file (expected 'routes', 'producers')")]
    [InlineData("routes:\n  a: text\nproducers: {}\n", 2, "route 'a' must be a mapping")]
    [InlineData("routes:\n  a: { destination: { route_name: r } }\nproducers: {}\n", 2, "route 'a' has no 'source'")]
    [InlineData("a: 1\n---\nb: 2\n", 2, "the routing file must hold exactly one YAML document")]
    public void Structural_errors_are_reported(string yaml, int line, string reason)
    {
        var error = Fails(yaml);

        Assert.Equal(line, error.Line);
        Assert.Equal(reason, error.Reason);
    }
}
