using System.Text.Json.Serialization;
using Dataflow.Google.Core;

namespace Dataflow.Google.Firestore;

/// <summary>A stored document: full resource name, fields and server timestamps.</summary>
public sealed record FirestoreDocument
{
    public string? Name { get; init; }

    public IReadOnlyDictionary<string, FirestoreValue> Fields { get; init; } = new Dictionary<string, FirestoreValue>();

    public DateTimeOffset? CreateTime { get; init; }

    public DateTimeOffset? UpdateTime { get; init; }

    /// <summary>The last segment of the name: the document id.</summary>
    [JsonIgnore]
    public string? Id => Name?[(Name.LastIndexOf('/') + 1)..];

    /// <summary>The fields bound to <typeparamref name="T"/> (see <see cref="FirestoreMapper"/>).</summary>
    public T ConvertTo<T>() => FirestoreMapper.FromFields<T>(Fields);
}

/// <summary>A condition the stored document must meet for a write to apply (else FAILED_PRECONDITION).</summary>
public sealed record FirestorePrecondition(bool? Exists = null, DateTimeOffset? UpdateTime = null)
{
    public static FirestorePrecondition MustExist { get; } = new(Exists: true);

    public static FirestorePrecondition MustNotExist { get; } = new(Exists: false);

    public static FirestorePrecondition LastUpdatedAt(DateTimeOffset updateTime) => new(UpdateTime: updateTime);
}

/// <summary>One write of a commit: a full set, a masked update or a delete, each with an optional precondition.</summary>
public sealed record FirestoreWrite
{
    private FirestoreWrite(string path)
    {
        Path = path;
    }

    /// <summary>Document path relative to the database, e.g. <c>devices/dev-1</c>.</summary>
    public string Path { get; }

    public IReadOnlyDictionary<string, FirestoreValue>? Fields { get; private init; }

    /// <summary>For updates: the field paths written; fields in the mask but absent from <see cref="Fields"/> are deleted.</summary>
    public IReadOnlyList<string>? UpdateMask { get; private init; }

    public bool IsDelete { get; private init; }

    public FirestorePrecondition? Precondition { get; private init; }

    /// <summary>Replaces the whole document (creating it if needed) with an object's or dictionary's fields.</summary>
    public static FirestoreWrite Set(string path, object document, FirestorePrecondition? precondition = null) =>
        new(path) { Fields = FirestoreMapper.ToFields(document), Precondition = precondition };

    /// <summary>
    /// Writes only the given fields: keys are field paths (<c>a.b</c> reaches into maps; segments that are not
    /// plain identifiers are quoted with backticks). The document must exist unless another precondition is given.
    /// </summary>
    public static FirestoreWrite Update(string path, IReadOnlyDictionary<string, object?> fields, FirestorePrecondition? precondition = null)
    {
        ArgumentNullException.ThrowIfNull(fields);
        var root = new Dictionary<string, object?>(StringComparer.Ordinal);
        var mask = new List<string>();
        foreach (var (fieldPath, value) in fields)
        {
            var segments = fieldPath.Split('.');
            var map = root;
            for (var i = 0; i < segments.Length - 1; i++)
            {
                if (!map.TryGetValue(segments[i], out var child) || child is not Dictionary<string, object?> nested)
                {
                    nested = new Dictionary<string, object?>(StringComparer.Ordinal);
                    map[segments[i]] = nested;
                }

                map = nested;
            }

            map[segments[^1]] = value;
            mask.Add(string.Join('.', segments.Select(QuoteSegment)));
        }

        return new FirestoreWrite(path) { Fields = FirestoreMapper.ToFields(root), UpdateMask = mask, Precondition = precondition ?? FirestorePrecondition.MustExist };
    }

    public static FirestoreWrite Delete(string path, FirestorePrecondition? precondition = null) =>
        new(path) { IsDelete = true, Precondition = precondition };

    internal static string QuoteSegment(string segment)
    {
        var simple = segment.Length > 0 && (char.IsAsciiLetter(segment[0]) || segment[0] == '_') && segment.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');
        return simple ? segment : "`" + segment.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("`", "\\`", StringComparison.Ordinal) + "`";
    }
}

public sealed record FirestoreWriteResult(DateTimeOffset? UpdateTime);

public sealed record FirestoreCommitResult(DateTimeOffset? CommitTime, IReadOnlyList<FirestoreWriteResult> WriteResults);

/// <summary>The outcome for one requested path of a batch get: <see cref="Document"/> is null when it does not exist.</summary>
public sealed record FirestoreBatchGetResult(string Path, FirestoreDocument? Document);

public enum FirestoreOperator
{
    LessThan,
    LessThanOrEqual,
    GreaterThan,
    GreaterThanOrEqual,
    Equal,
    NotEqual,
    ArrayContains,
    In,
    ArrayContainsAny,
    NotIn,
}

public sealed record FirestoreFilter(string FieldPath, FirestoreOperator Operator, object? Value);

public sealed record FirestoreOrder(string FieldPath, bool Descending = false);

/// <summary>A structured query over one collection (optionally under a parent document, or all collections with
/// that id): filters combined with AND, ordering, offset and limit.</summary>
public sealed record FirestoreQuery(string CollectionId)
{
    /// <summary>Document path the collection lives under; null for a root collection.</summary>
    public string? Parent { get; init; }

    public bool AllDescendants { get; init; }

    public IReadOnlyList<FirestoreFilter> Filters { get; init; } = [];

    public IReadOnlyList<FirestoreOrder> OrderBy { get; init; } = [];

    public int? Limit { get; init; }

    public int? Offset { get; init; }

    public FirestoreQuery Where(string fieldPath, FirestoreOperator op, object? value) => this with { Filters = [.. Filters, new FirestoreFilter(fieldPath, op, value)] };

    public FirestoreQuery OrderByField(string fieldPath, bool descending = false) => this with { OrderBy = [.. OrderBy, new FirestoreOrder(fieldPath, descending)] };

    public FirestoreQuery Take(int limit) => this with { Limit = limit };

    public FirestoreQuery Skip(int offset) => this with { Offset = offset };
}

internal sealed record DocumentJson(string? Name, IReadOnlyDictionary<string, FirestoreValue>? Fields, DateTimeOffset? CreateTime, DateTimeOffset? UpdateTime);

internal sealed record DocumentMaskJson(IReadOnlyList<string> FieldPaths);

internal sealed record PreconditionJson(bool? Exists, DateTimeOffset? UpdateTime);

internal sealed record WriteJson(DocumentJson? Update, string? Delete, DocumentMaskJson? UpdateMask, PreconditionJson? CurrentDocument);

internal sealed record CommitRequest(IReadOnlyList<WriteJson> Writes);

internal sealed record WriteResultJson(DateTimeOffset? UpdateTime);

internal sealed record CommitResponse(IReadOnlyList<WriteResultJson>? WriteResults, DateTimeOffset? CommitTime);

internal sealed record BatchGetRequest(IReadOnlyList<string> Documents);

internal sealed record BatchGetItem(DocumentJson? Found, string? Missing);

internal sealed record FieldReferenceJson(string FieldPath);

internal sealed record FieldFilterJson(FieldReferenceJson Field, string Op, FirestoreValue Value);

internal sealed record UnaryFilterJson(string Op, FieldReferenceJson Field);

internal sealed record CompositeFilterJson(string Op, IReadOnlyList<FilterJson> Filters);

internal sealed record FilterJson(FieldFilterJson? FieldFilter = null, UnaryFilterJson? UnaryFilter = null, CompositeFilterJson? CompositeFilter = null);

internal sealed record OrderJson(FieldReferenceJson Field, string Direction);

internal sealed record CollectionSelectorJson(string CollectionId, bool? AllDescendants);

internal sealed record StructuredQueryJson(IReadOnlyList<CollectionSelectorJson> From, FilterJson? Where, IReadOnlyList<OrderJson>? OrderBy, int? Offset, int? Limit);

internal sealed record RunQueryRequest(StructuredQueryJson StructuredQuery);

internal sealed record RunQueryItem(DocumentJson? Document);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    Converters = [typeof(TimestampJsonConverter)])]
[JsonSerializable(typeof(FirestoreValue))]
[JsonSerializable(typeof(DocumentJson))]
[JsonSerializable(typeof(CommitRequest))]
[JsonSerializable(typeof(CommitResponse))]
[JsonSerializable(typeof(BatchGetRequest))]
[JsonSerializable(typeof(List<BatchGetItem>))]
[JsonSerializable(typeof(RunQueryRequest))]
[JsonSerializable(typeof(List<RunQueryItem>))]
internal sealed partial class FirestoreJsonContext : JsonSerializerContext;
