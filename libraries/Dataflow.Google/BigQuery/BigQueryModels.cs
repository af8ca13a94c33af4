using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Dataflow.Google.Core;

namespace Dataflow.Google.BigQuery;

public sealed record BigQueryDatasetReference(string ProjectId, string DatasetId);

public sealed record BigQueryTableReference(string ProjectId, string DatasetId, string TableId);

public sealed record BigQueryJobReference(string ProjectId, string JobId, string? Location);

public sealed record BigQueryDataset
{
    public BigQueryDatasetReference? DatasetReference { get; init; }

    public string? Id { get; init; }

    public string? Location { get; init; }

    public string? FriendlyName { get; init; }

    public string? Description { get; init; }

    public IReadOnlyDictionary<string, string>? Labels { get; init; }

    public long? DefaultTableExpirationMs { get; init; }

    public long? CreationTime { get; init; }

    public string? Etag { get; init; }
}

public sealed record BigQueryTable
{
    public BigQueryTableReference? TableReference { get; init; }

    public string? Id { get; init; }

    public BigQueryTableSchema? Schema { get; init; }

    public string? Description { get; init; }

    public string? FriendlyName { get; init; }

    public IReadOnlyDictionary<string, string>? Labels { get; init; }

    /// <summary><c>TABLE</c>, <c>VIEW</c>, …</summary>
    public string? Type { get; init; }

    public long? NumRows { get; init; }

    public long? CreationTime { get; init; }

    public long? ExpirationTime { get; init; }

    public string? Etag { get; init; }
}

public sealed record BigQueryTableSchema(IReadOnlyList<BigQueryField> Fields);

/// <summary>A column: <see cref="Type"/> is a legacy or standard type name (STRING, INTEGER/INT64, FLOAT/FLOAT64,
/// NUMERIC, BIGNUMERIC, BOOLEAN/BOOL, TIMESTAMP, DATE, TIME, DATETIME, BYTES, GEOGRAPHY, JSON, RECORD/STRUCT);
/// <see cref="Mode"/> is NULLABLE (default), REQUIRED or REPEATED; RECORD columns have nested <see cref="Fields"/>.</summary>
public sealed record BigQueryField
{
    public required string Name { get; init; }

    public required string Type { get; init; }

    public string? Mode { get; init; }

    public string? Description { get; init; }

    public IReadOnlyList<BigQueryField>? Fields { get; init; }

    [JsonIgnore]
    public bool IsRepeated => string.Equals(Mode, "REPEATED", StringComparison.OrdinalIgnoreCase);

    [JsonIgnore]
    public bool IsRecord => Type.ToUpperInvariant() is "RECORD" or "STRUCT";
}

/// <summary>A row to stream into a table; rows with the same <see cref="InsertId"/> sent within about a minute are
/// stored once (best-effort de-duplication).</summary>
public sealed record BigQueryInsertRow<T>(T Row, string? InsertId = null);

public sealed record BigQueryInsertOptions
{
    /// <summary>Insert the valid rows even when others are invalid (otherwise nothing is stored when any row fails).</summary>
    public bool SkipInvalidRows { get; init; }

    public bool IgnoreUnknownValues { get; init; }
}

/// <summary>The errors of one rejected row; <see cref="Index"/> is its position in the request.</summary>
public sealed record BigQueryRowError(int Index, IReadOnlyList<BigQueryErrorProto> Errors);

public sealed record BigQueryErrorProto(string? Reason, string? Location, string? Message, string? DebugInfo);

/// <summary>Outcome of insertAll: no errors means every row was accepted.</summary>
public sealed record BigQueryInsertResult(int RowCount, IReadOnlyList<BigQueryRowError> Errors)
{
    public bool Succeeded => Errors.Count == 0;
}

public sealed record BigQueryPage<T>(IReadOnlyList<T> Rows, long? TotalRows, string? PageToken);

public sealed record BigQueryQueryOptions
{
    /// <summary>Rows fetched per page.</summary>
    public int PageSize { get; init; } = 10_000;

    /// <summary>How long one request waits for the job to finish before returning and being polled again.</summary>
    public TimeSpan PollTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Overall limit for the query to finish.</summary>
    public TimeSpan? Timeout { get; init; }

    public string? Location { get; init; }

    public bool UseQueryCache { get; init; } = true;

    public IReadOnlyDictionary<string, string>? Labels { get; init; }
}

/// <summary>A finished query: its schema, total row count and rows as <typeparamref name="T"/>.</summary>
public sealed record BigQueryResults<T>(BigQueryJobReference? Job, BigQueryTableSchema Schema, long TotalRows, IReadOnlyList<T> Rows, long? NumDmlAffectedRows);

internal sealed record InsertAllRequest(bool SkipInvalidRows, bool IgnoreUnknownValues, IReadOnlyList<InsertAllRow> Rows);

internal sealed record InsertAllRow(string? InsertId, JsonObject Json);

internal sealed record InsertAllResponse(IReadOnlyList<InsertErrorJson>? InsertErrors);

internal sealed record InsertErrorJson(int Index, IReadOnlyList<BigQueryErrorProto>? Errors);

internal sealed record TableDataResponse(long? TotalRows, string? PageToken, IReadOnlyList<JsonElement>? Rows);

internal sealed record FormatOptions(bool UseInt64Timestamp);

internal sealed record QueryRequest(
    string Query, bool UseLegacySql, int MaxResults, long TimeoutMs, string? Location, bool UseQueryCache,
    FormatOptions FormatOptions, IReadOnlyDictionary<string, string>? Labels, string RequestId);

internal sealed record QueryResponse(
    BigQueryJobReference? JobReference, bool JobComplete, BigQueryTableSchema? Schema, long? TotalRows, string? PageToken,
    IReadOnlyList<JsonElement>? Rows, long? NumDmlAffectedRows, IReadOnlyList<BigQueryErrorProto>? Errors);

internal sealed record ListDatasetsResponse(IReadOnlyList<BigQueryDataset>? Datasets, string? NextPageToken);

internal sealed record ListTablesResponse(IReadOnlyList<BigQueryTable>? Tables, string? NextPageToken);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    Converters = [typeof(Int64StringJsonConverter)])]
[JsonSerializable(typeof(BigQueryDataset))]
[JsonSerializable(typeof(BigQueryTable))]
[JsonSerializable(typeof(InsertAllRequest))]
[JsonSerializable(typeof(InsertAllResponse))]
[JsonSerializable(typeof(TableDataResponse))]
[JsonSerializable(typeof(QueryRequest))]
[JsonSerializable(typeof(QueryResponse))]
[JsonSerializable(typeof(ListDatasetsResponse))]
[JsonSerializable(typeof(ListTablesResponse))]
internal sealed partial class BigQueryJsonContext : JsonSerializerContext;
