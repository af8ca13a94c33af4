using System.Text.Json.Serialization;

namespace Dataflow.Emulators.BigQuery;

/// <summary>A column of a table schema (TableFieldSchema); RECORD columns carry sub-fields.</summary>
internal sealed record TableFieldSchema(
    string Name,
    string Type,
    string? Mode = null,
    IReadOnlyList<TableFieldSchema>? Fields = null,
    string? Description = null)
{
    [JsonIgnore]
    public bool IsRepeated => Mode is "REPEATED";

    [JsonIgnore]
    public bool IsRequired => Mode is "REQUIRED";

    [JsonIgnore]
    public bool IsRecord => Type is "RECORD";

    /// <summary>Standard and legacy type names collapse to the names BigQuery reports (INTEGER, FLOAT, BOOLEAN, RECORD).</summary>
    public static string CanonicalType(string type) => type.ToUpperInvariant() switch
    {
        "INT64" or "INTEGER" => "INTEGER",
        "FLOAT64" or "FLOAT" => "FLOAT",
        "BOOL" or "BOOLEAN" => "BOOLEAN",
        "STRUCT" or "RECORD" => "RECORD",
        "DECIMAL" or "NUMERIC" => "NUMERIC",
        "BIGDECIMAL" or "BIGNUMERIC" => "BIGNUMERIC",
        var other => other,
    };
}

internal sealed record TableSchema(IReadOnlyList<TableFieldSchema> Fields);

/// <summary>A TIMESTAMP value: microseconds since the Unix epoch, UTC.</summary>
internal readonly record struct BqTimestamp(long Micros) : IComparable<BqTimestamp>
{
    public int CompareTo(BqTimestamp other) => Micros.CompareTo(other.Micros);

    public DateTimeOffset ToDateTimeOffset() => DateTimeOffset.UnixEpoch.AddTicks(Micros * 10);
}

internal sealed record DatasetReference(string? ProjectId, string? DatasetId);

internal sealed record TableReference(string? ProjectId, string? DatasetId, string? TableId);

internal sealed record JobReference(string? ProjectId, string? JobId, string? Location);

/// <summary>A dataset as stored.</summary>
internal sealed record StoredDataset(
    string Project,
    string DatasetId,
    string Location,
    string? FriendlyName,
    string? Description,
    IReadOnlyDictionary<string, string>? Labels,
    DateTimeOffset Created,
    DateTimeOffset Modified);

/// <summary>A table's definition as stored (its rows live in <see cref="TableState"/>).</summary>
internal sealed record StoredTable(
    string Project,
    string DatasetId,
    string TableId,
    TableSchema Schema,
    string? FriendlyName,
    string? Description,
    IReadOnlyDictionary<string, string>? Labels,
    System.Text.Json.Nodes.JsonNode? TimePartitioning,
    System.Text.Json.Nodes.JsonNode? Clustering,
    DateTimeOffset Created,
    DateTimeOffset Modified);
