using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace Dataflow.Google.Core;

/// <summary>
/// Attributes holding exactly one entry, as one small object: a <see cref="Dictionary{TKey, TValue}"/> of one entry is
/// three (itself, buckets, entries), about 200 bytes, for every message of a consumer that tags its source.
/// Keys compare ordinally.
/// </summary>
public sealed class SingleAttributeDictionary(string key, string value) : IReadOnlyDictionary<string, string>
{
    public string Key { get; } = key ?? throw new ArgumentNullException(nameof(key));

    public string Value { get; } = value ?? throw new ArgumentNullException(nameof(value));

    public int Count => 1;

    public IEnumerable<string> Keys => [Key];

    public IEnumerable<string> Values => [Value];

    public string this[string key] => ContainsKey(key) ? Value : throw new KeyNotFoundException($"The attribute '{key}' is not present.");

    public bool ContainsKey(string key) => string.Equals(key, Key, StringComparison.Ordinal);

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out string value)
    {
        value = ContainsKey(key) ? Value : null;
        return value is not null;
    }

    public IEnumerator<KeyValuePair<string, string>> GetEnumerator()
    {
        yield return new KeyValuePair<string, string>(Key, Value);
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
