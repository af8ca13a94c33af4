using System.Net;
using Dataflow.Google.Core;

namespace Dataflow.Google.Firestore;

/// <summary>
/// Firestore v1 over REST: get, batchGet, commit (set, masked update, delete, preconditions) and structured
/// queries. Paths are relative to the database, e.g. <c>devices/dev-1</c>. Thread-safe.
/// </summary>
public sealed class FirestoreClient
{
    public const string ProductionEndpoint = "https://firestore.googleapis.com/";
    public const string EmulatorVariable = "FIRESTORE_EMULATOR_HOST";
    public static readonly IReadOnlyList<string> Scopes = ["https://www.googleapis.com/auth/datastore"];

    private static readonly FirestoreJsonContext Json = FirestoreJsonContext.Default;

    public FirestoreClient(GoogleRestTransport transport, string projectId, string databaseId = "(default)")
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentException.ThrowIfNullOrWhiteSpace(projectId);
        ArgumentException.ThrowIfNullOrWhiteSpace(databaseId);
        Transport = transport;
        ProjectId = projectId;
        DocumentsRoot = $"projects/{projectId}/databases/{databaseId}/documents";
    }

    public GoogleRestTransport Transport { get; }

    public string ProjectId { get; }

    /// <summary><c>projects/{project}/databases/{database}/documents</c>.</summary>
    public string DocumentsRoot { get; }

    /// <summary>Emulator mode authenticates as <c>owner</c>, which bypasses security rules.</summary>
    public static FirestoreClient Create(FirestoreOptions options, HttpClient httpClient)
    {
        ArgumentNullException.ThrowIfNull(options);
        var endpoint = GoogleEndpoint.Resolve(options.EmulatorHost, options.Endpoint, ProductionEndpoint);
        IGoogleAccessTokenSource tokens = endpoint.IsEmulator ? new StaticTokenSource("owner") : new GoogleCredentialTokenSource(options.CredentialsFile, Scopes);
        return new FirestoreClient(new GoogleRestTransport(httpClient, endpoint, tokens, options.ToRetrySettings()), options.ProjectId, options.DatabaseId);
    }

    /// <summary>The full resource name of a document path.</summary>
    public string DocumentName(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var trimmed = path.Trim('/');
        if (trimmed.StartsWith("projects/", StringComparison.Ordinal))
        {
            return trimmed;
        }

        var segments = trimmed.Split('/');
        if (segments.Length % 2 != 0 || segments.Any(string.IsNullOrEmpty))
        {
            throw new ArgumentException($"'{path}' is not a document path (collection/id[/collection/id…])", nameof(path));
        }

        return DocumentsRoot + "/" + trimmed;
    }

    /// <summary>The document, or null when it does not exist.</summary>
    public async Task<FirestoreDocument?> GetDocumentAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            var document = await Transport.SendJsonAsync(HttpMethod.Get, "v1/" + EscapePath(DocumentName(path)), Json.DocumentJson, cancellationToken);
            return ToDocument(document);
        }
        catch (GoogleApiException ex) when (ex.HttpStatus == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>The document bound to <typeparamref name="T"/>, or default when it does not exist.</summary>
    public async Task<T?> GetAsync<T>(string path, CancellationToken cancellationToken)
    {
        var document = await GetDocumentAsync(path, cancellationToken);
        return document is null ? default : document.ConvertTo<T>();
    }

    /// <summary>Reads several documents in one request; results come back in the order of <paramref name="paths"/>.</summary>
    public async Task<IReadOnlyList<FirestoreBatchGetResult>> BatchGetAsync(IEnumerable<string> paths, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var requested = paths.ToList();
        if (requested.Count == 0)
        {
            return [];
        }

        var names = requested.Select(DocumentName).ToList();
        var items = await Transport.SendJsonAsync(
            HttpMethod.Post, $"v1/{EscapePath(DocumentsRoot)}:batchGet", new BatchGetRequest(names), Json.BatchGetRequest, Json.ListBatchGetItem, cancellationToken);
        var found = new Dictionary<string, FirestoreDocument?>(StringComparer.Ordinal);
        foreach (var item in items)
        {
            if (item.Found is { Name: { } name } document)
            {
                found[name] = ToDocument(document);
            }
            else if (item.Missing is { } missing)
            {
                found[missing] = null;
            }
        }

        return [.. requested.Select((path, i) => new FirestoreBatchGetResult(path, found.GetValueOrDefault(names[i])))];
    }

    /// <summary>Applies the writes atomically: all or none.</summary>
    public async Task<FirestoreCommitResult> CommitAsync(IEnumerable<FirestoreWrite> writes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(writes);
        var wire = writes.Select(ToWire).ToList();
        var response = await Transport.SendJsonAsync(
            HttpMethod.Post, $"v1/{EscapePath(DocumentsRoot)}:commit", new CommitRequest(wire), Json.CommitRequest, Json.CommitResponse, cancellationToken);
        return new FirestoreCommitResult(response.CommitTime, [.. (response.WriteResults ?? []).Select(r => new FirestoreWriteResult(r.UpdateTime))]);
    }

    public async Task<FirestoreWriteResult> SetAsync(string path, object document, CancellationToken cancellationToken, FirestorePrecondition? precondition = null) =>
        (await CommitAsync([FirestoreWrite.Set(path, document, precondition)], cancellationToken)).WriteResults[0];

    public async Task<FirestoreWriteResult> UpdateAsync(string path, IReadOnlyDictionary<string, object?> fields, CancellationToken cancellationToken, FirestorePrecondition? precondition = null) =>
        (await CommitAsync([FirestoreWrite.Update(path, fields, precondition)], cancellationToken)).WriteResults[0];

    public async Task DeleteAsync(string path, CancellationToken cancellationToken, FirestorePrecondition? precondition = null) =>
        await CommitAsync([FirestoreWrite.Delete(path, precondition)], cancellationToken);

    /// <summary>Runs a structured query and returns the matching documents in query order.</summary>
    public async Task<IReadOnlyList<FirestoreDocument>> RunQueryAsync(FirestoreQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var parent = query.Parent is null ? DocumentsRoot : DocumentName(query.Parent);
        var filters = query.Filters.Select(ToFilter).ToList();
        var where = filters.Count switch
        {
            0 => null,
            1 => filters[0],
            _ => new FilterJson(CompositeFilter: new CompositeFilterJson("AND", filters)),
        };
        var structured = new StructuredQueryJson(
            [new CollectionSelectorJson(query.CollectionId, query.AllDescendants ? true : null)],
            where,
            query.OrderBy.Count == 0 ? null : [.. query.OrderBy.Select(o => new OrderJson(new FieldReferenceJson(FieldPath(o.FieldPath)), o.Descending ? "DESCENDING" : "ASCENDING"))],
            query.Offset,
            query.Limit);
        var items = await Transport.SendJsonAsync(
            HttpMethod.Post, $"v1/{EscapePath(parent)}:runQuery", new RunQueryRequest(structured), Json.RunQueryRequest, Json.ListRunQueryItem, cancellationToken);
        return [.. items.Where(i => i.Document is not null).Select(i => ToDocument(i.Document!))];
    }

    public async Task<IReadOnlyList<T>> QueryAsync<T>(FirestoreQuery query, CancellationToken cancellationToken) =>
        [.. (await RunQueryAsync(query, cancellationToken)).Select(d => d.ConvertTo<T>())];

    private WriteJson ToWire(FirestoreWrite write)
    {
        var name = DocumentName(write.Path);
        var precondition = write.Precondition is null ? null : new PreconditionJson(write.Precondition.Exists, write.Precondition.UpdateTime);
        return write.IsDelete
            ? new WriteJson(null, name, null, precondition)
            : new WriteJson(
                new DocumentJson(name, write.Fields, null, null),
                null,
                write.UpdateMask is null ? null : new DocumentMaskJson(write.UpdateMask),
                precondition);
    }

    private static FilterJson ToFilter(FirestoreFilter filter)
    {
        var field = new FieldReferenceJson(FieldPath(filter.FieldPath));
        switch (filter.Operator, filter.Value)
        {
            case (FirestoreOperator.Equal, null):
                return new FilterJson(UnaryFilter: new UnaryFilterJson("IS_NULL", field));
            case (FirestoreOperator.NotEqual, null):
                return new FilterJson(UnaryFilter: new UnaryFilterJson("IS_NOT_NULL", field));
            case (FirestoreOperator.Equal, double d) when double.IsNaN(d):
                return new FilterJson(UnaryFilter: new UnaryFilterJson("IS_NAN", field));
            case (FirestoreOperator.NotEqual, double d) when double.IsNaN(d):
                return new FilterJson(UnaryFilter: new UnaryFilterJson("IS_NOT_NAN", field));
        }

        var op = filter.Operator switch
        {
            FirestoreOperator.LessThan => "LESS_THAN",
            FirestoreOperator.LessThanOrEqual => "LESS_THAN_OR_EQUAL",
            FirestoreOperator.GreaterThan => "GREATER_THAN",
            FirestoreOperator.GreaterThanOrEqual => "GREATER_THAN_OR_EQUAL",
            FirestoreOperator.Equal => "EQUAL",
            FirestoreOperator.NotEqual => "NOT_EQUAL",
            FirestoreOperator.ArrayContains => "ARRAY_CONTAINS",
            FirestoreOperator.In => "IN",
            FirestoreOperator.ArrayContainsAny => "ARRAY_CONTAINS_ANY",
            FirestoreOperator.NotIn => "NOT_IN",
            _ => throw new ArgumentOutOfRangeException(nameof(filter), filter.Operator, "unknown operator"),
        };
        return new FilterJson(FieldFilter: new FieldFilterJson(field, op, FirestoreMapper.ToValue(filter.Value)));
    }

    private static string FieldPath(string path) => string.Join('.', path.Split('.').Select(FirestoreWrite.QuoteSegment));

    private static FirestoreDocument ToDocument(DocumentJson document) => new()
    {
        Name = document.Name,
        Fields = document.Fields ?? new Dictionary<string, FirestoreValue>(),
        CreateTime = document.CreateTime,
        UpdateTime = document.UpdateTime,
    };

    private static string EscapePath(string resourceName) => string.Join('/', resourceName.Split('/').Select(Uri.EscapeDataString));
}
