namespace Dataflow.Mqtt;

/// <summary>Topic name and topic filter rules of MQTT 3.1.1/5.0 (section 4.7).</summary>
public static class MqttTopic
{
    private const string SharePrefix = "$share/";

    /// <summary>A topic name for PUBLISH: non-empty, no wildcards, no U+0000.</summary>
    public static bool IsValidTopicName(string topic) =>
        !string.IsNullOrEmpty(topic) && topic.AsSpan().IndexOfAny("+#\0") < 0;

    /// <summary>
    /// A topic filter for SUBSCRIBE: '+' fills a whole level, '#' is a whole last level; shared subscriptions are
    /// <c>$share/{group}/{filter}</c> with a non-empty group without wildcards.
    /// </summary>
    public static bool IsValidTopicFilter(string filter)
    {
        if (string.IsNullOrEmpty(filter) || filter.Contains('\0', StringComparison.Ordinal))
        {
            return false;
        }

        if (filter.StartsWith(SharePrefix, StringComparison.Ordinal))
        {
            return TryParseShared(filter, out _, out var inner) && IsValidPlainFilter(inner);
        }

        return IsValidPlainFilter(filter);
    }

    private static bool IsValidPlainFilter(ReadOnlySpan<char> filter)
    {
        var levelStart = 0;
        for (var i = 0; i <= filter.Length; i++)
        {
            if (i < filter.Length && filter[i] != '/')
            {
                continue;
            }

            var level = filter[levelStart..i];
            if (level.Length > 1 && level.IndexOfAny('+', '#') >= 0)
            {
                return false;
            }

            if (level is "#" && i != filter.Length)
            {
                return false;
            }

            levelStart = i + 1;
        }

        return true;
    }

    /// <summary>Splits <c>$share/{group}/{filter}</c>; false for a non-shared or malformed shared filter.</summary>
    public static bool TryParseShared(string filter, out string group, out string innerFilter)
    {
        group = "";
        innerFilter = "";
        if (!filter.StartsWith(SharePrefix, StringComparison.Ordinal))
        {
            return false;
        }

        var slash = filter.IndexOf('/', SharePrefix.Length);
        if (slash <= SharePrefix.Length || slash == filter.Length - 1)
        {
            return false;
        }

        group = filter[SharePrefix.Length..slash];
        if (group.AsSpan().IndexOfAny('+', '#') >= 0)
        {
            return false;
        }

        innerFilter = filter[(slash + 1)..];
        return true;
    }

    /// <summary>Whether <paramref name="topic"/> matches the (non-shared) <paramref name="filter"/>.</summary>
    public static bool Matches(ReadOnlySpan<char> filter, ReadOnlySpan<char> topic)
    {
        // Topics beginning with '$' are not matched by filters starting with a wildcard [MQTT-4.7.2-1].
        if (topic.Length > 0 && topic[0] == '$' && filter.Length > 0 && filter[0] is '+' or '#')
        {
            return false;
        }

        while (true)
        {
            var filterSlash = filter.IndexOf('/');
            var filterLevel = filterSlash < 0 ? filter : filter[..filterSlash];
            if (filterLevel is "#")
            {
                return true;
            }

            var topicSlash = topic.IndexOf('/');
            var topicLevel = topicSlash < 0 ? topic : topic[..topicSlash];
            if (filterLevel is not "+" && !filterLevel.SequenceEqual(topicLevel))
            {
                return false;
            }

            if (filterSlash < 0 || topicSlash < 0)
            {
                // "a/#" also matches "a": the filter may end in exactly one more "/#" level.
                return filterSlash < 0 && topicSlash < 0
                    || (topicSlash < 0 && filter[(filterSlash + 1)..] is "#");
            }

            filter = filter[(filterSlash + 1)..];
            topic = topic[(topicSlash + 1)..];
        }
    }
}
