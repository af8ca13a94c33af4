using System.Text.Json.Nodes;

namespace Dataflow.Emulators.BigQuery;

// Request bodies (the members the stand-in reads; anything else in a request is ignored, as Google ignores unknown output-only fields).

internal sealed record DatasetBody(DatasetReference? DatasetReference, string? Location, string? FriendlyName, string? Description, Dictionary<string, string>? Labels);

internal sealed record TableBody(
    TableReference? TableReference,
    TableSchema? Schema,
    string? FriendlyName,
    string? Description,
    Dictionary<string, string>? Labels,
    JsonNode? TimePartitioning,
    JsonNode? RangePartitioning,
    JsonNode? Clustering,
    JsonNode? View,
    JsonNode? MaterializedView,
    JsonNode? ExternalDataConfiguration);

internal sealed record InsertAllBody(bool? SkipInvalidRows, bool? IgnoreUnknownValues, string? TemplateSuffix, List<InsertRow>? Rows);

internal sealed record DataFormatOptions(bool? UseInt64Timestamp);

internal sealed record QueryParameterType(string? Type, QueryParameterType? ArrayType, JsonNode? StructTypes);

/// <summary>A parameter value; clients send the scalar as a JSON string, some (Node) as a bare number or boolean.</summary>
internal sealed record QueryParameterValue(JsonNode? Value, JsonNode? ArrayValues, JsonNode? StructValues)
{
    public string? Text => Value switch
    {
        null => null,
        JsonValue value when value.GetValueKind() == System.Text.Json.JsonValueKind.String => value.GetValue<string>(),
        JsonValue value when value.GetValueKind() == System.Text.Json.JsonValueKind.Null => null,
        var other => other.ToJsonString(),
    };
}

internal sealed record QueryParameterBody(string? Name, QueryParameterType? ParameterType, QueryParameterValue? ParameterValue);

/// <summary>jobs.query request, also the query part of a job configuration.</summary>
internal sealed record QueryRequestBody(
    string? Query,
    bool? UseLegacySql,
    int? MaxResults,
    DatasetReference? DefaultDataset,
    string? ParameterMode,
    List<QueryParameterBody>? QueryParameters,
    bool? DryRun,
    string? Location,
    DataFormatOptions? FormatOptions,
    TableReference? DestinationTable,
    JsonNode? ConnectionProperties,
    bool? CreateSession);

internal sealed record JobConfigurationBody(QueryRequestBody? Query, JsonNode? Load, JsonNode? Extract, JsonNode? Copy, bool? DryRun, Dictionary<string, string>? Labels);

internal sealed record JobBody(JobReference? JobReference, JobConfigurationBody? Configuration);

// Responses.

internal sealed record DatasetResource(
    string Kind,
    string Etag,
    string Id,
    string SelfLink,
    DatasetReference DatasetReference,
    string? FriendlyName,
    string? Description,
    IReadOnlyDictionary<string, string>? Labels,
    string Location,
    string CreationTime,
    string LastModifiedTime,
    string Type);

internal sealed record DatasetListItem(string Kind, string Id, DatasetReference DatasetReference, IReadOnlyDictionary<string, string>? Labels, string Location, string? FriendlyName);

internal sealed record DatasetList(string Kind, string Etag, IReadOnlyList<DatasetListItem> Datasets, string? NextPageToken);

internal sealed record TableResource(
    string Kind,
    string Etag,
    string Id,
    string SelfLink,
    TableReference TableReference,
    TableSchema Schema,
    string? FriendlyName,
    string? Description,
    IReadOnlyDictionary<string, string>? Labels,
    string NumRows,
    string NumBytes,
    string NumLongTermBytes,
    string CreationTime,
    string LastModifiedTime,
    string Type,
    string Location,
    JsonNode? TimePartitioning,
    JsonNode? Clustering);

internal sealed record TableListItem(string Kind, string Id, TableReference TableReference, string Type, string CreationTime, IReadOnlyDictionary<string, string>? Labels, string? FriendlyName);

internal sealed record TableList(string Kind, string Etag, IReadOnlyList<TableListItem> Tables, int TotalItems, string? NextPageToken);

internal sealed record TableDataList(string Kind, string Etag, string TotalRows, string? PageToken, JsonArray Rows);

internal sealed record InsertAllResponse(string Kind, IReadOnlyList<RowInsertErrors>? InsertErrors);

internal sealed record JobStatus(string State);

internal sealed record QueryStatistics(string TotalBytesProcessed, string TotalBytesBilled, bool CacheHit, string StatementType, TableSchema Schema);

internal sealed record JobStatistics(string CreationTime, string StartTime, string EndTime, string TotalBytesProcessed, QueryStatistics Query);

internal sealed record JobResource(
    string Kind,
    string Etag,
    string Id,
    string SelfLink,
    string UserEmail,
    JobReference JobReference,
    JsonNode Configuration,
    JobStatus Status,
    JobStatistics Statistics);

internal sealed record JobList(string Kind, string Etag, IReadOnlyList<JobResource> Jobs, string? NextPageToken);

internal sealed record JobCancelResponse(string Kind, JobResource Job);

internal sealed record QueryResultsResponse(
    string Kind,
    string Etag,
    TableSchema Schema,
    JobReference JobReference,
    string TotalRows,
    string? PageToken,
    JsonArray Rows,
    string TotalBytesProcessed,
    bool JobComplete,
    bool CacheHit,
    string? Location);

/// <summary>A finished query job and its result.</summary>
internal sealed record QueryJob(string Project, string JobId, string Location, JsonNode Configuration, DateTimeOffset Created, Sql.QueryResult Result);
