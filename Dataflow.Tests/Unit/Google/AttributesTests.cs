using System.Text.Json;
using Dataflow.Google.Core;
using Dataflow.Google.PubSub;

namespace Dataflow.Tests.Unit.Google;

[Trait("Category", "Unit")]
public sealed class AttributesTests
{
    [Fact]
    public void A_single_attribute_dictionary_reads_like_a_one_entry_dictionary()
    {
        var attributes = new SingleAttributeDictionary("mqtt_topic", "devices/d1/up");

        Assert.True(attributes.Count == 1);
        Assert.Single(attributes);
        Assert.Equal("devices/d1/up", attributes["mqtt_topic"]);
        Assert.True(attributes.ContainsKey("mqtt_topic"));
        Assert.False(attributes.ContainsKey("MQTT_TOPIC"));
        Assert.False(attributes.TryGetValue("route_name", out _));
        Assert.Null(attributes.GetValueOrDefault("route_name"));
        Assert.Throws<KeyNotFoundException>(() => attributes["route_name"]);
        Assert.Equal([new KeyValuePair<string, string>("mqtt_topic", "devices/d1/up")], attributes.ToList());
        Assert.Equal(["mqtt_topic"], attributes.Keys);
        Assert.Equal(["devices/d1/up"], attributes.Values);
    }

    [Fact]
    public void Attribute_size_counts_the_characters_of_keys_and_values_whatever_the_dictionary()
    {
        Assert.Equal(10 + 13, AttributeSize.Of(new SingleAttributeDictionary("mqtt_topic", "devices/d1/up")));
        Assert.Equal(10 + 13 + 10 + 7, AttributeSize.Of(new Dictionary<string, string> { ["mqtt_topic"] = "devices/d1/up", ["route_name"] = "uplinks" }));
        Assert.Equal(1 + 2, AttributeSize.Of(new SortedList<string, string> { ["a"] = "bc" }));
        Assert.Equal(0, AttributeSize.Of(null));
    }

    [Theory]
    [InlineData("dictionary")]
    [InlineData("single")]
    [InlineData("other")]
    public void Attributes_serialize_as_a_json_object_of_strings_from_any_dictionary(string kind)
    {
        IReadOnlyDictionary<string, string> attributes = kind switch
        {
            "dictionary" => new Dictionary<string, string> { ["route_name"] = "uplinks \"eu\"" },
            "single" => new SingleAttributeDictionary("route_name", "uplinks \"eu\""),
            _ => new SortedList<string, string> { ["route_name"] = "uplinks \"eu\"" },
        };

        var json = JsonSerializer.Serialize(new PubSubMessage { Attributes = attributes }, PubSubJsonContext.Default.PubSubMessage);

        Assert.Equal("""{"data":"","attributes":{"route_name":"uplinks \u0022eu\u0022"}}""", json);
    }

    [Fact]
    public void Attributes_read_back_into_an_ordinal_dictionary_and_absent_attributes_stay_null()
    {
        var message = JsonSerializer.Deserialize("""{"data":"AAE=","attributes":{"a":"1","b":""}}""", PubSubJsonContext.Default.PubSubMessage)!;
        var bare = JsonSerializer.Deserialize("""{"data":"AAE=","attributes":null}""", PubSubJsonContext.Default.PubSubMessage)!;

        Assert.Equal(new Dictionary<string, string> { ["a"] = "1", ["b"] = "" }, message.Attributes);
        Assert.Null(bare.Attributes);
    }

    [Theory]
    [InlineData("""{"attributes":["a"]}""")]
    [InlineData("""{"attributes":{"a":1}}""")]
    [InlineData("""{"attributes":{"a":null}}""")]
    public void Attributes_that_are_not_an_object_of_strings_are_a_json_error(string json)
    {
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize(json, PubSubJsonContext.Default.PubSubMessage));
    }
}
