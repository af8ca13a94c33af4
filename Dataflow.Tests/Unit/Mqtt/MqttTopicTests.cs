using Dataflow.Mqtt;

namespace Dataflow.Tests.Unit.Mqtt;

[Trait("Category", "Unit")]
public sealed class MqttTopicTests
{
    [Theory]
    [InlineData("sport/tennis/player1", "sport/tennis/player1", true)]
    [InlineData("sport/tennis/player1/#", "sport/tennis/player1", true)]
    [InlineData("sport/tennis/player1/#", "sport/tennis/player1/ranking", true)]
    [InlineData("sport/#", "sport", true)]
    [InlineData("#", "sport/tennis", true)]
    [InlineData("sport/+/player1", "sport/tennis/player1", true)]
    [InlineData("sport/+", "sport/", true)]
    [InlineData("+/+", "/finance", true)]
    [InlineData("/+", "/finance", true)]
    [InlineData("+", "/finance", false)]
    [InlineData("sport/+", "sport", false)]
    [InlineData("sport/+", "sport/tennis/player1", false)]
    [InlineData("sport/tennis", "sport/tennis/player1", false)]
    [InlineData("sport/tennis/#", "sport/tennisx", false)]
    [InlineData("#", "$SYS/broker", false)]
    [InlineData("+/broker", "$SYS/broker", false)]
    [InlineData("$SYS/#", "$SYS/broker", true)]
    [InlineData("$SYS/+", "$SYS/broker", true)]
    [InlineData("a/b", "A/b", false)]
    public void Filter_matching_follows_the_specification(string filter, string topic, bool matches)
    {
        Assert.Equal(matches, MqttTopic.Matches(filter, topic));
    }

    [Theory]
    [InlineData("#", true)]
    [InlineData("a/#", true)]
    [InlineData("a/+/b", true)]
    [InlineData("+", true)]
    [InlineData("$share/group/a/+", true)]
    [InlineData("a#", false)]
    [InlineData("a/#/b", false)]
    [InlineData("a/b+", false)]
    [InlineData("", false)]
    [InlineData("$share/group", false)]
    [InlineData("$share//a", false)]
    [InlineData("$share/g+/a", false)]
    [InlineData("$share/g/a#", false)]
    public void Topic_filter_validation(string filter, bool valid)
    {
        Assert.Equal(valid, MqttTopic.IsValidTopicFilter(filter));
    }

    [Theory]
    [InlineData("a/b", true)]
    [InlineData("/", true)]
    [InlineData("a/+", false)]
    [InlineData("a/#", false)]
    [InlineData("", false)]
    public void Topic_name_validation(string topic, bool valid)
    {
        Assert.Equal(valid, MqttTopic.IsValidTopicName(topic));
    }

    [Fact]
    public void Shared_filter_splits_into_group_and_filter()
    {
        Assert.True(MqttTopic.TryParseShared("$share/workers/jobs/+/new", out var group, out var filter));
        Assert.Equal("workers", group);
        Assert.Equal("jobs/+/new", filter);
        Assert.False(MqttTopic.TryParseShared("jobs/+/new", out _, out _));
    }
}
