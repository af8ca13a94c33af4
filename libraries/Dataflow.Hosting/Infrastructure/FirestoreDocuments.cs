using System.Net.Http.Json;
using Dataflow.Hosting.ApplicationModel;
using Dataflow.Hosting.Processes;

namespace Dataflow.Hosting;

/// <summary>
/// Development data for the Firestore emulator: upserts string-field documents into one collection once the emulator is
/// healthy. Local only (not in the deployment manifest); idempotent, so restarting it rewrites the same documents.
/// </summary>
public sealed class FirestoreDocumentsResource : JobResource, IResourceWithParent
{
    internal FirestoreDocumentsResource(string name, FirestoreEmulatorResource emulator, string collection,
        IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> documents)
        : base(name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(collection);
        if (collection.Contains('/', StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{collection}' is not a collection id (no '/').", nameof(collection));
        }
        if (documents.Keys.FirstOrDefault(id => string.IsNullOrWhiteSpace(id) || id.Contains('/', StringComparison.Ordinal)) is { } bad)
        {
            throw new ArgumentException($"'{bad}' is not a document id (not empty, no '/').", nameof(documents));
        }
        Emulator = emulator;
        Collection = collection;
        Documents = documents;
    }

    public FirestoreEmulatorResource Emulator { get; }

    public string Collection { get; }

    /// <summary>Document id → string fields.</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> Documents { get; }

    IResource IResourceWithParent.Parent => Emulator;

    public override string Description => $"seeds {Documents.Count} documents into {Emulator.Name}/{Collection}";

    public override async Task RunAsync(ResourceRunContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        using var http = EmulatorRequests.CreateClient(Emulator.ProjectApiRoot);
        // The emulator treats "Bearer owner" as an administrator, which bypasses security rules.
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "owner");
        foreach (var (id, fields) in Documents)
        {
            var body = new { fields = fields.ToDictionary(f => f.Key, f => new { stringValue = f.Value }, StringComparer.Ordinal) };
            var path = $"databases/(default)/documents/{Uri.EscapeDataString(Collection)}/{Uri.EscapeDataString(id)}";
            // PATCH without an update mask replaces the document, creating it when missing: an upsert.
            using var response = await EmulatorRequests.SendAsync(http,
                () => new HttpRequestMessage(HttpMethod.Patch, path) { Content = JsonContent.Create(body) }, context.Log, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                var detail = await response.Content.ReadAsStringAsync(cancellationToken);
                throw new ResourceStartException($"PATCH {path} answered {(int)response.StatusCode} {response.ReasonPhrase}: {detail}");
            }
            context.Log.Write(LogStream.StandardOutput, $"wrote {Collection}/{id}");
        }
    }
}

public static class FirestoreBuilderExtensions
{
    /// <summary>Seeds <paramref name="documents"/> (id → string fields) into <paramref name="collection"/>; wait for it with <c>WaitForCompletion</c>.</summary>
    public static IResourceBuilder<FirestoreDocumentsResource> AddDocuments(this IResourceBuilder<FirestoreEmulatorResource> builder, string name,
        string collection, IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> documents)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(documents);
        var job = new FirestoreDocumentsResource(name, builder.Resource, collection, documents);
        job.Annotations.Add(new ExcludeFromManifestAnnotation());
        return builder.ApplicationBuilder.AddResource(job);
    }
}
