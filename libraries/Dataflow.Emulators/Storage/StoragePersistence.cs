using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Dataflow.Emulators.Storage;

/// <summary>
/// Mirrors Cloud Storage state into a folder: one JSON file per bucket, and per object a metadata JSON file
/// plus a content file named after its generation (written first, so a crash never leaves metadata without bytes).
/// </summary>
internal sealed class StoragePersistence
{
    private readonly string _root;

    public StoragePersistence(string dataDirectory)
    {
        _root = Path.Combine(dataDirectory, "storage");
        Directory.CreateDirectory(_root);
    }

    public void SaveBucket(StoredBucket bucket)
    {
        Directory.CreateDirectory(BucketFolder(bucket.Name));
        WriteAtomically(Path.Combine(BucketFolder(bucket.Name), "bucket.json"), JsonSerializer.SerializeToUtf8Bytes(bucket, EmulatorJson.Options));
    }

    public void DeleteBucket(string name) => Directory.Delete(BucketFolder(name), recursive: true);

    public async Task WriteContentAsync(string bucket, string name, long generation, ObjectContent content, CancellationToken cancellationToken)
    {
        var path = ContentPath(bucket, name, generation);
        await using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous);
        await content.CopyToAsync(file, 0, content.Length, cancellationToken);
    }

    public void DiscardContent(string bucket, string name, long generation) => File.Delete(ContentPath(bucket, name, generation));

    public void CommitObject(StoredObject stored, long? previousGeneration)
    {
        var record = new PersistedObject(stored.Name, stored.Generation, stored.Metageneration, stored.Metadata, stored.Created, stored.Updated,
            stored.Content.Crc32C, stored.Content.Md5Hash);
        WriteAtomically(MetadataPath(stored.Bucket, stored.Name), JsonSerializer.SerializeToUtf8Bytes(record, EmulatorJson.Options));
        if (previousGeneration is { } previous && previous != stored.Generation)
        {
            File.Delete(ContentPath(stored.Bucket, stored.Name, previous));
        }
    }

    public void DeleteObject(StoredObject stored)
    {
        File.Delete(MetadataPath(stored.Bucket, stored.Name));
        File.Delete(ContentPath(stored.Bucket, stored.Name, stored.Generation));
    }

    public async Task<IReadOnlyList<(StoredBucket Bucket, IReadOnlyList<StoredObject> Objects)>> LoadAsync(CancellationToken cancellationToken)
    {
        var result = new List<(StoredBucket, IReadOnlyList<StoredObject>)>();
        foreach (var folder in Directory.EnumerateDirectories(_root))
        {
            var bucketFile = Path.Combine(folder, "bucket.json");
            if (!File.Exists(bucketFile))
            {
                continue;
            }

            var bucket = JsonSerializer.Deserialize<StoredBucket>(await File.ReadAllBytesAsync(bucketFile, cancellationToken), EmulatorJson.Options)
                ?? throw new InvalidDataException($"Empty bucket file {bucketFile}.");
            var objects = new List<StoredObject>();
            var referenced = new HashSet<string>(StringComparer.Ordinal);
            foreach (var metadataFile in Directory.EnumerateFiles(folder, "*.json"))
            {
                if (metadataFile == bucketFile)
                {
                    continue;
                }

                var record = JsonSerializer.Deserialize<PersistedObject>(await File.ReadAllBytesAsync(metadataFile, cancellationToken), EmulatorJson.Options)
                    ?? throw new InvalidDataException($"Empty object file {metadataFile}.");
                var contentPath = ContentPath(bucket.Name, record.Name, record.Generation);
                referenced.Add(contentPath);
                await using var stream = File.OpenRead(contentPath);
                using var builder = new ObjectContentBuilder(computeMd5: record.Md5Hash is not null);
                await builder.AppendFromAsync(stream, stream.Length, cancellationToken);
                var content = await builder.BuildAsync();
                objects.Add(new StoredObject(bucket.Name, record.Name, record.Generation, record.Metageneration, record.Metadata,
                    record.Created, record.Updated, content));
            }

            // Content written for uploads that never committed (crash, failed precondition) is garbage.
            foreach (var orphan in Directory.EnumerateFiles(folder, "*.bin").Where(path => !referenced.Contains(path)))
            {
                File.Delete(orphan);
            }

            result.Add((bucket, objects));
        }

        return result;
    }

    private string BucketFolder(string bucket) => Path.Combine(_root, bucket);

    private string MetadataPath(string bucket, string name) => Path.Combine(BucketFolder(bucket), ObjectKey(name) + ".json");

    private string ContentPath(string bucket, string name, long generation) =>
        Path.Combine(BucketFolder(bucket), $"{ObjectKey(name)}.{generation}.bin");

    // Object names may hold any character; a hash gives a safe, fixed-length file name.
    private static string ObjectKey(string name) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(name)));

    private static void WriteAtomically(string path, byte[] bytes)
    {
        var temporary = path + ".tmp";
        File.WriteAllBytes(temporary, bytes);
        File.Move(temporary, path, overwrite: true);
    }

    private sealed record PersistedObject(
        string Name,
        long Generation,
        long Metageneration,
        ObjectMetadata Metadata,
        DateTimeOffset Created,
        DateTimeOffset Updated,
        string Crc32C,
        string? Md5Hash);
}
