using Dataflow.Pipeline;
using Microsoft.Extensions.Options;

namespace Dataflow.IceStore;

/// <summary>Configuration of the icestore service (<c>IceStore</c> section).</summary>
public sealed class IceStoreOptions
{
    public const string Section = "IceStore";

    public string Subscription { get; set; } = "";

    /// <summary>Bucket of the archives; created at start when missing.</summary>
    public string Bucket { get; set; } = "";

    /// <summary>Object name prefix: objects are <c>&lt;prefix&gt;/&lt;batchKey&gt;/&lt;uuid&gt;.jsonl.gz</c>.</summary>
    public string ObjectPrefix { get; set; } = "archive";

    /// <summary>Location of a bucket created at start (the server default when empty).</summary>
    public string? BucketLocation { get; set; }

    public BatchingOptions Batching { get; set; } = new();

    public PipelineOptions Pipeline { get; set; } = new();
}

internal sealed class IceStoreOptionsValidator : IValidateOptions<IceStoreOptions>
{
    public ValidateOptionsResult Validate(string? name, IceStoreOptions options)
    {
        const string s = IceStoreOptions.Section;
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.Subscription))
        {
            errors.Add($"{s}:Subscription is required.");
        }

        if (string.IsNullOrWhiteSpace(options.Bucket) || options.Bucket.Length is < 3 or > 63)
        {
            errors.Add($"{s}:Bucket is required (3-63 characters).");
        }

        if (options.ObjectPrefix.StartsWith('/') || options.ObjectPrefix.EndsWith('/'))
        {
            errors.Add($"{s}:ObjectPrefix must not start or end with '/'.");
        }

        errors.AddRange(options.Batching.Validate($"{s}:Batching"));
        errors.AddRange(options.Pipeline.Validate($"{s}:Pipeline"));
        if (options.Pipeline.MaxOutstandingMessages < options.Batching.BatchSize)
        {
            errors.Add($"{s}:Pipeline:MaxOutstandingMessages ({options.Pipeline.MaxOutstandingMessages}) must be at least {s}:Batching:BatchSize ({options.Batching.BatchSize}).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
