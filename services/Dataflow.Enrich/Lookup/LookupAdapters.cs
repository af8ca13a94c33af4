using System.Globalization;
using System.Text.Json;
using Dataflow.Google.Firestore;
using Dataflow.Redis;

namespace Dataflow.Enrich.Lookup;

/// <summary>Reads documents <c>&lt;collection&gt;/&lt;key&gt;</c>; scalar fields become strings.</summary>
internal sealed class FirestoreDeviceStore(FirestoreClient client, string collection) : IDeviceStore
{
    public async Task<LookupEntry> GetAsync(string key, CancellationToken cancellationToken)
    {
        // A key cannot address another collection or document: '/' would change the path.
        if (key.Length == 0 || key.Contains('/', StringComparison.Ordinal))
        {
            return LookupEntry.NotFound;
        }

        var document = await client.GetDocumentAsync($"{collection}/{key}", cancellationToken);
        if (document is null)
        {
            return LookupEntry.NotFound;
        }

        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in document.Fields)
        {
            var text = value.Kind switch
            {
                FirestoreValueKind.StringValue => value.StringValue,
                FirestoreValueKind.IntegerValue => value.IntegerValue.ToString(CultureInfo.InvariantCulture),
                FirestoreValueKind.DoubleValue => value.DoubleValue.ToString("R", CultureInfo.InvariantCulture),
                FirestoreValueKind.BooleanValue => value.BooleanValue ? "true" : "false",
                FirestoreValueKind.TimestampValue => value.TimestampValue.ToString("O", CultureInfo.InvariantCulture),
                _ => null,
            };
            if (text is not null)
            {
                fields[name] = text;
            }
        }

        return new LookupEntry(fields);
    }
}

/// <summary>
/// Redis layer: a JSON object of the fields under <c>&lt;prefix&gt;&lt;key&gt;</c>, or the JSON literal <c>null</c> for a
/// remembered "not found".
/// </summary>
internal sealed class RedisDeviceCache(RedisClient redis) : IDeviceCache
{
    public async Task<LookupEntry?> GetAsync(string key, CancellationToken cancellationToken)
    {
        var json = await redis.GetAsync(key, cancellationToken);
        if (json is null)
        {
            return null;
        }

        var fields = JsonSerializer.Deserialize(json, EnrichJsonContext.Default.DictionaryStringString);
        return fields is null ? LookupEntry.NotFound : new LookupEntry(fields);
    }

    public Task SetAsync(string key, LookupEntry entry, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        var json = entry.Fields is null
            ? "null"
            : JsonSerializer.Serialize(new Dictionary<string, string>(entry.Fields, StringComparer.Ordinal), EnrichJsonContext.Default.DictionaryStringString);
        return redis.SetAsync(key, json, timeToLive, cancellationToken: cancellationToken);
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(Dictionary<string, string>))]
internal sealed partial class EnrichJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
