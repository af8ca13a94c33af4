using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Dataflow.Google.Core;
using Dataflow.Google.Storage;

namespace Dataflow.Tests.Unit.Google;

[Trait("Category", "Unit")]
public sealed class StorageTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static StorageClient Client(FakeHttpHandler handler) =>
        new(new GoogleRestTransport(new HttpClient(handler), new GoogleEndpoint(new Uri("http://gcs.test/"), true), AnonymousTokenSource.Instance,
            new RetrySettings { MaxAttempts = 4, InitialBackoff = TimeSpan.FromMilliseconds(1), MaxBackoff = TimeSpan.FromMilliseconds(2) }), "proj");

#pragma warning disable CA5351 // Cloud Storage's integrity checksum, not security.
    private static string Md5(byte[] data) => Convert.ToBase64String(MD5.HashData(data));
#pragma warning restore CA5351

    private static string ObjectJson(byte[] data, string? crc = null) => JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["name"] = "o",
        ["bucket"] = "b",
        ["size"] = data.Length.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["generation"] = "1700000000000001",
        ["crc32c"] = crc ?? Crc32C.ToBase64(Crc32C.Compute(data)),
        ["md5Hash"] = Md5(data),
    });

    [Theory]
    [InlineData("", 0x00000000u)]
    [InlineData("a", 0xC1D04330u)]
    [InlineData("123456789", 0xE3069283u)]
    [InlineData("The quick brown fox jumps over the lazy dog", 0x22620404u)]
    public void Crc32c_matches_the_castagnoli_check_values(string text, uint expected) =>
        Assert.Equal(expected, Crc32C.Compute(Encoding.ASCII.GetBytes(text)));

    [Fact]
    public void Crc32c_is_the_same_incrementally_in_hardware_and_in_software()
    {
        var data = new byte[100_003];
        new Random(7).NextBytes(data);
        var incremental = new Crc32C();
        incremental.Append(data.AsSpan(0, 1));
        incremental.Append(data.AsSpan(1, 50_000));
        incremental.Append(data.AsSpan(50_001));

        var software = ~Crc32C.UpdateSoftware(~0u, data);

        Assert.Equal(software, Crc32C.Compute(data));
        Assert.Equal(software, incremental.Value);
        Assert.Equal("AAAAAA==", Crc32C.ToBase64(Crc32C.Compute([])));
    }

    [Fact]
    public async Task Resumable_upload_resumes_from_the_persisted_offset_after_a_failed_chunk()
    {
        const int chunk = 256 * 1024;
        var data = new byte[(2 * chunk) + 1000];
        new Random(1).NextBytes(data);
        var ranges = new List<string>();
        var putCount = 0;
        var handler = new FakeHttpHandler((request, _) =>
        {
            if (request.Method == HttpMethod.Post)
            {
                var started = new HttpResponseMessage(HttpStatusCode.OK);
                started.Headers.Location = new Uri("http://gcs.test/upload/storage/v1/b/b/o?uploadType=resumable&upload_id=xyz");
                return started;
            }

            var range = request.Headers["Content-Range"];
            ranges.Add(range);
            putCount++;
            if (putCount == 2)
            {
                // The second chunk dies half-way: the server kept the first half of it.
                return new HttpResponseMessage(HttpStatusCode.ServiceUnavailable);
            }

            if (range == "bytes */*")
            {
                var status = new HttpResponseMessage((HttpStatusCode)308);
                status.Headers.TryAddWithoutValidation("Range", $"bytes=0-{chunk + (chunk / 2) - 1}");
                return status;
            }

            if (range.EndsWith("/*", StringComparison.Ordinal))
            {
                var last = long.Parse(range.Split('-')[1].Split('/')[0], System.Globalization.CultureInfo.InvariantCulture);
                var incomplete = new HttpResponseMessage((HttpStatusCode)308);
                incomplete.Headers.TryAddWithoutValidation("Range", $"bytes=0-{last}");
                return incomplete;
            }

            return FakeHttpHandler.Json(HttpStatusCode.OK, ObjectJson(data));
        });

        // A non-seekable source: the client cannot rewind, only resume.
        using var source = new NonSeekableStream(data);
        var stored = await Client(handler).UploadResumableAsync("b", "o", source, new StorageUploadOptions { ChunkSize = chunk }, Ct);

        Assert.Equal(data.Length, stored.Size);
        Assert.Equal(
        [
            $"bytes 0-{chunk - 1}/*",
            $"bytes {chunk}-{(2 * chunk) - 1}/*",
            "bytes */*",
            $"bytes {chunk + (chunk / 2)}-{(2 * chunk) - 1}/*",
            $"bytes {2 * chunk}-{data.Length - 1}/{data.Length}",
        ], ranges);
    }

    [Fact]
    public async Task Upload_whose_stored_checksum_differs_is_reported()
    {
        var data = "payload"u8.ToArray();
        var handler = new FakeHttpHandler((_, _) => FakeHttpHandler.Json(HttpStatusCode.OK, ObjectJson(data, crc: "AAAAAA==")));

        var error = await Assert.ThrowsAsync<StorageChecksumException>(() => Client(handler).UploadMediaAsync("b", "o", data, null, Ct));

        Assert.Contains("CRC-32C", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Download_whose_bytes_do_not_match_x_goog_hash_throws_at_the_end()
    {
        var handler = new FakeHttpHandler((_, _) =>
        {
            var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent("corrupted"u8.ToArray()) };
            response.Headers.TryAddWithoutValidation("x-goog-hash", $"crc32c={Crc32C.ToBase64(Crc32C.Compute("original"u8))},md5={Md5("original"u8.ToArray())}");
            return response;
        });

        await Assert.ThrowsAsync<StorageChecksumException>(() => Client(handler).DownloadBytesAsync("b", "o", Ct));
    }

    [Fact]
    public async Task Object_names_are_escaped_as_one_path_segment_and_preconditions_sent()
    {
        var data = "x"u8.ToArray();
        var handler = new FakeHttpHandler((_, _) => FakeHttpHandler.Json(HttpStatusCode.OK, ObjectJson(data)));
        var client = Client(handler);

        await client.GetObjectAsync("b", "dir/sub dir/ä.json", Ct);
        await client.UploadMediaAsync("b", "dir/a b", data, new StorageUploadOptions { IfGenerationMatch = 0, ContentType = "text/plain" }, Ct);

        var requests = handler.Requests.ToArray();
        Assert.Equal("/storage/v1/b/b/o/dir%2Fsub%20dir%2F%C3%A4.json", requests[0].Uri.AbsolutePath);
        Assert.Equal("?uploadType=media&name=dir%2Fa%20b&ifGenerationMatch=0", requests[1].Uri.Query);
        Assert.Equal("text/plain", requests[1].Headers["Content-Type"]);
    }

    [Fact]
    public async Task Chunk_size_must_be_a_multiple_of_256_KiB()
    {
        var handler = new FakeHttpHandler((_, _) => FakeHttpHandler.Json(HttpStatusCode.OK, "{}"));

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() =>
            Client(handler).UploadResumableAsync("b", "o", new MemoryStream([1]), new StorageUploadOptions { ChunkSize = 100_000 }, Ct));
        Assert.Equal(0, handler.Count);
    }

    private sealed class NonSeekableStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;

        public override long Length => throw new NotSupportedException();
    }
}
