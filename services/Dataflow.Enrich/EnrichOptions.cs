using Dataflow.Enrich.Lookup;
using Dataflow.Pipeline;
using Microsoft.Extensions.Options;

namespace Dataflow.Enrich;

/// <summary>What to do with a message whose key has no document.</summary>
public enum NotFoundAction
{
    /// <summary>Publish it unenriched.</summary>
    PassThrough,

    /// <summary>Publish it to <see cref="EnrichOptions.DeadLetterTopic"/>.</summary>
    DeadLetter,
}

/// <summary>Configuration of the enrich service (<c>Enrich</c> section).</summary>
public sealed class EnrichOptions
{
    public const string Section = "Enrich";

    /// <summary>Pub/Sub subscription to consume.</summary>
    public string Subscription { get; set; } = "";

    /// <summary>Pub/Sub topic the enriched envelopes go to.</summary>
    public string OutputTopic { get; set; } = "";

    /// <summary>Topic for messages whose key has no document, when <see cref="NotFound"/> is DeadLetter.</summary>
    public string? DeadLetterTopic { get; set; }

    public NotFoundAction NotFound { get; set; } = NotFoundAction.PassThrough;

    /// <summary>When set, the key is this attribute; otherwise enrichmentData.DeviceID, then attribute uid, then device_id.</summary>
    public string? KeyAttribute { get; set; }

    /// <summary>Redis connection string (StackExchange format); when empty, <c>ConnectionStrings:redis</c>; neither disables the Redis layer.</summary>
    public string? RedisConnectionString { get; set; }

    /// <summary>Prefix of every Redis key.</summary>
    public string RedisKeyPrefix { get; set; } = "enrich:device:";

    /// <summary>Per-command Redis timeout: a slow or absent Redis falls through to Firestore after this.</summary>
    public TimeSpan RedisTimeout { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Firestore collection of the device documents (document id = key).</summary>
    public string FirestoreCollection { get; set; } = "devices";

    /// <summary>enrichmentData field ← document field (reference: name ← ClientID, location ← LocationID, serviceTag ← Category).</summary>
    public Dictionary<string, string> FieldMapping { get; set; } = new(StringComparer.Ordinal);

    public LookupOptions Lookup { get; set; } = new();

    public PipelineOptions Pipeline { get; set; } = new();

    /// <summary>The mapping in effect: the configured one, or the reference mapping when none is configured.</summary>
    public IReadOnlyDictionary<string, string> EffectiveFieldMapping => FieldMapping.Count > 0
        ? FieldMapping
        : new Dictionary<string, string>(StringComparer.Ordinal) { ["name"] = "ClientID", ["location"] = "LocationID", ["serviceTag"] = "Category" };
}

internal sealed class EnrichOptionsValidator : IValidateOptions<EnrichOptions>
{
    public ValidateOptionsResult Validate(string? name, EnrichOptions options)
    {
        var errors = new List<string>();
        const string s = EnrichOptions.Section;
        if (string.IsNullOrWhiteSpace(options.Subscription))
        {
            errors.Add($"{s}:Subscription is required.");
        }

        if (string.IsNullOrWhiteSpace(options.OutputTopic))
        {
            errors.Add($"{s}:OutputTopic is required.");
        }

        if (options.NotFound == NotFoundAction.DeadLetter && string.IsNullOrWhiteSpace(options.DeadLetterTopic))
        {
            errors.Add($"{s}:DeadLetterTopic is required when {s}:NotFound is DeadLetter.");
        }

        if (string.IsNullOrWhiteSpace(options.FirestoreCollection) || options.FirestoreCollection.Contains('/', StringComparison.Ordinal))
        {
            errors.Add($"{s}:FirestoreCollection must be a collection id without '/'.");
        }

        if (options.RedisTimeout <= TimeSpan.Zero)
        {
            errors.Add($"{s}:RedisTimeout must be positive.");
        }

        if (!string.IsNullOrWhiteSpace(options.RedisConnectionString))
        {
            try
            {
                Dataflow.Redis.RedisConnectionOptions.Parse(options.RedisConnectionString).Validate();
            }
            catch (Exception ex) when (ex is ArgumentException or FormatException)
            {
                errors.Add($"{s}:RedisConnectionString: {ex.Message}");
            }
        }

        errors.AddRange(options.Lookup.Validate($"{s}:Lookup"));
        errors.AddRange(options.Pipeline.Validate($"{s}:Pipeline"));
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
