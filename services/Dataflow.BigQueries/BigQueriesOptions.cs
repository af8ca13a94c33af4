using Dataflow.Pipeline;
using Microsoft.Extensions.Options;

namespace Dataflow.BigQueries;

/// <summary>Configuration of the bigqueries service (<c>BigQueries</c> section).</summary>
public sealed class BigQueriesOptions
{
    public const string Section = "BigQueries";

    public string Subscription { get; set; } = "";

    /// <summary>Dataset of the table; created at start when missing.</summary>
    public string Dataset { get; set; } = "";

    /// <summary>Table; created at start from the row type's schema when missing.</summary>
    public string Table { get; set; } = "";

    /// <summary>Topic for rows BigQuery rejects; when empty they are logged and acked.</summary>
    public string? DeadLetterTopic { get; set; }

    public BatchingOptions Batching { get; set; } = new();

    public PipelineOptions Pipeline { get; set; } = new();
}

internal sealed class BigQueriesOptionsValidator : IValidateOptions<BigQueriesOptions>
{
    public ValidateOptionsResult Validate(string? name, BigQueriesOptions options)
    {
        const string s = BigQueriesOptions.Section;
        var errors = new List<string>();
        foreach (var (key, value) in new[] { ("Subscription", options.Subscription), ("Dataset", options.Dataset), ("Table", options.Table) })
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                errors.Add($"{s}:{key} is required.");
            }
        }

        errors.AddRange(options.Batching.Validate($"{s}:Batching"));
        errors.AddRange(options.Pipeline.Validate($"{s}:Pipeline"));
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
