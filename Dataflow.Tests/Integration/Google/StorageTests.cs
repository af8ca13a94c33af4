using System.IO.Compression;
using System.Net;
using Dataflow.Emulators;
using GoogleApiException = Dataflow.Google.Core.GoogleApiException;
using Dataflow.Google.Core;
using Dataflow.Google.Storage;

namespace Dataflow.Tests.Integration.Google;

/// <summary>The Storage client against the in-process Cloud Storage stand-in.</summary>
[Trait("Category", "Integration")]
public sealed class StorageTests : IAsyncLifetime
{
    private RunningEmulator? _emulator;
    private StorageClient _client = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _emulator = await EmulatorHost.StartAsync(new EmulatorOptions(), Ct);
        _client = Client(_emulator.HostPort);
    }

    public async ValueTask DisposeAsync()
    {
        if (_emulator is not null)
        {
            await _emulator.DisposeAsync();
        }
    }

    private static StorageClient Client(string hostPort) => StorageClient.Create(
        new StorageOptions { ProjectId = "proj", EmulatorHost = hostPort, MaxAttempts = 4, InitialBackoff = TimeSpan.FromMilliseconds(10), MaxBackoff = TimeSpan.FromMilliseconds(50) },
        GoogleHttp.CreateHttpClient(TimeSpan.FromSeconds(60)));

    private static byte[] RandomBytes(int length)
    {
        var data = new byte[length];
        Random.Shared.NextBytes(data);
        return data;
    }

    private async Task<string> BucketAsync()
    {
        var name = GoogleTestClients.NewId("bucket");
        await _client.CreateBucketAsync(new StorageBucket { Name = name, Location = "EU" }, Ct);
        return name;
    }

    [Fact]
    public async Task Bucket_is_created_read_listed_and_deleted()
    {
        var name = await BucketAsync();

        var bucket = await _client.GetBucketAsync(name, Ct);
        var listed = new List<string>();
        await foreach (var b in _client.ListBucketsAsync(cancellationToken: Ct))
        {
            listed.Add(b.Name!);
        }

        await _client.DeleteBucketAsync(name, Ct);
        var missing = await Assert.ThrowsAsync<GoogleApiException>(() => _client.GetBucketAsync(name, Ct));

        Assert.Equal(name, bucket.Name);
        Assert.Equal("EU", bucket.Location);
        Assert.Contains(name, listed);
        Assert.Equal(HttpStatusCode.NotFound, missing.HttpStatus);
    }

    [Fact]
    public async Task Media_upload_round_trips_with_checksums_and_metadata_read_back()
    {
        var bucket = await BucketAsync();
        var data = RandomBytes(70_000);

        var stored = await _client.UploadMediaAsync(bucket, "dir/a b.bin", data, new StorageUploadOptions { ContentType = "application/x-test" }, Ct);
        var fetched = await _client.GetObjectAsync(bucket, "dir/a b.bin", Ct);
        var downloaded = await _client.DownloadBytesAsync(bucket, "dir/a b.bin", Ct);

        Assert.Equal(data, downloaded);
        Assert.Equal(data.Length, fetched.Size);
        Assert.Equal("application/x-test", fetched.ContentType);
        Assert.Equal(Crc32C.ToBase64(Crc32C.Compute(data)), fetched.Crc32c);
        Assert.Equal(stored.Generation, fetched.Generation);
    }

    [Fact]
    public async Task Multipart_upload_stores_custom_metadata()
    {
        var bucket = await BucketAsync();

        await _client.UploadMultipartAsync(bucket, "meta.json", "{}"u8.ToArray(), new StorageUploadOptions
        {
            ContentType = "application/json",
            CacheControl = "no-cache",
            Metadata = new Dictionary<string, string> { ["batchKey"] = "2024-05-01/uplinks" },
        }, Ct);
        var fetched = await _client.GetObjectAsync(bucket, "meta.json", Ct);

        Assert.Equal("2024-05-01/uplinks", fetched.Metadata!["batchKey"]);
        Assert.Equal("no-cache", fetched.CacheControl);
        Assert.Equal("application/json", fetched.ContentType);
    }

    [Fact]
    public async Task Resumable_upload_of_a_non_seekable_stream_in_chunks_round_trips()
    {
        var bucket = await BucketAsync();
        var data = RandomBytes((3 * 256 * 1024) + 12_345);

        var stored = await _client.UploadResumableAsync(bucket, "big.bin", new ForwardOnlyStream(data), new StorageUploadOptions { ChunkSize = 256 * 1024 }, Ct);

        Assert.Equal(data.Length, stored.Size);
        Assert.Equal(data, await _client.DownloadBytesAsync(bucket, "big.bin", Ct));
    }

    [Fact]
    public async Task Gzip_written_into_an_upload_stream_is_stored_and_reads_back()
    {
        var bucket = await BucketAsync();
        var lines = string.Join('\n', Enumerable.Range(0, 50_000).Select(i => $"{{\"id\":{i},\"payload\":\"{Guid.NewGuid()}\"}}"));

        await using (var upload = await _client.OpenWriteAsync(bucket, "archive.jsonl.gz", new StorageUploadOptions { ContentType = "application/gzip", ChunkSize = 256 * 1024 }, Ct))
        {
            await using (var gzip = new GZipStream(upload, CompressionLevel.Fastest, leaveOpen: true))
            {
                await gzip.WriteAsync(System.Text.Encoding.UTF8.GetBytes(lines), Ct);
            }

            var stored = await upload.CompleteAsync(Ct);
            Assert.True(stored.Size > 256 * 1024, "the archive spans several chunks");
        }

        await using var read = await _client.OpenReadAsync(bucket, "archive.jsonl.gz", null, Ct);
        await using var gunzip = new GZipStream(read, CompressionMode.Decompress);
        using var reader = new StreamReader(gunzip);
        Assert.Equal(lines, await reader.ReadToEndAsync(Ct));
    }

    [Fact]
    public async Task Listing_with_prefix_delimiter_and_paging_sees_every_object_once()
    {
        var bucket = await BucketAsync();
        string[] names = ["logs/a.txt", "logs/b.txt", "logs/c.txt", "logs/2024/x.txt", "logs/2025/y.txt", "other.txt"];
        foreach (var name in names)
        {
            await _client.UploadMediaAsync(bucket, name, "x"u8.ToArray(), null, Ct);
        }

        var items = new List<string>();
        var prefixes = new List<string>();
        string? token = null;
        var pages = 0;
        do
        {
            var page = await _client.ListObjectsPageAsync(bucket, "logs/", "/", 2, token, Ct);
            items.AddRange(page.Items.Select(i => i.Name!));
            prefixes.AddRange(page.Prefixes);
            token = page.NextPageToken;
            pages++;
        }
        while (token is not null);

        var all = new List<string>();
        await foreach (var o in _client.ListObjectsAsync(bucket, "logs/", pageSize: 2, Ct))
        {
            all.Add(o.Name!);
        }

        Assert.Equal(["logs/a.txt", "logs/b.txt", "logs/c.txt"], items.Order());
        Assert.Equal(["logs/2024/", "logs/2025/"], prefixes.Order());
        Assert.True(pages > 1);
        Assert.Equal(names.Where(n => n.StartsWith("logs/", StringComparison.Ordinal)).Order(), all.Order());
    }

    [Fact]
    public async Task Create_only_if_absent_fails_with_412_when_the_object_exists()
    {
        var bucket = await BucketAsync();
        var onlyIfAbsent = new StorageUploadOptions { IfGenerationMatch = 0 };
        await _client.UploadMediaAsync(bucket, "once", "first"u8.ToArray(), onlyIfAbsent, Ct);

        var error = await Assert.ThrowsAsync<GoogleApiException>(() => _client.UploadMediaAsync(bucket, "once", "second"u8.ToArray(), onlyIfAbsent, Ct));

        Assert.Equal(HttpStatusCode.PreconditionFailed, error.HttpStatus);
        Assert.Equal("first"u8.ToArray(), await _client.DownloadBytesAsync(bucket, "once", Ct));
    }

    [Fact]
    public async Task Deleted_object_is_gone_and_ranged_read_returns_the_slice()
    {
        var bucket = await BucketAsync();
        await _client.UploadMediaAsync(bucket, "range", "0123456789"u8.ToArray(), null, Ct);

        var slice = await _client.DownloadBytesAsync(bucket, "range", Ct, new StorageDownloadOptions { RangeStart = 2, RangeEnd = 5 });
        await _client.DeleteObjectAsync(bucket, "range", Ct);
        var missing = await Assert.ThrowsAsync<GoogleApiException>(() => _client.GetObjectAsync(bucket, "range", Ct));

        Assert.Equal("2345"u8.ToArray(), slice);
        Assert.Equal("NOT_FOUND", missing.Status);
    }

    [Fact]
    public async Task Resumable_upload_resumes_after_a_chunk_fails_on_the_way_to_the_server()
    {
        var bucket = await BucketAsync();
        var data = RandomBytes((3 * 256 * 1024) + 99);
        using var forward = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false });
        var chunkPuts = 0;
        await using var proxy = await MisbehavingServer.StartAsync(async (context, _) =>
        {
            // The second chunk never reaches the stand-in: the proxy answers 503 in its place.
            if (context.Request.Method == "PUT" && context.Request.ContentLength > 0 && Interlocked.Increment(ref chunkPuts) == 2)
            {
                await MisbehavingServer.UnavailableAsync(context);
                return;
            }

            await ForwardAsync(context, forward, _emulator!.BaseUri);
        });
        var client = Client(proxy.HostPort);

        var stored = await client.UploadResumableAsync(bucket, "resumed.bin", new ForwardOnlyStream(data), new StorageUploadOptions { ChunkSize = 256 * 1024 }, Ct);

        Assert.Equal(data.Length, stored.Size);
        Assert.True(chunkPuts >= 5, $"4 chunks plus the failed one went out, saw {chunkPuts}");
        Assert.Equal(data, await _client.DownloadBytesAsync(bucket, "resumed.bin", Ct));
    }

    private static async Task ForwardAsync(Microsoft.AspNetCore.Http.HttpContext context, HttpClient forward, Uri target)
    {
        var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), new Uri(target, context.Request.Path + context.Request.QueryString));
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        request.Content = new ByteArrayContent(body.ToArray());
        foreach (var header in context.Request.Headers)
        {
            if (!request.Headers.TryAddWithoutValidation(header.Key, header.Value.ToArray()))
            {
                request.Content.Headers.TryAddWithoutValidation(header.Key, header.Value.ToArray());
            }
        }

        request.Headers.Host = null;
        using var response = await forward.SendAsync(request);
        context.Response.StatusCode = (int)response.StatusCode;
        foreach (var header in response.Headers.Concat(response.Content.Headers))
        {
            if (header.Key.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            // Session URIs must point back through the proxy.
            context.Response.Headers[header.Key] = header.Key.Equals("Location", StringComparison.OrdinalIgnoreCase)
                ? header.Value.First().Replace(target.Authority, context.Request.Host.Value, StringComparison.Ordinal)
                : header.Value.ToArray();
        }

        await response.Content.CopyToAsync(context.Response.Body);
    }

    private sealed class ForwardOnlyStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }
}
