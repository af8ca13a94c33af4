using System.Buffers;
using System.Globalization;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Dataflow.Google.Core;

namespace Dataflow.Google.Storage;

/// <summary>
/// Cloud Storage JSON API v1 over REST: buckets, object metadata, listing, media / multipart / resumable
/// uploads, streaming uploads and downloads, with CRC-32C and MD5 verified end to end. Thread-safe.
/// </summary>
public sealed class StorageClient(GoogleRestTransport transport, string? projectId)
{
    public const string ProductionEndpoint = "https://storage.googleapis.com/";
    public const string EmulatorVariable = "STORAGE_EMULATOR_HOST";
    public const int ChunkGranularity = 256 * 1024;
    public static readonly IReadOnlyList<string> Scopes = ["https://www.googleapis.com/auth/devstorage.full_control"];

    /// <summary>Above this size <see cref="UploadAsync(string, string, ReadOnlyMemory{byte}, StorageUploadOptions?, CancellationToken)"/> switches to a resumable upload.</summary>
    public const int SingleRequestLimit = 16 * 1024 * 1024;

    private static readonly StorageJsonContext Json = StorageJsonContext.Default;

    public GoogleRestTransport Transport { get; } = transport ?? throw new ArgumentNullException(nameof(transport));

    public string? ProjectId { get; } = projectId;

    public static StorageClient Create(StorageOptions options, HttpClient httpClient)
    {
        ArgumentNullException.ThrowIfNull(options);
        var endpoint = GoogleEndpoint.Resolve(options.EmulatorHost, options.Endpoint, ProductionEndpoint);
        IGoogleAccessTokenSource tokens = endpoint.IsEmulator ? AnonymousTokenSource.Instance : new GoogleCredentialTokenSource(options.CredentialsFile, Scopes);
        return new StorageClient(new GoogleRestTransport(httpClient, endpoint, tokens, options.ToRetrySettings()), string.IsNullOrWhiteSpace(options.ProjectId) ? null : options.ProjectId);
    }

    // ---- buckets ----

    public Task<StorageBucket> CreateBucketAsync(StorageBucket bucket, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(bucket);
        ArgumentException.ThrowIfNullOrWhiteSpace(bucket.Name);
        return Transport.SendJsonAsync(HttpMethod.Post, $"storage/v1/b?project={Uri.EscapeDataString(RequireProject())}", bucket, Json.StorageBucket, Json.StorageBucket, cancellationToken);
    }

    public Task<StorageBucket> GetBucketAsync(string bucket, CancellationToken cancellationToken) =>
        Transport.SendJsonAsync(HttpMethod.Get, BucketPath(bucket), Json.StorageBucket, cancellationToken);

    /// <summary>Deletes an empty bucket (a bucket with objects answers 409).</summary>
    public Task DeleteBucketAsync(string bucket, CancellationToken cancellationToken) =>
        Transport.SendAsync(HttpMethod.Delete, BucketPath(bucket), cancellationToken);

    public async Task<StorageBucketPage> ListBucketsPageAsync(string? prefix, int maxResults, string? pageToken, CancellationToken cancellationToken)
    {
        var query = new QueryBuilder($"storage/v1/b").Add("project", RequireProject()).Add("prefix", prefix).Add("maxResults", maxResults).Add("pageToken", pageToken);
        var response = await Transport.SendJsonAsync(HttpMethod.Get, query.ToString(), Json.ListBucketsResponse, cancellationToken);
        return new StorageBucketPage(response.Items ?? [], string.IsNullOrEmpty(response.NextPageToken) ? null : response.NextPageToken);
    }

    public async IAsyncEnumerable<StorageBucket> ListBucketsAsync(string? prefix = null, int pageSize = 1000, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        string? token = null;
        do
        {
            var page = await ListBucketsPageAsync(prefix, pageSize, token, cancellationToken);
            foreach (var bucket in page.Items)
            {
                yield return bucket;
            }

            token = page.NextPageToken;
        }
        while (token is not null);
    }

    // ---- object metadata, listing, deletion ----

    public Task<StorageObject> GetObjectAsync(string bucket, string name, CancellationToken cancellationToken, long? generation = null) =>
        Transport.SendJsonAsync(HttpMethod.Get, new QueryBuilder(ObjectPath(bucket, name)).Add("generation", generation).ToString(), Json.StorageObject, cancellationToken);

    public Task DeleteObjectAsync(string bucket, string name, CancellationToken cancellationToken, long? generation = null, long? ifGenerationMatch = null) =>
        Transport.SendAsync(HttpMethod.Delete, new QueryBuilder(ObjectPath(bucket, name)).Add("generation", generation).Add("ifGenerationMatch", ifGenerationMatch).ToString(), cancellationToken);

    /// <summary>One page of objects under <paramref name="prefix"/>; with a <paramref name="delimiter"/> (usually "/")
    /// names containing it past the prefix are rolled up into <see cref="StorageObjectPage.Prefixes"/>.</summary>
    public async Task<StorageObjectPage> ListObjectsPageAsync(string bucket, string? prefix, string? delimiter, int maxResults, string? pageToken, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxResults, 1);
        var query = new QueryBuilder(BucketPath(bucket) + "/o").Add("prefix", prefix).Add("delimiter", delimiter).Add("maxResults", maxResults).Add("pageToken", pageToken);
        var response = await Transport.SendJsonAsync(HttpMethod.Get, query.ToString(), Json.ListObjectsResponse, cancellationToken);
        return new StorageObjectPage(response.Items ?? [], response.Prefixes ?? [], string.IsNullOrEmpty(response.NextPageToken) ? null : response.NextPageToken);
    }

    /// <summary>Every object under <paramref name="prefix"/>, page by page.</summary>
    public async IAsyncEnumerable<StorageObject> ListObjectsAsync(string bucket, string? prefix = null, int pageSize = 1000, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        string? token = null;
        do
        {
            var page = await ListObjectsPageAsync(bucket, prefix, null, pageSize, token, cancellationToken);
            foreach (var item in page.Items)
            {
                yield return item;
            }

            token = page.NextPageToken;
        }
        while (token is not null);
    }

    // ---- uploads ----

    /// <summary>
    /// Uploads bytes: one media request when there is no metadata, one multipart request when there is, a
    /// resumable upload above <see cref="SingleRequestLimit"/>.
    /// </summary>
    public async Task<StorageObject> UploadAsync(string bucket, string name, ReadOnlyMemory<byte> content, StorageUploadOptions? options, CancellationToken cancellationToken)
    {
        options ??= new StorageUploadOptions();
        if (content.Length > SingleRequestLimit)
        {
            using var stream = new MemoryStream(MemoryMarshal.TryGetArray(content, out var segment) ? segment.Array! : content.ToArray(), segment.Offset, content.Length, writable: false);
            return await UploadResumableAsync(bucket, name, stream, options, cancellationToken);
        }

        return options.HasMetadata
            ? await UploadMultipartAsync(bucket, name, content, options, cancellationToken)
            : await UploadMediaAsync(bucket, name, content, options, cancellationToken);
    }

    /// <summary><c>uploadType=media</c>: the bytes only (content type and preconditions from <paramref name="options"/>).</summary>
    public async Task<StorageObject> UploadMediaAsync(string bucket, string name, ReadOnlyMemory<byte> content, StorageUploadOptions? options, CancellationToken cancellationToken)
    {
        options ??= new StorageUploadOptions();
        var path = Preconditions(new QueryBuilder(UploadPath(bucket)).Add("uploadType", "media").Add("name", name), options).ToString();
        using var response = await Transport.SendAsync(
            () =>
            {
                var body = new ReadOnlyMemoryContent(content);
                body.Headers.ContentType = MediaType(options.ContentType);
                return new HttpRequestMessage(HttpMethod.Post, Transport.Resolve(path)) { Content = body };
            },
            cancellationToken);
        return await FinishSingleAsync(response, content, options, cancellationToken);
    }

    /// <summary><c>uploadType=multipart</c>: object metadata (JSON) and bytes in one <c>multipart/related</c> request.</summary>
    public async Task<StorageObject> UploadMultipartAsync(string bucket, string name, ReadOnlyMemory<byte> content, StorageUploadOptions? options, CancellationToken cancellationToken)
    {
        options ??= new StorageUploadOptions();
        var metadata = JsonSerializer.SerializeToUtf8Bytes(Resource(bucket, name, options), Json.StorageObject);
        var path = Preconditions(new QueryBuilder(UploadPath(bucket)).Add("uploadType", "multipart"), options).ToString();
        using var response = await Transport.SendAsync(
            () =>
            {
                var multipart = new MultipartContent("related", "dataflow-" + Guid.NewGuid().ToString("N"));
                var json = new ByteArrayContent(metadata);
                json.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "UTF-8" };
                var media = new ReadOnlyMemoryContent(content);
                media.Headers.ContentType = MediaType(options.ContentType);
                multipart.Add(json);
                multipart.Add(media);
                return new HttpRequestMessage(HttpMethod.Post, Transport.Resolve(path)) { Content = multipart };
            },
            cancellationToken);
        return await FinishSingleAsync(response, content, options, cancellationToken);
    }

    /// <summary>
    /// <c>uploadType=resumable</c> from any stream (it need not be seekable or have a known length): chunks of
    /// <see cref="StorageUploadOptions.ChunkSize"/>, each resumed from the server's persisted offset after a failure.
    /// </summary>
    public async Task<StorageObject> UploadResumableAsync(string bucket, string name, Stream source, StorageUploadOptions? options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        options ??= new StorageUploadOptions();
        var chunkSize = ValidChunkSize(options.ChunkSize);
        long? length = source.CanSeek ? source.Length - source.Position : null;
        using var upload = await StartResumableAsync(bucket, name, options, length, cancellationToken);

        // One byte of look-ahead tells whether a full chunk is the last one.
        var buffer = ArrayPool<byte>.Shared.Rent(chunkSize + 1);
        try
        {
            var filled = 0;
            while (true)
            {
                while (filled < chunkSize + 1)
                {
                    var read = await source.ReadAsync(buffer.AsMemory(filled, chunkSize + 1 - filled), cancellationToken);
                    if (read == 0)
                    {
                        break;
                    }

                    filled += read;
                }

                if (filled <= chunkSize)
                {
                    return (await upload.SendChunkAsync(buffer.AsMemory(0, filled), isFinal: true, cancellationToken))!;
                }

                await upload.SendChunkAsync(buffer.AsMemory(0, chunkSize), isFinal: false, cancellationToken);
                buffer[0] = buffer[chunkSize];
                filled = 1;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// A writable stream that uploads what is written as a resumable upload (e.g. wrap it in a GZipStream).
    /// Dispose it (or call <see cref="StorageUploadStream.CompleteAsync"/>) to finish the object.
    /// </summary>
    public async Task<StorageUploadStream> OpenWriteAsync(string bucket, string name, StorageUploadOptions? options, CancellationToken cancellationToken)
    {
        options ??= new StorageUploadOptions();
        var chunkSize = ValidChunkSize(options.ChunkSize);
        var upload = await StartResumableAsync(bucket, name, options, null, cancellationToken);
        return new StorageUploadStream(upload, chunkSize);
    }

    // ---- downloads ----

    /// <summary>
    /// Opens the object's bytes as a stream read straight from the response. At the end of a whole-object read
    /// the CRC-32C/MD5 from <c>x-goog-hash</c> are checked and a mismatch throws <see cref="StorageChecksumException"/>.
    /// </summary>
    public async Task<Stream> OpenReadAsync(string bucket, string name, StorageDownloadOptions? options, CancellationToken cancellationToken)
    {
        options ??= new StorageDownloadOptions();
        var path = new QueryBuilder(ObjectPath(bucket, name)).Add("alt", "media").Add("generation", options.Generation).Add("ifGenerationMatch", options.IfGenerationMatch).ToString();
        var ranged = options.RangeStart is not null || options.RangeEnd is not null;
        var response = await Transport.SendAsync(
            () =>
            {
                var request = new HttpRequestMessage(HttpMethod.Get, Transport.Resolve(path));
                if (ranged)
                {
                    request.Headers.Range = new RangeHeaderValue(options.RangeStart ?? 0, options.RangeEnd);
                }

                return request;
            },
            cancellationToken,
            HttpCompletionOption.ResponseHeadersRead);
        try
        {
            var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            var (crc, md5) = response.Headers.TryGetValues("x-goog-hash", out var hashes) ? ObjectHasher.ParseHashHeader(hashes) : (null, null);
            // Decompressive transcoding serves other bytes than the stored ones the hashes describe.
            var transcoded = response.Headers.TryGetValues("x-goog-stored-content-encoding", out var stored)
                && stored.Any(v => v.Equals("gzip", StringComparison.OrdinalIgnoreCase))
                && !response.Content.Headers.ContentEncoding.Contains("gzip");
            var verify = options.VerifyChecksums && !ranged && !transcoded && (crc is not null || md5 is not null);
            return new VerifyingReadStream(response, body, verify ? crc : null, verify ? md5 : null, $"gs://{bucket}/{name}");
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    /// <summary>Copies the object into <paramref name="destination"/>, verifying checksums; returns the bytes copied.</summary>
    public async Task<long> DownloadAsync(string bucket, string name, Stream destination, StorageDownloadOptions? options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(destination);
        await using var source = await OpenReadAsync(bucket, name, options, cancellationToken);
        var copied = 0L;
        var buffer = ArrayPool<byte>.Shared.Rent(256 * 1024);
        try
        {
            int read;
            while ((read = await source.ReadAsync(buffer, cancellationToken)) > 0)
            {
                await destination.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                copied += read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return copied;
    }

    /// <summary>Reads the whole object into memory, verifying checksums.</summary>
    public async Task<byte[]> DownloadBytesAsync(string bucket, string name, CancellationToken cancellationToken, StorageDownloadOptions? options = null)
    {
        using var memory = new MemoryStream();
        await DownloadAsync(bucket, name, memory, options, cancellationToken);
        return memory.ToArray();
    }

    // ---- helpers ----

    internal async Task<ResumableUpload> StartResumableAsync(string bucket, string name, StorageUploadOptions options, long? length, CancellationToken cancellationToken)
    {
        var metadata = JsonSerializer.SerializeToUtf8Bytes(Resource(bucket, name, options), Json.StorageObject);
        var path = Preconditions(new QueryBuilder(UploadPath(bucket)).Add("uploadType", "resumable").Add("name", name), options).ToString();
        using var response = await Transport.SendAsync(
            () =>
            {
                var request = Transport.JsonRequest(HttpMethod.Post, path, metadata);
                request.Headers.TryAddWithoutValidation("X-Upload-Content-Type", options.ContentType ?? "application/octet-stream");
                if (length is not null)
                {
                    request.Headers.TryAddWithoutValidation("X-Upload-Content-Length", length.Value.ToString(CultureInfo.InvariantCulture));
                }

                return request;
            },
            cancellationToken);
        var location = response.Headers.Location ?? throw new GoogleApiException($"starting a resumable upload of gs://{bucket}/{name} returned no session URI");
        return new ResumableUpload(Transport, location.IsAbsoluteUri ? location : Transport.Resolve(location.OriginalString.TrimStart('/')), $"gs://{bucket}/{name}", options.VerifyChecksums);
    }

    private static async Task<StorageObject> FinishSingleAsync(HttpResponseMessage response, ReadOnlyMemory<byte> content, StorageUploadOptions options, CancellationToken cancellationToken)
    {
        var stored = await GoogleRestTransport.ReadJsonAsync(response, Json.StorageObject, cancellationToken);
        if (options.VerifyChecksums)
        {
            using var hasher = new ObjectHasher();
            hasher.Append(content.Span);
            hasher.Verify(stored.Crc32c, stored.Md5Hash, $"gs://{stored.Bucket}/{stored.Name}");
        }

        return stored;
    }

    private static StorageObject Resource(string bucket, string name, StorageUploadOptions options)
    {
        ArgumentException.ThrowIfNullOrEmpty(bucket);
        ArgumentException.ThrowIfNullOrEmpty(name);
        return new StorageObject
        {
            Name = name,
            Bucket = bucket,
            ContentType = options.ContentType,
            ContentEncoding = options.ContentEncoding,
            ContentDisposition = options.ContentDisposition,
            CacheControl = options.CacheControl,
            Metadata = options.Metadata,
        };
    }

    private static QueryBuilder Preconditions(QueryBuilder query, StorageUploadOptions options) =>
        query.Add("ifGenerationMatch", options.IfGenerationMatch).Add("ifGenerationNotMatch", options.IfGenerationNotMatch).Add("ifMetagenerationMatch", options.IfMetagenerationMatch);

    private static MediaTypeHeaderValue MediaType(string? contentType) =>
        MediaTypeHeaderValue.Parse(string.IsNullOrWhiteSpace(contentType) ? "application/octet-stream" : contentType);

    private static int ValidChunkSize(int chunkSize) =>
        chunkSize > 0 && chunkSize % ChunkGranularity == 0
            ? chunkSize
            : throw new ArgumentOutOfRangeException(nameof(chunkSize), chunkSize, "the chunk size must be a positive multiple of 256 KiB");

    private string RequireProject() =>
        ProjectId ?? throw new InvalidOperationException("creating and listing buckets needs a project id (Google:Storage:ProjectId)");

    private static string BucketPath(string bucket)
    {
        ArgumentException.ThrowIfNullOrEmpty(bucket);
        return "storage/v1/b/" + Uri.EscapeDataString(bucket);
    }

    private static string UploadPath(string bucket) => "upload/" + BucketPath(bucket) + "/o";

    private static string ObjectPath(string bucket, string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        return BucketPath(bucket) + "/o/" + Uri.EscapeDataString(name);
    }

    /// <summary>Appends query parameters, skipping absent ones.</summary>
    private sealed class QueryBuilder(string path)
    {
        private readonly StringBuilder _text = new(path);

        public QueryBuilder Add(string name, string? value)
        {
            if (value is not null)
            {
                _text.Append(_text.ToString().Contains('?', StringComparison.Ordinal) ? '&' : '?').Append(name).Append('=').Append(Uri.EscapeDataString(value));
            }

            return this;
        }

        public QueryBuilder Add(string name, long? value) => Add(name, value?.ToString(CultureInfo.InvariantCulture));

        public override string ToString() => _text.ToString();
    }
}
