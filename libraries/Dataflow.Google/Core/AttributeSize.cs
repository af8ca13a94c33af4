namespace Dataflow.Google.Core;

/// <summary>The approximate size of message attributes (characters of every key and value), for flow control and batching.</summary>
public static class AttributeSize
{
    public static int Of(IReadOnlyDictionary<string, string>? attributes)
    {
        if (attributes is SingleAttributeDictionary single)
        {
            return single.Key.Length + single.Value.Length;
        }

        var size = 0;
        if (attributes is Dictionary<string, string> dictionary)
        {
            // The struct enumerator: this runs per message, and the interface's enumerator is an allocation.
            foreach (var (key, value) in dictionary)
            {
                size += key.Length + value.Length;
            }
        }
        else if (attributes is not null)
        {
            foreach (var (key, value) in attributes)
            {
                size += key.Length + value.Length;
            }
        }

        return size;
    }
}
