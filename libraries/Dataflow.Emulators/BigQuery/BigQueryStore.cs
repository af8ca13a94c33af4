using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Dataflow.Emulators.BigQuery;

/// <summary>
/// Datasets, tables with their rows, and finished query jobs. The dataset map has one lock; each table has its
/// own lock for inserts and reads, and queries read a snapshot of the rows.
/// </summary>
internal sealed partial class BigQueryStore(BigQueryPersistence? persistence, TimeProvider time, TimeSpan insertIdWindow)
{
    private readonly Lock _lock = new();
    private readonly SortedDictionary<string, DatasetState> _datasets = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, QueryJob> _jobs = new(StringComparer.Ordinal);

    public async Task LoadAsync(CancellationToken cancellationToken)
    {
        if (persistence is null)
        {
            return;
        }

        foreach (var (dataset, tables) in await persistence.LoadAsync(cancellationToken))
        {
            var state = new DatasetState(dataset);
            foreach (var (table, rows) in tables)
            {
                var tableState = new TableState(table);
                foreach (var json in rows)
                {
                    var errors = new List<RowError>();
                    var row = BigQueryValues.ConvertRow(json, table.Schema.Fields, ignoreUnknownValues: true, errors);
                    if (errors.Count > 0)
                    {
                        throw new InvalidDataException($"Persisted row of {table.Project}:{table.DatasetId}.{table.TableId} no longer fits its schema: {errors[0].Message}");
                    }

                    tableState.Rows.Add(row);
                }

                state.Tables[table.TableId] = tableState;
            }

            _datasets[Key(dataset.Project, dataset.DatasetId)] = state;
        }
    }

    public StoredDataset CreateDataset(string project, string datasetId, string? location, string? friendlyName, string? description, IReadOnlyDictionary<string, string>? labels)
    {
        if (!DatasetIdPattern().IsMatch(datasetId))
        {
            throw GoogleApiException.Invalid($"Invalid dataset ID \"{datasetId}\". Dataset IDs must be alphanumeric (plus underscores) and must be at most 1024 characters long.");
        }

        var now = time.GetUtcNow();
        var dataset = new StoredDataset(project, datasetId, location ?? "US", friendlyName, description, labels, now, now);
        lock (_lock)
        {
            if (_datasets.ContainsKey(Key(project, datasetId)))
            {
                throw GoogleApiException.Duplicate($"Already Exists: Dataset {project}:{datasetId}");
            }

            persistence?.SaveDataset(dataset);
            _datasets[Key(project, datasetId)] = new DatasetState(dataset);
        }

        return dataset;
    }

    public StoredDataset GetDataset(string project, string datasetId)
    {
        lock (_lock)
        {
            return Dataset(project, datasetId).Dataset;
        }
    }

    public void DeleteDataset(string project, string datasetId, bool deleteContents)
    {
        lock (_lock)
        {
            var state = Dataset(project, datasetId);
            if (state.Tables.Count > 0 && !deleteContents)
            {
                throw new GoogleApiException(System.Net.HttpStatusCode.BadRequest, "resourceInUse", $"Dataset {project}:{datasetId} is still in use");
            }

            persistence?.DeleteDataset(project, datasetId);
            _datasets.Remove(Key(project, datasetId));
        }
    }

    public IReadOnlyList<StoredDataset> ListDatasets(string project)
    {
        lock (_lock)
        {
            return [.. _datasets.Values.Select(d => d.Dataset).Where(d => d.Project == project)];
        }
    }

    public StoredTable CreateTable(StoredTable table)
    {
        if (!TableIdPattern().IsMatch(table.TableId))
        {
            throw GoogleApiException.Invalid($"Invalid table ID \"{table.TableId}\".");
        }

        ValidateSchema(table.Schema.Fields, table.TableId);
        lock (_lock)
        {
            var dataset = Dataset(table.Project, table.DatasetId);
            if (dataset.Tables.ContainsKey(table.TableId))
            {
                throw GoogleApiException.Duplicate($"Already Exists: Table {table.Project}:{table.DatasetId}.{table.TableId}");
            }

            persistence?.SaveTable(table);
            dataset.Tables[table.TableId] = new TableState(table);
        }

        return table;
    }

    public (StoredTable Table, long NumRows) GetTable(string project, string datasetId, string tableId)
    {
        var state = Table(project, datasetId, tableId);
        lock (state.Lock)
        {
            return (state.Definition, state.Rows.Count);
        }
    }

    public void DeleteTable(string project, string datasetId, string tableId)
    {
        lock (_lock)
        {
            var dataset = Dataset(project, datasetId);
            if (!dataset.Tables.Remove(tableId))
            {
                throw TableNotFound(project, datasetId, tableId);
            }

            persistence?.DeleteTable(project, datasetId, tableId);
        }
    }

    public IReadOnlyList<StoredTable> ListTables(string project, string datasetId)
    {
        lock (_lock)
        {
            return [.. Dataset(project, datasetId).Tables.Values.Select(t => t.Definition)];
        }
    }

    /// <summary>
    /// Streaming insert. Rows whose insertId was seen within the window are skipped. Invalid rows are reported
    /// per row; unless <paramref name="skipInvalidRows"/>, one invalid row stops the whole request (reason "stopped").
    /// </summary>
    public IReadOnlyList<RowInsertErrors> InsertAll(string project, string datasetId, string tableId, IReadOnlyList<InsertRow> rows, bool skipInvalidRows, bool ignoreUnknownValues)
    {
        var state = Table(project, datasetId, tableId);
        var fields = state.Definition.Schema.Fields;
        var converted = new object?[]?[rows.Count];
        var failures = new List<RowInsertErrors>();
        for (var i = 0; i < rows.Count; i++)
        {
            var errors = new List<RowError>();
            if (rows[i].Json is not { } json)
            {
                errors.Add(new RowError(string.Empty, "Row is missing its json object."));
            }
            else
            {
                converted[i] = BigQueryValues.ConvertRow(json, fields, ignoreUnknownValues, errors);
            }

            if (errors.Count > 0)
            {
                converted[i] = null;
                failures.Add(new RowInsertErrors(i, [.. errors.Select(e => new InsertErrorProto("invalid", e.Location, string.Empty, e.Message))]));
            }
        }

        if (failures.Count > 0 && !skipInvalidRows)
        {
            var failed = failures.Select(f => f.Index).ToHashSet();
            var stopped = Enumerable.Range(0, rows.Count).Where(i => !failed.Contains(i))
                .Select(i => new RowInsertErrors(i, [new InsertErrorProto("stopped", string.Empty, string.Empty, string.Empty)]));
            return [.. failures.Concat(stopped).OrderBy(f => f.Index)];
        }

        lock (state.Lock)
        {
            var now = time.GetUtcNow();
            state.ForgetInsertIdsBefore(now - insertIdWindow);
            var accepted = new List<object?[]>(rows.Count);
            for (var i = 0; i < rows.Count; i++)
            {
                if (converted[i] is not { } row)
                {
                    continue;
                }

                if (rows[i].InsertId is { Length: > 0 } insertId && !state.RememberInsertId(insertId, now))
                {
                    continue;
                }

                accepted.Add(row);
            }

            if (!IsLive(state))
            {
                throw TableNotFound(project, datasetId, tableId);
            }

            persistence?.AppendRows(state.Definition, accepted);
            state.Rows.AddRange(accepted);
        }

        return failures;
    }

    /// <summary>A consistent copy of a table's rows, for tabledata.list and queries.</summary>
    public (StoredTable Table, IReadOnlyList<object?[]> Rows) Snapshot(string project, string datasetId, string tableId)
    {
        var state = Table(project, datasetId, tableId);
        lock (state.Lock)
        {
            return (state.Definition, state.Rows.ToArray());
        }
    }

    public void AddJob(QueryJob job) => _jobs[JobKey(job.Project, job.JobId)] = job;

    public bool TryAddJob(QueryJob job) => _jobs.TryAdd(JobKey(job.Project, job.JobId), job);

    public QueryJob GetJob(string project, string jobId) =>
        _jobs.TryGetValue(JobKey(project, jobId), out var job) ? job : throw GoogleApiException.NotFound($"Not found: Job {project}:{jobId}");

    public IReadOnlyList<QueryJob> ListJobs(string project) => [.. _jobs.Values.Where(j => j.Project == project).OrderByDescending(j => j.Created)];

    private bool IsLive(TableState state)
    {
        lock (_lock)
        {
            return _datasets.TryGetValue(Key(state.Definition.Project, state.Definition.DatasetId), out var dataset)
                && dataset.Tables.TryGetValue(state.Definition.TableId, out var live) && ReferenceEquals(live, state);
        }
    }

    private DatasetState Dataset(string project, string datasetId) =>
        _datasets.GetValueOrDefault(Key(project, datasetId)) ?? throw GoogleApiException.NotFound($"Not found: Dataset {project}:{datasetId}");

    private TableState Table(string project, string datasetId, string tableId)
    {
        lock (_lock)
        {
            return Dataset(project, datasetId).Tables.GetValueOrDefault(tableId) ?? throw TableNotFound(project, datasetId, tableId);
        }
    }

    private static GoogleApiException TableNotFound(string project, string datasetId, string tableId) =>
        GoogleApiException.NotFound($"Not found: Table {project}:{datasetId}.{tableId}");

    private static string Key(string project, string datasetId) => $"{project}\n{datasetId}";

    private static string JobKey(string project, string jobId) => $"{project}\n{jobId}";

    private static void ValidateSchema(IReadOnlyList<TableFieldSchema> fields, string location)
    {
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var field in fields)
        {
            if (!FieldNamePattern().IsMatch(field.Name))
            {
                throw GoogleApiException.Invalid($"Invalid field name \"{field.Name}\". Fields must contain only letters, numbers, and underscores, start with a letter or underscore, and be at most 300 characters long.");
            }

            if (!names.Add(field.Name))
            {
                throw GoogleApiException.Invalid($"Field {field.Name} already exists in schema of {location}");
            }

            if (field.Type is not ("STRING" or "BYTES" or "INTEGER" or "FLOAT" or "NUMERIC" or "BIGNUMERIC" or "BOOLEAN" or "TIMESTAMP" or "DATE" or "TIME" or "DATETIME" or "GEOGRAPHY" or "JSON" or "RECORD"))
            {
                throw GoogleApiException.Invalid($"Invalid type {field.Type} for field {field.Name}");
            }

            if (field.Mode is not (null or "NULLABLE" or "REQUIRED" or "REPEATED"))
            {
                throw GoogleApiException.Invalid($"Invalid mode {field.Mode} for field {field.Name}");
            }

            if (field.IsRecord)
            {
                if (field.Fields is not { Count: > 0 })
                {
                    throw GoogleApiException.Invalid($"Field {field.Name} is type RECORD but has no schema");
                }

                ValidateSchema(field.Fields, field.Name);
            }
        }
    }

    [GeneratedRegex("^[A-Za-z0-9_]{1,1024}$")]
    private static partial Regex DatasetIdPattern();

    [GeneratedRegex(@"^[\p{L}\p{M}\p{N}\p{Pc}\p{Pd}]{1,1024}$")]
    private static partial Regex TableIdPattern();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,299}$")]
    private static partial Regex FieldNamePattern();

    private sealed class DatasetState(StoredDataset dataset)
    {
        public StoredDataset Dataset { get; } = dataset;

        public SortedDictionary<string, TableState> Tables { get; } = new(StringComparer.Ordinal);
    }

    private sealed class TableState(StoredTable definition)
    {
        private readonly Dictionary<string, DateTimeOffset> _insertIds = new(StringComparer.Ordinal);
        private readonly Queue<(string Id, DateTimeOffset Seen)> _insertIdOrder = new();

        public Lock Lock { get; } = new();

        public StoredTable Definition { get; } = definition;

        public List<object?[]> Rows { get; } = [];

        /// <summary>False when the insertId is a duplicate within the window.</summary>
        public bool RememberInsertId(string insertId, DateTimeOffset now)
        {
            if (_insertIds.ContainsKey(insertId))
            {
                return false;
            }

            _insertIds[insertId] = now;
            _insertIdOrder.Enqueue((insertId, now));
            return true;
        }

        public void ForgetInsertIdsBefore(DateTimeOffset cutoff)
        {
            while (_insertIdOrder.TryPeek(out var oldest) && oldest.Seen < cutoff)
            {
                _insertIdOrder.Dequeue();
                _insertIds.Remove(oldest.Id);
            }
        }
    }
}

/// <summary>One row of an insertAll request.</summary>
internal sealed record InsertRow(string? InsertId, JsonObject? Json);

internal sealed record InsertErrorProto(string Reason, string Location, string DebugInfo, string Message);

internal sealed record RowInsertErrors(int Index, IReadOnlyList<InsertErrorProto> Errors);
