using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dataflow.Emulators.BigQuery.Sql;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Dataflow.Emulators.BigQuery;

/// <summary>
/// BigQuery v2 REST surface: datasets, tables, tabledata (insertAll, list) and query jobs. Served under
/// /bigquery/v2/projects/{project} and, for clients that use BIGQUERY_EMULATOR_HOST as their base URL, /projects/{project}.
/// </summary>
internal static class BigQueryApi
{
    private const string DefaultLocation = "US";

    public static IEndpointRouteBuilder MapBigQueryApi(this IEndpointRouteBuilder app)
    {
        Map(app.MapGroup("/bigquery/v2/projects/{project}"));
        Map(app.MapGroup("/projects/{project}"));
        return app;
    }

    private static void Map(RouteGroupBuilder api)
    {
        api.MapPost("/datasets", InsertDatasetAsync);
        api.MapGet("/datasets", ListDatasets);
        api.MapGet("/datasets/{dataset}", GetDataset);
        api.MapDelete("/datasets/{dataset}", DeleteDataset);
        api.MapPost("/datasets/{dataset}/tables", InsertTableAsync);
        api.MapGet("/datasets/{dataset}/tables", ListTables);
        api.MapGet("/datasets/{dataset}/tables/{table}", GetTable);
        api.MapDelete("/datasets/{dataset}/tables/{table}", DeleteTable);
        api.MapPost("/datasets/{dataset}/tables/{table}/insertAll", InsertAllAsync);
        api.MapGet("/datasets/{dataset}/tables/{table}/data", ListTableData);
        api.MapPost("/jobs", InsertJobAsync);
        api.MapGet("/jobs", ListJobs);
        api.MapGet("/jobs/{jobId}", GetJob);
        api.MapPost("/jobs/{jobId}/cancel", CancelJob);
        api.MapPost("/queries", QueryAsync);
        api.MapGet("/queries/{jobId}", GetQueryResults);
    }

    private static async Task<IResult> InsertDatasetAsync(HttpContext context, BigQueryStore store, string project)
    {
        var body = await EmulatorJson.ReadBodyAsync<DatasetBody>(context.Request, context.RequestAborted)
            ?? throw GoogleApiException.Required("Required: a dataset resource in the request body");
        var datasetId = body.DatasetReference?.DatasetId;
        if (string.IsNullOrEmpty(datasetId))
        {
            throw GoogleApiException.Required("Required parameter is missing: datasetReference.datasetId");
        }

        CheckProject(body.DatasetReference?.ProjectId, project);
        var dataset = store.CreateDataset(project, datasetId, body.Location, body.FriendlyName, body.Description, body.Labels);
        return EmulatorJson.Ok(context.Request, ToResource(dataset, BaseUri(context.Request)));
    }

    private static IResult GetDataset(HttpContext context, BigQueryStore store, string project, string dataset) =>
        EmulatorJson.Ok(context.Request, ToResource(store.GetDataset(project, dataset), BaseUri(context.Request)));

    private static NoContent DeleteDataset(BigQueryStore store, string project, string dataset, bool? deleteContents)
    {
        store.DeleteDataset(project, dataset, deleteContents ?? false);
        return TypedResults.NoContent();
    }

    private static IResult ListDatasets(HttpContext context, BigQueryStore store, string project, string? pageToken, int? maxResults)
    {
        var (page, next) = Page(store.ListDatasets(project), pageToken, maxResults, 1000);
        var items = page.Select(d => new DatasetListItem("bigquery#dataset", $"{d.Project}:{d.DatasetId}", new DatasetReference(d.Project, d.DatasetId), d.Labels, d.Location, d.FriendlyName));
        return EmulatorJson.Ok(context.Request, new DatasetList("bigquery#datasetList", Etag(), [.. items], next));
    }

    private static async Task<IResult> InsertTableAsync(HttpContext context, BigQueryStore store, TimeProvider time, string project, string dataset)
    {
        var body = await EmulatorJson.ReadBodyAsync<TableBody>(context.Request, context.RequestAborted)
            ?? throw GoogleApiException.Required("Required: a table resource in the request body");
        if (body.View is not null || body.MaterializedView is not null || body.ExternalDataConfiguration is not null || body.RangePartitioning is not null)
        {
            throw GoogleApiException.NotImplemented("views, materialized views, external tables and range partitioning");
        }

        var tableId = body.TableReference?.TableId;
        if (string.IsNullOrEmpty(tableId))
        {
            throw GoogleApiException.Required("Required parameter is missing: tableReference.tableId");
        }

        CheckProject(body.TableReference?.ProjectId, project);
        if (body.TableReference?.DatasetId is { Length: > 0 } bodyDataset && bodyDataset != dataset)
        {
            throw GoogleApiException.Invalid($"The dataset in the table reference ({bodyDataset}) does not match the dataset in the URL ({dataset}).");
        }

        var now = time.GetUtcNow();
        var schema = new TableSchema(Canonicalize(body.Schema?.Fields ?? []));
        var table = store.CreateTable(new StoredTable(project, dataset, tableId, schema, body.FriendlyName, body.Description, body.Labels,
            body.TimePartitioning, body.Clustering, now, now));
        return EmulatorJson.Ok(context.Request, ToResource(table, 0, BaseUri(context.Request)));
    }

    private static IResult GetTable(HttpContext context, BigQueryStore store, string project, string dataset, string table)
    {
        var (stored, rows) = store.GetTable(project, dataset, table);
        return EmulatorJson.Ok(context.Request, ToResource(stored, rows, BaseUri(context.Request)));
    }

    private static NoContent DeleteTable(BigQueryStore store, string project, string dataset, string table)
    {
        store.DeleteTable(project, dataset, table);
        return TypedResults.NoContent();
    }

    private static IResult ListTables(HttpContext context, BigQueryStore store, string project, string dataset, string? pageToken, int? maxResults)
    {
        var tables = store.ListTables(project, dataset);
        var (page, next) = Page(tables, pageToken, maxResults, 1000);
        var items = page.Select(t => new TableListItem("bigquery#table", $"{t.Project}:{t.DatasetId}.{t.TableId}",
            new TableReference(t.Project, t.DatasetId, t.TableId), "TABLE", Millis(t.Created), t.Labels, t.FriendlyName));
        return EmulatorJson.Ok(context.Request, new TableList("bigquery#tableList", Etag(), [.. items], tables.Count, next));
    }

    private static async Task<IResult> InsertAllAsync(HttpContext context, BigQueryStore store, string project, string dataset, string table)
    {
        var body = await EmulatorJson.ReadBodyAsync<InsertAllBody>(context.Request, context.RequestAborted)
            ?? throw GoogleApiException.Required("Required: an insertAll request body");
        if (!string.IsNullOrEmpty(body.TemplateSuffix))
        {
            throw GoogleApiException.NotImplemented("insertAll with templateSuffix");
        }

        if (body.Rows is not { Count: > 0 })
        {
            throw GoogleApiException.Invalid("No rows present in the request.");
        }

        var errors = store.InsertAll(project, dataset, table, body.Rows, body.SkipInvalidRows ?? false, body.IgnoreUnknownValues ?? false);
        return EmulatorJson.Ok(context.Request, new InsertAllResponse("bigquery#tableDataInsertAllResponse", errors.Count == 0 ? null : errors));
    }

    private static IResult ListTableData(
        HttpContext context, IOptions<EmulatorOptions> options, BigQueryStore store, string project, string dataset, string table,
        string? pageToken, int? maxResults, long? startIndex, string? selectedFields)
    {
        var (stored, rows) = store.Snapshot(project, dataset, table);
        var fields = stored.Schema.Fields;
        int[]? selection = null;
        if (!string.IsNullOrWhiteSpace(selectedFields))
        {
            var names = selectedFields.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            selection = [.. names.Select(name =>
            {
                var index = fields.ToList().FindIndex(f => f.Name.Equals(name, StringComparison.OrdinalIgnoreCase));
                return index >= 0 ? index : throw GoogleApiException.Invalid($"Field {name} in selectedFields does not exist in the table schema (nested selection is not supported by the Dataflow emulator).");
            })];
            fields = [.. selection.Select(i => fields[i])];
        }

        var (start, count) = Window(pageToken, startIndex, maxResults, options.Value.DefaultBigQueryPageSize, rows.Count);
        var int64Timestamps = UseInt64Timestamps(context.Request);
        var output = new JsonArray();
        for (var i = start; i < start + count; i++)
        {
            var row = selection is null ? rows[i] : [.. selection.Select(index => rows[i][index])];
            output.Add(BigQueryValues.ToRestRow(row, fields, int64Timestamps));
        }

        var next = start + count < rows.Count ? (start + count).ToString(CultureInfo.InvariantCulture) : null;
        return EmulatorJson.Ok(context.Request, new TableDataList("bigquery#tableDataList", Etag(), rows.Count.ToString(CultureInfo.InvariantCulture), next, output));
    }

    private static async Task<IResult> InsertJobAsync(HttpContext context, BigQueryStore store, TimeProvider time, string project)
    {
        var raw = await EmulatorJson.ReadBodyAsync<JsonObject>(context.Request, context.RequestAborted)
            ?? throw GoogleApiException.Required("Required: a job resource in the request body");
        var body = raw.Deserialize<JobBody>(EmulatorJson.Options)!;
        var configuration = body.Configuration ?? throw GoogleApiException.Required("Required parameter is missing: configuration");
        if (configuration.Load is not null || configuration.Extract is not null || configuration.Copy is not null)
        {
            throw GoogleApiException.NotImplemented("load, extract and copy jobs (only query jobs are supported)");
        }

        var query = configuration.Query ?? throw GoogleApiException.Required("Required parameter is missing: configuration.query");
        if (configuration.DryRun == true)
        {
            throw GoogleApiException.NotImplemented("dry-run jobs");
        }

        CheckProject(body.JobReference?.ProjectId, project);
        var jobId = body.JobReference?.JobId is { Length: > 0 } given ? given : NewJobId();
        var location = body.JobReference?.Location ?? query.Location ?? DefaultLocation;
        var configurationJson = raw["configuration"]!.DeepClone();
        configurationJson["jobType"] = "QUERY";
        var job = new QueryJob(project, jobId, location, configurationJson, time.GetUtcNow(), RunQuery(store, project, query));
        if (!store.TryAddJob(job))
        {
            throw GoogleApiException.Duplicate($"Already Exists: Job {project}:{location}.{jobId}");
        }

        return EmulatorJson.Ok(context.Request, ToResource(job, BaseUri(context.Request)));
    }

    private static IResult GetJob(HttpContext context, BigQueryStore store, string project, string jobId) =>
        EmulatorJson.Ok(context.Request, ToResource(store.GetJob(project, jobId), BaseUri(context.Request)));

    private static IResult CancelJob(HttpContext context, BigQueryStore store, string project, string jobId) =>
        EmulatorJson.Ok(context.Request, new JobCancelResponse("bigquery#jobCancelResponse", ToResource(store.GetJob(project, jobId), BaseUri(context.Request))));

    private static IResult ListJobs(HttpContext context, BigQueryStore store, string project, string? pageToken, int? maxResults)
    {
        var (page, next) = Page(store.ListJobs(project), pageToken, maxResults, 1000);
        var baseUri = BaseUri(context.Request);
        return EmulatorJson.Ok(context.Request, new JobList("bigquery#jobList", Etag(), [.. page.Select(j => ToResource(j, baseUri))], next));
    }

    private static async Task<IResult> QueryAsync(HttpContext context, IOptions<EmulatorOptions> options, BigQueryStore store, TimeProvider time, string project)
    {
        var raw = await EmulatorJson.ReadBodyAsync<JsonObject>(context.Request, context.RequestAborted)
            ?? throw GoogleApiException.Required("Required: a query request body");
        var request = raw.Deserialize<QueryRequestBody>(EmulatorJson.Options)!;
        if (request.DryRun == true)
        {
            throw GoogleApiException.NotImplemented("dry-run queries");
        }

        var location = request.Location ?? DefaultLocation;
        var configuration = new JsonObject { ["query"] = raw.DeepClone(), ["jobType"] = "QUERY" };
        var job = new QueryJob(project, NewJobId(), location, configuration, time.GetUtcNow(), RunQuery(store, project, request));
        store.AddJob(job);
        var int64Timestamps = request.FormatOptions?.UseInt64Timestamp ?? false;
        return EmulatorJson.Ok(context.Request, Results(job, "bigquery#queryResponse", 0, request.MaxResults ?? options.Value.DefaultBigQueryPageSize, int64Timestamps));
    }

    private static IResult GetQueryResults(
        HttpContext context, IOptions<EmulatorOptions> options, BigQueryStore store, string project, string jobId,
        string? pageToken, int? maxResults, long? startIndex)
    {
        var job = store.GetJob(project, jobId);
        var (start, count) = Window(pageToken, startIndex, maxResults, options.Value.DefaultBigQueryPageSize, job.Result.Rows.Count);
        return EmulatorJson.Ok(context.Request, Results(job, "bigquery#getQueryResultsResponse", start, count, UseInt64Timestamps(context.Request)));
    }

    private static QueryResultsResponse Results(QueryJob job, string kind, int start, int count, bool int64Timestamps)
    {
        var rows = job.Result.Rows;
        count = Math.Max(0, Math.Min(count, rows.Count - start));
        var output = new JsonArray();
        for (var i = start; i < start + count; i++)
        {
            output.Add(BigQueryValues.ToRestRow(rows[i], job.Result.Schema.Fields, int64Timestamps));
        }

        var next = start + count < rows.Count ? (start + count).ToString(CultureInfo.InvariantCulture) : null;
        return new QueryResultsResponse(kind, Etag(), job.Result.Schema, new JobReference(job.Project, job.JobId, job.Location),
            rows.Count.ToString(CultureInfo.InvariantCulture), next, output, "0", JobComplete: true, CacheHit: false, job.Location);
    }

    /// <summary>Parses and runs a GoogleSQL query synchronously; jobs are therefore always DONE when created.</summary>
    internal static QueryResult RunQuery(BigQueryStore store, string project, QueryRequestBody request)
    {
        if (string.IsNullOrWhiteSpace(request.Query))
        {
            throw GoogleApiException.Required("Required parameter is missing: query");
        }

        if (request.UseLegacySql == true)
        {
            throw GoogleApiException.NotImplemented("legacy SQL (set useLegacySql to false to use GoogleSQL)");
        }

        if (request.DestinationTable is not null || request.CreateSession == true || request.ConnectionProperties is not null)
        {
            throw GoogleApiException.NotImplemented("query destination tables, sessions and connection properties");
        }

        var statement = SqlParser.Parse(request.Query);
        QuerySource? source = null;
        if (statement.From is { } from)
        {
            var tableProject = from.Project ?? (from.Dataset is null ? request.DefaultDataset?.ProjectId : null) ?? project;
            var datasetId = from.Dataset ?? request.DefaultDataset?.DatasetId
                ?? throw GoogleApiException.InvalidQuery($"Table name \"{from.Table}\" missing dataset while no default dataset is set in the request.");
            var (table, rows) = store.Snapshot(tableProject, datasetId, from.Table);
            source = new QuerySource(from.Table, statement.FromAlias, table.Schema.Fields, rows);
        }

        var (named, positional) = Parameters(request);
        if (statement.PositionalParameterCount > 0 && request.ParameterMode is not null && !request.ParameterMode.Equals("POSITIONAL", StringComparison.OrdinalIgnoreCase))
        {
            throw GoogleApiException.InvalidQuery("Positional parameters are not allowed when parameterMode is NAMED");
        }

        return QueryEngine.Execute(statement, source, named, positional);
    }

    private static (Dictionary<string, QueryParameter> Named, List<QueryParameter> Positional) Parameters(QueryRequestBody request)
    {
        var named = new Dictionary<string, QueryParameter>(StringComparer.OrdinalIgnoreCase);
        var positional = new List<QueryParameter>();
        foreach (var parameter in request.QueryParameters ?? [])
        {
            var typeName = parameter.ParameterType?.Type ?? throw GoogleApiException.Invalid("Query parameter is missing parameterType.type");
            if (parameter.ParameterType.ArrayType is not null || parameter.ParameterType.StructTypes is not null || typeName is "ARRAY" or "STRUCT")
            {
                throw GoogleApiException.NotImplemented("ARRAY and STRUCT query parameters");
            }

            var type = TableFieldSchema.CanonicalType(typeName);
            object? value = null;
            if (parameter.ParameterValue?.Text is { } text)
            {
                value = type is "BIGNUMERIC" or "JSON" or "GEOGRAPHY" ? text : BigQueryValues.ParseScalar(text, type)
                    ?? throw GoogleApiException.InvalidQuery($"Invalid value for query parameter {parameter.Name ?? "?"} of type {typeName}: \"{text}\"");
            }

            var resolved = new QueryParameter(new Sql.SqlType(type), value);
            if (string.IsNullOrEmpty(parameter.Name))
            {
                positional.Add(resolved);
            }
            else
            {
                named[parameter.Name] = resolved;
            }
        }

        return (named, positional);
    }

    private static IReadOnlyList<TableFieldSchema> Canonicalize(IReadOnlyList<TableFieldSchema> fields) =>
        [.. fields.Select(f => f with
        {
            Type = TableFieldSchema.CanonicalType(f.Type ?? throw GoogleApiException.Required($"Required: type of field {f.Name}")),
            Mode = f.Mode?.ToUpperInvariant() ?? "NULLABLE",
            Fields = f.Fields is null ? null : Canonicalize(f.Fields),
        })];

    private static (int Start, int Count) Window(string? pageToken, long? startIndex, int? maxResults, int defaultPageSize, int total)
    {
        long start = startIndex ?? 0;
        if (!string.IsNullOrEmpty(pageToken) && !long.TryParse(pageToken, NumberStyles.None, CultureInfo.InvariantCulture, out start))
        {
            throw GoogleApiException.Invalid("Invalid page token.");
        }

        if (start < 0 || maxResults < 0)
        {
            throw GoogleApiException.Invalid("startIndex and maxResults must not be negative.");
        }

        var first = (int)Math.Min(start, total);
        return (first, Math.Min(maxResults ?? defaultPageSize, total - first));
    }

    private static (IReadOnlyList<T> Page, string? Next) Page<T>(IReadOnlyList<T> items, string? pageToken, int? maxResults, int defaultPageSize)
    {
        var (start, count) = Window(pageToken, null, maxResults, defaultPageSize, items.Count);
        var next = start + count < items.Count ? (start + count).ToString(CultureInfo.InvariantCulture) : null;
        return ([.. items.Skip(start).Take(count)], next);
    }

    private static void CheckProject(string? bodyProject, string project)
    {
        if (!string.IsNullOrEmpty(bodyProject) && bodyProject != project)
        {
            throw GoogleApiException.Invalid($"The project in the resource reference ({bodyProject}) does not match the project in the URL ({project}).");
        }
    }

    private static bool UseInt64Timestamps(HttpRequest request) => request.Query["formatOptions.useInt64Timestamp"].ToString() is "true" or "1";

    private static DatasetResource ToResource(StoredDataset d, string baseUri) => new(
        "bigquery#dataset", Etag(), $"{d.Project}:{d.DatasetId}", $"{baseUri}/bigquery/v2/projects/{d.Project}/datasets/{d.DatasetId}",
        new DatasetReference(d.Project, d.DatasetId), d.FriendlyName, d.Description, d.Labels, d.Location, Millis(d.Created), Millis(d.Modified), "DEFAULT");

    private static TableResource ToResource(StoredTable t, long numRows, string baseUri) => new(
        "bigquery#table", Etag(), $"{t.Project}:{t.DatasetId}.{t.TableId}",
        $"{baseUri}/bigquery/v2/projects/{t.Project}/datasets/{t.DatasetId}/tables/{t.TableId}",
        new TableReference(t.Project, t.DatasetId, t.TableId), t.Schema, t.FriendlyName, t.Description, t.Labels,
        numRows.ToString(CultureInfo.InvariantCulture), "0", "0", Millis(t.Created), Millis(t.Modified), "TABLE", DefaultLocation, t.TimePartitioning, t.Clustering);

    private static JobResource ToResource(QueryJob job, string baseUri)
    {
        var time = Millis(job.Created);
        return new JobResource(
            "bigquery#job", Etag(), $"{job.Project}:{job.Location}.{job.JobId}",
            $"{baseUri}/bigquery/v2/projects/{job.Project}/jobs/{job.JobId}?location={job.Location}",
            "emulator@dataflow.local",
            new JobReference(job.Project, job.JobId, job.Location),
            job.Configuration,
            new JobStatus("DONE"),
            new JobStatistics(time, time, time, "0", new QueryStatistics("0", "0", false, "SELECT", job.Result.Schema)));
    }

    private static string NewJobId() => "job_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));

    private static string Etag() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(9));

    private static string Millis(DateTimeOffset time) => time.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);

    private static string BaseUri(HttpRequest request) => $"{request.Scheme}://{request.Host}{request.PathBase}";
}
