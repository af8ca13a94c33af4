using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Dataflow.Google.Core;

namespace Dataflow.Google.BigQuery;

/// <summary>
/// BigQuery v2 over REST: datasets, tables with schemas (inferred from row types or given), streaming inserts
/// with per-row errors, tabledata.list and queries (jobs.query + getQueryResults with polling and paging)
/// returning typed rows. Thread-safe.
/// </summary>
public sealed class BigQueryClient(GoogleRestTransport transport, string projectId)
{
    public const string ProductionEndpoint = "https://bigquery.googleapis.com/";
    public const string EmulatorVariable = "BIGQUERY_EMULATOR_HOST";
    public static readonly IReadOnlyList<string> Scopes = ["https://www.googleapis.com/auth/bigquery"];

    private static readonly BigQueryJsonContext Json = BigQueryJsonContext.Default;

    public GoogleRestTransport Transport { get; } = transport ?? throw new ArgumentNullException(nameof(transport));

    public string ProjectId { get; } = !string.IsNullOrWhiteSpace(projectId) ? projectId : throw new ArgumentException("a project id is required", nameof(projectId));

    public static BigQueryClient Create(BigQueryOptions options, HttpClient httpClient)
    {
        ArgumentNullException.ThrowIfNull(options);
        var endpoint = GoogleEndpoint.Resolve(options.EmulatorHost, options.Endpoint, ProductionEndpoint);
        IGoogleAccessTokenSource tokens = endpoint.IsEmulator ? AnonymousTokenSource.Instance : new GoogleCredentialTokenSource(options.CredentialsFile, Scopes);
        return new BigQueryClient(new GoogleRestTransport(httpClient, endpoint, tokens, options.ToRetrySettings()), options.ProjectId);
    }

    // ---- datasets ----

    public Task<BigQueryDataset> CreateDatasetAsync(string datasetId, BigQueryDataset? settings, CancellationToken cancellationToken)
    {
        var body = (settings ?? new BigQueryDataset()) with { DatasetReference = new BigQueryDatasetReference(ProjectId, datasetId) };
        return Transport.SendJsonAsync(HttpMethod.Post, ProjectPath + "/datasets", body, Json.BigQueryDataset, Json.BigQueryDataset, cancellationToken);
    }

    public Task<BigQueryDataset> GetDatasetAsync(string datasetId, CancellationToken cancellationToken) =>
        Transport.SendJsonAsync(HttpMethod.Get, DatasetPath(datasetId), Json.BigQueryDataset, cancellationToken);

    /// <summary>Deletes the dataset; with <paramref name="deleteContents"/> its tables too (otherwise a non-empty dataset answers 400).</summary>
    public Task DeleteDatasetAsync(string datasetId, bool deleteContents, CancellationToken cancellationToken) =>
        Transport.SendAsync(HttpMethod.Delete, DatasetPath(datasetId) + (deleteContents ? "?deleteContents=true" : ""), cancellationToken);

    public async IAsyncEnumerable<BigQueryDataset> ListDatasetsAsync(int pageSize = 1000, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        string? token = null;
        do
        {
            var page = await Transport.SendJsonAsync(HttpMethod.Get, Paged(ProjectPath + "/datasets", pageSize, token), Json.ListDatasetsResponse, cancellationToken);
            foreach (var dataset in page.Datasets ?? [])
            {
                yield return dataset;
            }

            token = string.IsNullOrEmpty(page.NextPageToken) ? null : page.NextPageToken;
        }
        while (token is not null);
    }

    // ---- tables ----

    public Task<BigQueryTable> CreateTableAsync(string datasetId, string tableId, BigQueryTableSchema schema, BigQueryTable? settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(schema);
        var body = (settings ?? new BigQueryTable()) with { TableReference = new BigQueryTableReference(ProjectId, datasetId, tableId), Schema = schema };
        return Transport.SendJsonAsync(HttpMethod.Post, DatasetPath(datasetId) + "/tables", body, Json.BigQueryTable, Json.BigQueryTable, cancellationToken);
    }

    /// <summary>Creates a table whose schema is inferred from <typeparamref name="TRow"/> (see <see cref="BigQuerySchema"/>).</summary>
    public Task<BigQueryTable> CreateTableAsync<TRow>(string datasetId, string tableId, CancellationToken cancellationToken, BigQueryTable? settings = null) =>
        CreateTableAsync(datasetId, tableId, BigQuerySchema.For<TRow>(), settings, cancellationToken);

    public Task<BigQueryTable> GetTableAsync(string datasetId, string tableId, CancellationToken cancellationToken) =>
        Transport.SendJsonAsync(HttpMethod.Get, TablePath(datasetId, tableId), Json.BigQueryTable, cancellationToken);

    public Task DeleteTableAsync(string datasetId, string tableId, CancellationToken cancellationToken) =>
        Transport.SendAsync(HttpMethod.Delete, TablePath(datasetId, tableId), cancellationToken);

    public async IAsyncEnumerable<BigQueryTable> ListTablesAsync(string datasetId, int pageSize = 1000, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        string? token = null;
        do
        {
            var page = await Transport.SendJsonAsync(HttpMethod.Get, Paged(DatasetPath(datasetId) + "/tables", pageSize, token), Json.ListTablesResponse, cancellationToken);
            foreach (var table in page.Tables ?? [])
            {
                yield return table;
            }

            token = string.IsNullOrEmpty(page.NextPageToken) ? null : page.NextPageToken;
        }
        while (token is not null);
    }

    // ---- streaming inserts ----

    /// <summary>
    /// Streams rows with tabledata.insertAll. Rows without an insert id get a random one, so a retried request is
    /// de-duplicated by the server. Rejected rows are reported per row in the result, never thrown.
    /// </summary>
    public async Task<BigQueryInsertResult> InsertRowsAsync<TRow>(
        string datasetId, string tableId, IEnumerable<BigQueryInsertRow<TRow>> rows, BigQueryInsertOptions? options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rows);
        options ??= new BigQueryInsertOptions();
        var wire = rows.Select(r => new InsertAllRow(r.InsertId ?? Guid.NewGuid().ToString("N"), BigQueryRows.ToJson(r.Row))).ToList();
        if (wire.Count == 0)
        {
            return new BigQueryInsertResult(0, []);
        }

        var response = await Transport.SendJsonAsync(
            HttpMethod.Post, TablePath(datasetId, tableId) + "/insertAll",
            new InsertAllRequest(options.SkipInvalidRows, options.IgnoreUnknownValues, wire), Json.InsertAllRequest, Json.InsertAllResponse, cancellationToken);
        var errors = (response.InsertErrors ?? []).Select(e => new BigQueryRowError(e.Index, e.Errors ?? [])).ToList();
        return new BigQueryInsertResult(wire.Count, errors);
    }

    public Task<BigQueryInsertResult> InsertRowsAsync<TRow>(string datasetId, string tableId, IEnumerable<TRow> rows, CancellationToken cancellationToken, BigQueryInsertOptions? options = null) =>
        InsertRowsAsync(datasetId, tableId, rows.Select(r => new BigQueryInsertRow<TRow>(r)), options, cancellationToken);

    // ---- reading ----

    /// <summary>One page of tabledata.list bound to <typeparamref name="TRow"/> with the given schema.</summary>
    public async Task<BigQueryPage<TRow>> ListRowsPageAsync<TRow>(
        string datasetId, string tableId, BigQueryTableSchema schema, int pageSize, string? pageToken, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(schema);
        var path = Paged(TablePath(datasetId, tableId) + "/data", pageSize, pageToken) + "&formatOptions.useInt64Timestamp=true";
        var response = await Transport.SendJsonAsync(HttpMethod.Get, path, Json.TableDataResponse, cancellationToken);
        var rows = (response.Rows ?? []).Select(r => BigQueryRows.FromRest<TRow>(r, schema)).ToList();
        return new BigQueryPage<TRow>(rows, response.TotalRows, string.IsNullOrEmpty(response.PageToken) ? null : response.PageToken);
    }

    /// <summary>Every row of the table (schema fetched first), page by page.</summary>
    public async IAsyncEnumerable<TRow> ListRowsAsync<TRow>(string datasetId, string tableId, int pageSize = 10_000, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var table = await GetTableAsync(datasetId, tableId, cancellationToken);
        var schema = table.Schema ?? throw new GoogleApiException($"table {datasetId}.{tableId} has no schema");
        string? token = null;
        do
        {
            var page = await ListRowsPageAsync<TRow>(datasetId, tableId, schema, pageSize, token, cancellationToken);
            foreach (var row in page.Rows)
            {
                yield return row;
            }

            token = page.PageToken;
        }
        while (token is not null);
    }

    /// <summary>Runs a GoogleSQL query and returns all its rows as <typeparamref name="TRow"/>.</summary>
    public async Task<BigQueryResults<TRow>> QueryAsync<TRow>(string sql, CancellationToken cancellationToken, BigQueryQueryOptions? options = null)
    {
        var rows = new List<TRow>();
        BigQueryResults<TRow>? header = null;
        await foreach (var (page, schema, total, job, dml) in QueryPagesAsync(sql, options, cancellationToken))
        {
            header ??= new BigQueryResults<TRow>(job, schema, total, rows, dml);
            rows.AddRange(page.Select(r => BigQueryRows.FromRest<TRow>(r, schema)));
        }

        return header!;
    }

    /// <summary>Runs a GoogleSQL query and streams its rows page by page.</summary>
    public async IAsyncEnumerable<TRow> QueryRowsAsync<TRow>(string sql, BigQueryQueryOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var (page, schema, _, _, _) in QueryPagesAsync(sql, options, cancellationToken))
        {
            foreach (var row in page)
            {
                yield return BigQueryRows.FromRest<TRow>(row, schema);
            }
        }
    }

    private async IAsyncEnumerable<(IReadOnlyList<JsonElement> Rows, BigQueryTableSchema Schema, long TotalRows, BigQueryJobReference? Job, long? Dml)> QueryPagesAsync(
        string sql, BigQueryQueryOptions? options, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sql);
        options ??= new BigQueryQueryOptions();
        var started = Stopwatch.StartNew();
        var pollMs = (long)options.PollTimeout.TotalMilliseconds;
        var request = new QueryRequest(sql, false, options.PageSize, pollMs, options.Location, options.UseQueryCache, new FormatOptions(true), options.Labels, Guid.NewGuid().ToString("N"));
        var response = await Transport.SendJsonAsync(HttpMethod.Post, ProjectPath + "/queries", request, Json.QueryRequest, Json.QueryResponse, cancellationToken);
        var job = response.JobReference;

        while (!response.JobComplete)
        {
            if (options.Timeout is { } limit && started.Elapsed > limit)
            {
                throw new TimeoutException($"the query job {job?.JobId} did not finish within {limit}");
            }

            response = await GetQueryResultsAsync(job, options, pageToken: null, pollMs, cancellationToken);
        }

        var schema = response.Schema ?? new BigQueryTableSchema([]);
        var total = response.TotalRows ?? 0;
        var dml = response.NumDmlAffectedRows;
        yield return (response.Rows ?? [], schema, total, job, dml);
        var token = response.PageToken;
        while (!string.IsNullOrEmpty(token))
        {
            response = await GetQueryResultsAsync(job, options, token, pollMs, cancellationToken);
            yield return (response.Rows ?? [], schema, total, job, dml);
            token = response.PageToken;
        }
    }

    private Task<QueryResponse> GetQueryResultsAsync(BigQueryJobReference? job, BigQueryQueryOptions options, string? pageToken, long timeoutMs, CancellationToken cancellationToken)
    {
        if (job is null)
        {
            throw new GoogleApiException("the query response has neither results nor a job reference to poll");
        }

        var path = $"bigquery/v2/projects/{Uri.EscapeDataString(job.ProjectId)}/queries/{Uri.EscapeDataString(job.JobId)}";
        path = Paged(path, options.PageSize, pageToken) + $"&timeoutMs={timeoutMs.ToString(CultureInfo.InvariantCulture)}&formatOptions.useInt64Timestamp=true";
        if ((job.Location ?? options.Location) is { } location)
        {
            path += "&location=" + Uri.EscapeDataString(location);
        }

        return Transport.SendJsonAsync(HttpMethod.Get, path, Json.QueryResponse, cancellationToken);
    }

    private string ProjectPath => "bigquery/v2/projects/" + Uri.EscapeDataString(ProjectId);

    private string DatasetPath(string datasetId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(datasetId);
        return ProjectPath + "/datasets/" + Uri.EscapeDataString(datasetId);
    }

    private string TablePath(string datasetId, string tableId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tableId);
        return DatasetPath(datasetId) + "/tables/" + Uri.EscapeDataString(tableId);
    }

    private static string Paged(string path, int pageSize, string? pageToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);
        var result = $"{path}?maxResults={pageSize.ToString(CultureInfo.InvariantCulture)}";
        return string.IsNullOrEmpty(pageToken) ? result : result + "&pageToken=" + Uri.EscapeDataString(pageToken);
    }
}
