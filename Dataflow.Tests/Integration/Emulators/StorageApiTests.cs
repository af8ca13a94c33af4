using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Dataflow.Emulators;

namespace Dataflow.Tests.Integration.Emulators;

[Trait("Category", "Integration")]
public sealed class StorageApiTests(EmulatorFixture fixture) : IClassFixture<EmulatorFixture>
{
    private readonly HttpClient _http = fixture.Http;
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Bucket_insert_get_list_and_delete_round_trip()
    {
        var name = EmulatorFixture.NewName("bkt");
        var created = await (await _http.PostJsonAsync("/storage/v1/b?project=proj-a", new { name, location = "eu" })).JsonAsync();
        Assert.Equal("storage#bucket", (string?)created["kind"]);
        Assert.Equal("EU", (string?)created["location"]);

        var fetched = await (await _http.GetAsync($"/storage/v1/b/{name}", Ct)).JsonAsync();
        Assert.Equal(name, (string?)fetched["name"]);
        var listed = await (await _http.GetAsync("/storage/v1/b?project=proj-a", Ct)).JsonAsync();
        Assert.Contains(name, listed["items"]!.AsArray().Select(b => (string?)b!["name"]));
        var otherProject = await (await _http.GetAsync("/storage/v1/b?project=proj-b", Ct)).JsonAsync();
        Assert.DoesNotContain(name, otherProject["items"]!.AsArray().Select(b => (string?)b!["name"]));

        Assert.Equal(HttpStatusCode.NoContent, (await _http.DeleteAsync($"/storage/v1/b/{name}", Ct)).StatusCode);
        var (reason, _) = await (await _http.GetAsync($"/storage/v1/b/{name}", Ct)).GoogleErrorAsync(HttpStatusCode.NotFound);
        Assert.Equal("notFound", reason);
    }

    [Fact]
    public async Task Creating_an_existing_bucket_returns_409_and_an_invalid_name_400()
    {
        var name = await CreateBucketAsync();

        var (conflict, _) = await (await _http.PostJsonAsync("/storage/v1/b?project=p", new { name })).GoogleErrorAsync(HttpStatusCode.Conflict);
        var (invalid, _) = await (await _http.PostJsonAsync("/storage/v1/b?project=p", new { name = "Bad_Name!" })).GoogleErrorAsync(HttpStatusCode.BadRequest);
        var (required, _) = await (await _http.PostJsonAsync("/storage/v1/b", new { name = "no-project" })).GoogleErrorAsync(HttpStatusCode.BadRequest);

        Assert.Equal("conflict", conflict);
        Assert.Equal("invalid", invalid);
        Assert.Equal("required", required);
    }

    [Fact]
    public async Task Deleting_a_bucket_that_still_holds_objects_returns_409()
    {
        var bucket = await CreateBucketAsync();
        await UploadAsync(bucket, "keep.txt", "x");

        var (reason, message) = await (await _http.DeleteAsync($"/storage/v1/b/{bucket}", Ct)).GoogleErrorAsync(HttpStatusCode.Conflict);

        Assert.Equal("conflict", reason);
        Assert.Contains("not empty", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Media_upload_reports_size_checksums_and_generation_and_downloads_back()
    {
        var bucket = await CreateBucketAsync();
        var data = RandomBytes(100_000);

        var created = await UploadAsync(bucket, "dir/sub dir/file+1.bin", data, "application/x-test");

        Assert.Equal("dir/sub dir/file+1.bin", (string?)created["name"]);
        Assert.Equal("100000", (string?)created["size"]);
        Assert.Equal("application/x-test", (string?)created["contentType"]);
        Assert.Equal(Md5(data), (string?)created["md5Hash"]);
        Assert.Equal(Crc32C(data), (string?)created["crc32c"]);
        Assert.Equal("1", (string?)created["metageneration"]);
        Assert.True(long.Parse((string)created["generation"]!, System.Globalization.CultureInfo.InvariantCulture) > 0);

        var path = $"/storage/v1/b/{bucket}/o/{Uri.EscapeDataString("dir/sub dir/file+1.bin")}";
        var media = await _http.GetAsync(path + "?alt=media", Ct);
        Assert.Equal(HttpStatusCode.OK, media.StatusCode);
        Assert.Equal(data, await media.Content.ReadAsByteArrayAsync(Ct));
        Assert.Equal($"crc32c={Crc32C(data)},md5={Md5(data)}", string.Join(',', media.Headers.GetValues("X-Goog-Hash")));
        Assert.Equal((string?)created["generation"], media.Headers.GetValues("X-Goog-Generation").Single());
        var viaDownloadPath = await _http.GetByteArrayAsync("/download" + path + "?alt=media", Ct);
        Assert.Equal(data, viaDownloadPath);
        var metadata = await (await _http.GetAsync(path + "?projection=full&prettyPrint=false&fields=name,size&quotaUser=q&key=k&alt=json", Ct)).JsonAsync();
        Assert.Equal("100000", (string?)metadata["size"]);
    }

    [Fact]
    public async Task Head_returns_the_media_headers_without_a_body()
    {
        var bucket = await CreateBucketAsync();
        await UploadAsync(bucket, "h.txt", "hello");

        using var request = new HttpRequestMessage(HttpMethod.Head, $"/download/storage/v1/b/{bucket}/o/h.txt?alt=media");
        var response = await _http.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(5, response.Content.Headers.ContentLength);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync(Ct));
        Assert.Single(response.Headers.GetValues("X-Goog-Generation"));
    }

    [Fact]
    public async Task Bucket_listing_pages_with_prefix_and_includeTrailingDelimiter_lists_folder_objects()
    {
        var project = "paging-" + Guid.NewGuid().ToString("N")[..8];
        var names = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var name = $"{project}-{i}";
            await (await _http.PostJsonAsync($"/storage/v1/b?project={project}", new { name })).JsonAsync();
            names.Add(name);
        }

        var first = await (await _http.GetAsync($"/storage/v1/b?project={project}&maxResults=2&prefix={project}", Ct)).JsonAsync();
        var second = await (await _http.GetAsync($"/storage/v1/b?project={project}&maxResults=2&pageToken={(string)first["nextPageToken"]!}", Ct)).JsonAsync();
        Assert.Equal(names, first["items"]!.AsArray().Concat(second["items"]!.AsArray()).Select(b => (string?)b!["name"]));
        Assert.Null(second["nextPageToken"]);

        var bucket = names[0];
        await UploadAsync(bucket, "folder/", string.Empty);
        await UploadAsync(bucket, "folder/file", "x");
        var listing = await (await _http.GetAsync($"/storage/v1/b/{bucket}/o?delimiter=/&includeTrailingDelimiter=true", Ct)).JsonAsync();
        Assert.Equal(["folder/"], listing["prefixes"]!.AsArray().Select(p => (string?)p));
        Assert.Equal(["folder/"], listing["items"]!.AsArray().Select(i => (string?)i!["name"]));
    }

    [Fact]
    public async Task Any_bearer_token_is_accepted()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/storage/v1/b?project=p") { Content = JsonContent(new { name = EmulatorFixture.NewName("tok") }) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "ya29.not-a-real-token");

        await (await _http.SendAsync(request, Ct)).JsonAsync();
    }

    [Fact]
    public async Task Multipart_upload_stores_metadata_and_verifies_the_given_md5()
    {
        var bucket = await CreateBucketAsync();
        var data = Encoding.UTF8.GetBytes("{\"hello\":\"world\"}");

        var created = await (await _http.SendAsync(Multipart(bucket, new { name = "doc.json", metadata = new { owner = "me" }, md5Hash = Md5(data) }, data, "application/json"), Ct)).JsonAsync();

        Assert.Equal("application/json", (string?)created["contentType"]);
        Assert.Equal("me", (string?)created["metadata"]!["owner"]);
        Assert.Equal(data, await _http.GetByteArrayAsync($"/storage/v1/b/{bucket}/o/doc.json?alt=media", Ct));

        var (reason, message) = await (await _http.SendAsync(Multipart(bucket, new { name = "bad.json", md5Hash = Md5([1, 2, 3]) }, data, "application/json"), Ct))
            .GoogleErrorAsync(HttpStatusCode.BadRequest);
        Assert.Equal("invalid", reason);
        Assert.Contains("MD5", message, StringComparison.Ordinal);
        await (await _http.GetAsync($"/storage/v1/b/{bucket}/o/bad.json", Ct)).GoogleErrorAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Range_requests_return_206_with_content_range_and_416_when_unsatisfiable()
    {
        var bucket = await CreateBucketAsync();
        var data = RandomBytes(1000);
        await UploadAsync(bucket, "r.bin", data, "application/octet-stream");
        var path = $"/storage/v1/b/{bucket}/o/r.bin?alt=media";

        var middle = await GetRangeAsync(path, "bytes=10-19");
        Assert.Equal(HttpStatusCode.PartialContent, middle.StatusCode);
        Assert.Equal("bytes 10-19/1000", middle.Content.Headers.ContentRange!.ToString());
        Assert.Equal(data[10..20], await middle.Content.ReadAsByteArrayAsync(Ct));
        Assert.Equal(data[^3..], await (await GetRangeAsync(path, "bytes=-3")).Content.ReadAsByteArrayAsync(Ct));
        Assert.Equal(data[995..], await (await GetRangeAsync(path, "bytes=995-")).Content.ReadAsByteArrayAsync(Ct));
        Assert.Equal(data[990..], await (await GetRangeAsync(path, "bytes=990-5000")).Content.ReadAsByteArrayAsync(Ct));

        var (reason, _) = await (await GetRangeAsync(path, "bytes=1000-")).GoogleErrorAsync(HttpStatusCode.RequestedRangeNotSatisfiable);
        Assert.Equal("requestedRangeNotSatisfiable", reason);
    }

    [Fact]
    public async Task Listing_with_prefix_delimiter_and_small_pages_visits_everything_once()
    {
        var bucket = await CreateBucketAsync();
        string[] names = ["a/1", "a/2", "a/x/3", "b/1", "c", "d", "e/"];
        foreach (var name in names)
        {
            await UploadAsync(bucket, name, name);
        }

        var (items, prefixes, pages) = await ListAllAsync(bucket, "delimiter=/&maxResults=2");
        Assert.Equal(["c", "d"], items);
        Assert.Equal(["a/", "b/", "e/"], prefixes);
        Assert.Equal(3, pages);

        var (underA, subPrefixes, _) = await ListAllAsync(bucket, "prefix=a/&delimiter=/&maxResults=1");
        Assert.Equal(["a/1", "a/2"], underA);
        Assert.Equal(["a/x/"], subPrefixes);

        var (flat, noPrefixes, flatPages) = await ListAllAsync(bucket, "maxResults=3");
        Assert.Equal(names.Order(StringComparer.Ordinal), flat);
        Assert.Empty(noPrefixes);
        Assert.Equal(3, flatPages);

        var (range, _, _) = await ListAllAsync(bucket, "startOffset=a/2&endOffset=c");
        Assert.Equal(["a/2", "a/x/3", "b/1"], range);
    }

    [Fact]
    public async Task Generation_preconditions_guard_writes_and_deletes_with_412_and_reads_with_412_or_304()
    {
        var bucket = await CreateBucketAsync();
        var first = await UploadAsync(bucket, "p.txt", "v1", query: "&ifGenerationMatch=0");
        var generation = (string)first["generation"]!;

        var (reason, _) = await (await UploadRawAsync(bucket, "p.txt", "v2", "&ifGenerationMatch=0")).GoogleErrorAsync(HttpStatusCode.PreconditionFailed);
        Assert.Equal("conditionNotMet", reason);
        await (await UploadRawAsync(bucket, "p.txt", "v2", "&ifGenerationMatch=12345")).GoogleErrorAsync(HttpStatusCode.PreconditionFailed);
        await (await UploadRawAsync(bucket, "p.txt", "v2", "&ifMetagenerationMatch=7")).GoogleErrorAsync(HttpStatusCode.PreconditionFailed);

        var second = await UploadAsync(bucket, "p.txt", "v2", query: $"&ifGenerationMatch={generation}");
        var secondGeneration = (string)second["generation"]!;
        Assert.NotEqual(generation, secondGeneration);
        Assert.Equal("v2", await _http.GetStringAsync($"/storage/v1/b/{bucket}/o/p.txt?alt=media", Ct));

        Assert.Equal(HttpStatusCode.NotModified, (await _http.GetAsync($"/storage/v1/b/{bucket}/o/p.txt?ifGenerationNotMatch={secondGeneration}", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotModified, (await _http.GetAsync($"/storage/v1/b/{bucket}/o/p.txt?alt=media&ifMetagenerationNotMatch=1", Ct)).StatusCode);
        await (await _http.GetAsync($"/storage/v1/b/{bucket}/o/p.txt?ifGenerationMatch={generation}", Ct)).GoogleErrorAsync(HttpStatusCode.PreconditionFailed);
        Assert.Equal("v2", await _http.GetStringAsync($"/storage/v1/b/{bucket}/o/p.txt?alt=media&ifGenerationNotMatch={generation}", Ct));
        await (await _http.GetAsync($"/storage/v1/b/{bucket}/o/p.txt?generation={generation}", Ct)).GoogleErrorAsync(HttpStatusCode.NotFound);
        await (await _http.DeleteAsync($"/storage/v1/b/{bucket}/o/p.txt?ifGenerationMatch={generation}", Ct)).GoogleErrorAsync(HttpStatusCode.PreconditionFailed);
        Assert.Equal(HttpStatusCode.NoContent, (await _http.DeleteAsync($"/storage/v1/b/{bucket}/o/p.txt?ifGenerationMatch={secondGeneration}", Ct)).StatusCode);
        await (await _http.DeleteAsync($"/storage/v1/b/{bucket}/o/p.txt", Ct)).GoogleErrorAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Concurrent_creates_with_ifGenerationMatch_0_let_exactly_one_writer_win()
    {
        var bucket = await CreateBucketAsync();

        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => UploadRawAsync(bucket, "once.txt", $"writer {i}", "&ifGenerationMatch=0")));

        var winner = Assert.Single(responses, r => r.StatusCode == HttpStatusCode.OK);
        Assert.All(responses.Where(r => r != winner), r => Assert.Equal(HttpStatusCode.PreconditionFailed, r.StatusCode));
        var stored = await _http.GetStringAsync($"/storage/v1/b/{bucket}/o/once.txt?alt=media", Ct);
        Assert.Equal((string?)(await winner.JsonAsync())["md5Hash"], Md5(Encoding.UTF8.GetBytes(stored)));
    }

    [Fact]
    public async Task Patch_merges_metadata_bumps_metageneration_and_honours_ifMetagenerationMatch()
    {
        var bucket = await CreateBucketAsync();
        await (await _http.SendAsync(Multipart(bucket, new { name = "m.txt", metadata = new { a = "1", b = "2" } }, "x"u8.ToArray(), "text/plain"), Ct)).JsonAsync();
        var path = $"/storage/v1/b/{bucket}/o/m.txt";

        var patched = await (await _http.PatchAsync(path + "?ifMetagenerationMatch=1", JsonContent(new JsonObject
        {
            ["contentType"] = "text/markdown",
            ["metadata"] = new JsonObject { ["a"] = null, ["c"] = "3" },
        }), Ct)).JsonAsync();

        Assert.Equal("2", (string?)patched["metageneration"]);
        Assert.Equal("text/markdown", (string?)patched["contentType"]);
        Assert.Equal("""{"b":"2","c":"3"}""", patched["metadata"]!.ToJsonString());
        await (await _http.PatchAsync(path + "?ifMetagenerationMatch=1", JsonContent(new { contentType = "x/y" }), Ct)).GoogleErrorAsync(HttpStatusCode.PreconditionFailed);
    }

    [Fact]
    public async Task Resumable_upload_in_chunks_reports_308_ranges_and_completes_with_checksums()
    {
        var bucket = await CreateBucketAsync();
        var data = RandomBytes((2 * 256 * 1024) + 1000);
        var session = await StartResumableAsync(bucket, "big.bin", data.Length);

        var first = await PutChunkAsync(session, data, 0, 256 * 1024, total: null);
        Assert.Equal((HttpStatusCode)308, first.StatusCode);
        Assert.Equal("bytes=0-262143", first.Headers.GetValues("Range").Single());
        var status = await StatusAsync(session, "bytes */*");
        Assert.Equal((HttpStatusCode)308, status.StatusCode);
        Assert.Equal("bytes=0-262143", status.Headers.GetValues("Range").Single());

        await PutChunkAsync(session, data, 256 * 1024, 256 * 1024, total: null);
        var done = await (await PutChunkAsync(session, data, 512 * 1024, 1000, total: data.Length)).JsonAsync();

        Assert.Equal(data.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), (string?)done["size"]);
        Assert.Equal(Md5(data), (string?)done["md5Hash"]);
        Assert.Equal(Crc32C(data), (string?)done["crc32c"]);
        Assert.Equal(data, await _http.GetByteArrayAsync($"/storage/v1/b/{bucket}/o/big.bin?alt=media", Ct));
        var after = await (await StatusAsync(session, $"bytes */{data.Length}")).JsonAsync();
        Assert.Equal((string?)done["generation"], (string?)after["generation"]);
    }

    [Fact]
    public async Task Resumable_upload_resumes_from_the_reported_offset_after_a_chunk_fails_mid_body()
    {
        var bucket = await CreateBucketAsync();
        var data = RandomBytes(3 * 1024 * 1024);
        var session = await StartResumableAsync(bucket, "resumed.bin", data.Length);
        await PutChunkAsync(session, data, 0, 1024 * 1024, total: null);

        // The second chunk dies after half of its bytes: the connection breaks, the client never sees a reply.
        using (var request = new HttpRequestMessage(HttpMethod.Put, session) { Content = new FailingContent(data.AsMemory(1024 * 1024, 1024 * 1024), failAfter: 512 * 1024) })
        {
            request.Content.Headers.ContentRange = new ContentRangeHeaderValue(1024 * 1024, (2 * 1024 * 1024) - 1);
            await Assert.ThrowsAnyAsync<HttpRequestException>(() => _http.SendAsync(request, Ct));
        }

        var status = await StatusAsync(session, "bytes */*");
        Assert.Equal((HttpStatusCode)308, status.StatusCode);
        var persisted = long.Parse(status.Headers.GetValues("Range").Single().Split('-')[1], System.Globalization.CultureInfo.InvariantCulture) + 1;
        Assert.InRange(persisted, 1024 * 1024, (2 * 1024 * 1024) - 1);

        var done = await (await PutChunkAsync(session, data, persisted, data.Length - (int)persisted, total: data.Length)).JsonAsync();
        Assert.Equal(Md5(data), (string?)done["md5Hash"]);
        Assert.Equal(data, await _http.GetByteArrayAsync($"/storage/v1/b/{bucket}/o/resumed.bin?alt=media", Ct));
    }

    [Fact]
    public async Task Resumable_chunk_that_skips_ahead_is_rejected_and_a_cancelled_session_is_gone()
    {
        var bucket = await CreateBucketAsync();
        var data = RandomBytes(1000);
        var session = await StartResumableAsync(bucket, "gap.bin", data.Length);

        var (reason, message) = await (await PutChunkAsync(session, data, 500, 500, total: 1000)).GoogleErrorAsync(HttpStatusCode.BadRequest);
        Assert.Equal("invalid", reason);
        Assert.Contains("resume from byte 0", message, StringComparison.Ordinal);

        Assert.Equal(499, (int)(await _http.DeleteAsync(session, Ct)).StatusCode);
        await (await StatusAsync(session, "bytes */*")).GoogleErrorAsync(HttpStatusCode.NotFound);
        await (await _http.GetAsync($"/storage/v1/b/{bucket}/o/gap.bin", Ct)).GoogleErrorAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Resumable_session_with_ifGenerationMatch_0_fails_412_when_the_object_appears_meanwhile()
    {
        var bucket = await CreateBucketAsync();
        var response = await _http.PostAsync($"/upload/storage/v1/b/{bucket}/o?uploadType=resumable&name=race.txt&ifGenerationMatch=0", JsonContent(new { }), Ct);
        var session = response.Headers.Location!;
        await UploadAsync(bucket, "race.txt", "winner");

        await (await PutChunkAsync(session, "late"u8.ToArray(), 0, 4, total: 4)).GoogleErrorAsync(HttpStatusCode.PreconditionFailed);
        await (await StatusAsync(session, "bytes */4")).GoogleErrorAsync(HttpStatusCode.PreconditionFailed);
        Assert.Equal("winner", await _http.GetStringAsync($"/storage/v1/b/{bucket}/o/race.txt?alt=media", Ct));
    }

    [Fact]
    public async Task Unsupported_operations_answer_501_naming_what_is_not_supported()
    {
        var bucket = await CreateBucketAsync();

        var (reason, message) = await (await _http.PostAsync($"/storage/v1/b/{bucket}/o/a/rewriteTo/b/{bucket}/o/b", null, Ct)).GoogleErrorAsync(HttpStatusCode.NotImplemented);
        Assert.Equal("notImplemented", reason);
        Assert.Contains("POST /storage/v1/b/", message, StringComparison.Ordinal);
        Assert.Contains("rewriteTo", message, StringComparison.Ordinal);
        await (await _http.GetAsync("/storage/v1/b/x/iam", Ct)).GoogleErrorAsync(HttpStatusCode.NotImplemented);

        var (badUpload, _) = await (await _http.PostAsync($"/upload/storage/v1/b/{bucket}/o?uploadType=chunky&name=x", new ByteArrayContent([1]), Ct)).GoogleErrorAsync(HttpStatusCode.BadRequest);
        Assert.Equal("invalid", badUpload);
        var (badJson, _) = await (await _http.PostAsync("/storage/v1/b?project=p", new StringContent("{not json", Encoding.UTF8, "application/json"), Ct)).GoogleErrorAsync(HttpStatusCode.BadRequest);
        Assert.Equal("parseError", badJson);
    }

    [Fact]
    public async Task Data_directory_keeps_buckets_and_objects_across_restarts()
    {
        var directory = Directory.CreateTempSubdirectory("emulator-storage-");
        try
        {
            var data = RandomBytes(70_000);
            string generation;
            await using (var first = await EmulatorHost.StartAsync(new EmulatorOptions { DataDirectory = directory.FullName }, Ct))
            {
                using var http = new HttpClient { BaseAddress = first.BaseUri };
                await (await http.PostJsonAsync("/storage/v1/b?project=p", new { name = "kept" })).JsonAsync();
                await (await http.PostAsync("/upload/storage/v1/b/kept/o?uploadType=media&name=one", new ByteArrayContent(data), Ct)).JsonAsync();
                var replaced = await (await http.PostAsync("/upload/storage/v1/b/kept/o?uploadType=media&name=one", new ByteArrayContent(data), Ct)).JsonAsync();
                generation = (string)replaced["generation"]!;
                await (await http.PostAsync("/upload/storage/v1/b/kept/o?uploadType=media&name=gone", new ByteArrayContent([1]), Ct)).JsonAsync();
                await http.DeleteAsync("/storage/v1/b/kept/o/gone", Ct);
            }

            await using var second = await EmulatorHost.StartAsync(new EmulatorOptions { DataDirectory = directory.FullName }, Ct);
            using var again = new HttpClient { BaseAddress = second.BaseUri };
            var metadata = await (await again.GetAsync("/storage/v1/b/kept/o/one", Ct)).JsonAsync();
            Assert.Equal(generation, (string?)metadata["generation"]);
            Assert.Equal(Md5(data), (string?)metadata["md5Hash"]);
            Assert.Equal(data, await again.GetByteArrayAsync("/storage/v1/b/kept/o/one?alt=media", Ct));
            await (await again.GetAsync("/storage/v1/b/kept/o/gone", Ct)).GoogleErrorAsync(HttpStatusCode.NotFound);
            Assert.Single(Directory.GetFiles(Path.Combine(directory.FullName, "storage", "kept"), "*.bin"));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task With_md5_switched_off_objects_carry_crc32c_only_but_a_sent_md5_is_still_verified()
    {
        await using var emulator = await EmulatorHost.StartAsync(new EmulatorOptions { ComputeMd5Hash = false }, Ct);
        using var http = new HttpClient { BaseAddress = emulator.BaseUri };
        await (await http.PostJsonAsync("/storage/v1/b?project=p", new { name = "crc-only" })).JsonAsync();
        var data = RandomBytes(5000);

        var created = await (await http.PostAsync("/upload/storage/v1/b/crc-only/o?uploadType=media&name=x", new ByteArrayContent(data), Ct)).JsonAsync();
        var media = await http.GetAsync("/storage/v1/b/crc-only/o/x?alt=media", Ct);

        Assert.Null(created["md5Hash"]);
        Assert.Equal(Crc32C(data), (string?)created["crc32c"]);
        Assert.Equal($"crc32c={Crc32C(data)}", media.Headers.GetValues("X-Goog-Hash").Single());
        using var multipart = Multipart("crc-only", new { name = "y", md5Hash = Md5([9]) }, data, "application/octet-stream");
        await (await http.SendAsync(multipart, Ct)).GoogleErrorAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task An_unusable_data_directory_fails_start_up_naming_the_setting()
    {
        var blocker = Path.GetTempFileName();
        try
        {
            var error = await Assert.ThrowsAnyAsync<Microsoft.Extensions.Options.OptionsValidationException>(
                () => EmulatorHost.StartAsync(new EmulatorOptions { DataDirectory = Path.Combine(blocker, "inside-a-file") }, Ct));

            Assert.Contains("Emulators:DataDirectory (--data-dir)", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(blocker);
        }
    }

    private async Task<string> CreateBucketAsync()
    {
        var name = EmulatorFixture.NewName("b");
        await (await _http.PostJsonAsync("/storage/v1/b?project=p", new { name })).JsonAsync();
        return name;
    }

    private async Task<JsonObject> UploadAsync(string bucket, string name, string text, string? query = null) =>
        await (await UploadRawAsync(bucket, name, text, query)).JsonAsync();

    private async Task<JsonObject> UploadAsync(string bucket, string name, byte[] data, string contentType)
    {
        var content = new ByteArrayContent(data);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        return await (await _http.PostAsync($"/upload/storage/v1/b/{bucket}/o?uploadType=media&name={Uri.EscapeDataString(name)}", content, Ct)).JsonAsync();
    }

    private Task<HttpResponseMessage> UploadRawAsync(string bucket, string name, string text, string? query) =>
        _http.PostAsync($"/upload/storage/v1/b/{bucket}/o?uploadType=media&name={Uri.EscapeDataString(name)}{query}", new StringContent(text), Ct);

    private Task<HttpResponseMessage> GetRangeAsync(string path, string range)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.TryAddWithoutValidation("Range", range);
        return _http.SendAsync(request, Ct);
    }

    private async Task<(List<string> Items, List<string> Prefixes, int Pages)> ListAllAsync(string bucket, string query)
    {
        var items = new List<string>();
        var prefixes = new List<string>();
        string? token = null;
        var pages = 0;
        do
        {
            var page = await (await _http.GetAsync($"/storage/v1/b/{bucket}/o?{query}{(token is null ? string.Empty : "&pageToken=" + Uri.EscapeDataString(token))}", Ct)).JsonAsync();
            pages++;
            items.AddRange(page["items"]!.AsArray().Select(i => (string)i!["name"]!));
            prefixes.AddRange(page["prefixes"]!.AsArray().Select(p => (string)p!));
            token = (string?)page["nextPageToken"];
        }
        while (token is not null && pages < 20);

        return (items, prefixes, pages);
    }

    private async Task<Uri> StartResumableAsync(string bucket, string name, long length)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/upload/storage/v1/b/{bucket}/o?uploadType=resumable")
        {
            Content = JsonContent(new { name, contentType = "application/octet-stream" }),
        };
        request.Headers.Add("X-Upload-Content-Length", length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var response = await _http.SendAsync(request, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return response.Headers.Location!;
    }

    private Task<HttpResponseMessage> PutChunkAsync(Uri session, byte[] data, long offset, int count, long? total)
    {
        var content = new ByteArrayContent(data, (int)offset, count);
        content.Headers.ContentRange = total is { } t
            ? new ContentRangeHeaderValue(offset, offset + count - 1, t)
            : new ContentRangeHeaderValue(offset, offset + count - 1);
        return _http.PutAsync(session, content, Ct);
    }

    private Task<HttpResponseMessage> StatusAsync(Uri session, string contentRange)
    {
        var request = new HttpRequestMessage(HttpMethod.Put, session) { Content = new ByteArrayContent([]) };
        request.Content.Headers.TryAddWithoutValidation("Content-Range", contentRange);
        return _http.SendAsync(request, Ct);
    }

    private static HttpRequestMessage Multipart(string bucket, object metadata, byte[] data, string contentType)
    {
        var multipart = new MultipartContent("related", "boundary-" + Guid.NewGuid().ToString("N"))
        {
            JsonContent(metadata),
        };
        var media = new ByteArrayContent(data);
        media.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        multipart.Add(media);
        return new HttpRequestMessage(HttpMethod.Post, $"/upload/storage/v1/b/{bucket}/o?uploadType=multipart") { Content = multipart };
    }

    private static StringContent JsonContent(object body) =>
        new(System.Text.Json.JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    private static byte[] RandomBytes(int count)
    {
        var data = new byte[count];
        Random.Shared.NextBytes(data);
        return data;
    }

    private static string Md5(byte[] data)
    {
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        md5.AppendData(data);
        return Convert.ToBase64String(md5.GetHashAndReset());
    }

    private static string Crc32C(byte[] data)
    {
        var bytes = new byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(bytes, Dataflow.Emulators.Storage.Crc32C.Compute(data));
        return Convert.ToBase64String(bytes);
    }

    /// <summary>Sends part of its bytes, then fails, so the request dies mid-body like a dropped connection.</summary>
    private sealed class FailingContent(ReadOnlyMemory<byte> data, int failAfter) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await stream.WriteAsync(data[..failAfter]);
            await stream.FlushAsync();
            throw new IOException("Simulated network failure in the middle of a chunk.");
        }

        protected override bool TryComputeLength(out long length)
        {
            length = data.Length;
            return true;
        }
    }
}
