using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Dataflow.Emulators.Storage;

/// <summary>The Cloud Storage JSON API surface: buckets, objects, downloads and the three upload protocols.</summary>
internal static class StorageApi
{
    private const int DefaultPageSize = 1000;

    public static IEndpointRouteBuilder MapStorageApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/storage/v1/b");
        api.MapPost("", InsertBucketAsync);
        api.MapGet("", ListBuckets);
        api.MapGet("/{bucket}", GetBucket);
        api.MapDelete("/{bucket}", DeleteBucket);
        api.MapGet("/{bucket}/o", ListObjects);
        api.MapMethods("/{bucket}/o/{**objectPath}", [HttpMethods.Get, HttpMethods.Head], GetObjectAsync);
        api.MapMethods("/{bucket}/o/{**objectPath}", [HttpMethods.Delete], DeleteObject);
        api.MapMethods("/{bucket}/o/{**objectPath}", [HttpMethods.Patch], PatchObjectAsync);
        app.MapMethods("/download/storage/v1/b/{bucket}/o/{**objectPath}", [HttpMethods.Get, HttpMethods.Head], DownloadAsync);
        app.MapPost("/upload/storage/v1/b/{bucket}/o", UploadAsync);
        app.MapPut("/upload/storage/v1/b/{bucket}/o", ResumableChunkAsync);
        app.MapDelete("/upload/storage/v1/b/{bucket}/o", CancelResumableAsync);
        return app;
    }

    private static async Task<IResult> InsertBucketAsync(HttpContext context, StorageStore store, string? project)
    {
        if (string.IsNullOrEmpty(project))
        {
            throw GoogleApiException.Required("Required parameter: project");
        }

        var body = await EmulatorJson.ReadBodyAsync<BucketInsertBody>(context.Request, context.RequestAborted);
        if (string.IsNullOrEmpty(body?.Name))
        {
            throw GoogleApiException.Required("Required field: name");
        }

        var bucket = store.CreateBucket(project, body.Name, body.Location, body.StorageClass, body.Labels);
        return EmulatorJson.Ok(context.Request, BucketResource.From(bucket, BaseUri(context.Request)));
    }

    private static IResult ListBuckets(HttpContext context, StorageStore store, string? project, string? prefix, string? pageToken, int? maxResults)
    {
        if (string.IsNullOrEmpty(project))
        {
            throw GoogleApiException.Required("Required parameter: project");
        }

        var (items, next) = store.ListBuckets(project, prefix, pageToken, PageSize(maxResults));
        var baseUri = BaseUri(context.Request);
        return EmulatorJson.Ok(context.Request, new BucketList("storage#buckets", [.. items.Select(b => BucketResource.From(b, baseUri))], next));
    }

    private static IResult GetBucket(HttpContext context, StorageStore store, string bucket) =>
        EmulatorJson.Ok(context.Request, BucketResource.From(store.GetBucket(bucket), BaseUri(context.Request)));

    private static NoContent DeleteBucket(StorageStore store, string bucket, long? ifMetagenerationMatch)
    {
        store.DeleteBucket(bucket, ifMetagenerationMatch);
        return TypedResults.NoContent();
    }

    private static IResult ListObjects(
        HttpContext context, StorageStore store, string bucket, string? prefix, string? delimiter, string? pageToken, int? maxResults,
        string? startOffset, string? endOffset, bool? includeTrailingDelimiter)
    {
        var listing = store.ListObjects(bucket, new ObjectListRequest(
            prefix, delimiter, pageToken, PageSize(maxResults), startOffset, endOffset, includeTrailingDelimiter ?? false));
        var baseUri = BaseUri(context.Request);
        return EmulatorJson.Ok(context.Request, new ObjectList(
            "storage#objects", [.. listing.Items.Select(o => ObjectResource.From(o, baseUri))], listing.Prefixes, listing.NextPageToken));
    }

    private static async Task GetObjectAsync(HttpContext context, StorageStore store, string bucket, long? generation)
    {
        var stored = store.GetObject(bucket, ObjectName(context), generation, Conditions(context.Request));
        if (context.Request.Query["alt"] == "media")
        {
            await WriteMediaAsync(context, stored);
            return;
        }

        await EmulatorJson.Ok(context.Request, ObjectResource.From(stored, BaseUri(context.Request))).ExecuteAsync(context);
    }

    private static async Task DownloadAsync(HttpContext context, StorageStore store, string bucket, long? generation)
    {
        var stored = store.GetObject(bucket, ObjectName(context), generation, Conditions(context.Request));
        await WriteMediaAsync(context, stored);
    }

    private static NoContent DeleteObject(HttpContext context, StorageStore store, string bucket, long? generation)
    {
        store.DeleteObject(bucket, ObjectName(context), generation, Conditions(context.Request));
        return TypedResults.NoContent();
    }

    private static async Task<IResult> PatchObjectAsync(HttpContext context, StorageStore store, string bucket, long? generation)
    {
        var body = await EmulatorJson.ReadBodyAsync<ObjectMetadataBody>(context.Request, context.RequestAborted)
            ?? throw GoogleApiException.Required("Required: a JSON object resource in the request body");
        var updated = store.PatchObject(bucket, ObjectName(context), generation, Conditions(context.Request), body.ApplyTo);
        return EmulatorJson.Ok(context.Request, ObjectResource.From(updated, BaseUri(context.Request)));
    }

    private static async Task<IResult> UploadAsync(
        HttpContext context, StorageStore store, ResumableUploads uploads, IOptions<EmulatorOptions> options, string bucket, string? uploadType)
    {
        if (context.Request.Query.ContainsKey("upload_id"))
        {
            return await ResumableChunkAsync(context, store, uploads, bucket);
        }

        store.GetBucket(bucket);
        return uploadType switch
        {
            "media" => await MediaUploadAsync(context, store, options.Value.ComputeMd5Hash, bucket),
            "multipart" => await MultipartUploadAsync(context, store, options.Value.ComputeMd5Hash, bucket),
            "resumable" => await StartResumableAsync(context, store, uploads, options.Value.ComputeMd5Hash, bucket),
            null or "" => throw GoogleApiException.Invalid("Upload requests must include an uploadType URL parameter and a URL-encoded object name."),
            _ => throw GoogleApiException.Invalid($"Invalid upload type: {uploadType}"),
        };
    }

    private static async Task<IResult> MediaUploadAsync(HttpContext context, StorageStore store, bool computeMd5, string bucket)
    {
        var name = context.Request.Query["name"].ToString();
        if (name.Length == 0)
        {
            throw GoogleApiException.Required("Required parameter: name");
        }

        var metadata = ObjectMetadata.Empty with
        {
            ContentType = context.Request.ContentType,
            ContentEncoding = NullIfEmpty(context.Request.Query["contentEncoding"]),
        };
        using var builder = new ObjectContentBuilder(computeMd5);
        await builder.AppendFromAsync(context.Request.Body, context.Request.ContentLength ?? long.MaxValue, context.RequestAborted);
        var stored = await store.PutObjectAsync(bucket, name, metadata, await builder.BuildAsync(), Conditions(context.Request), context.RequestAborted);
        return EmulatorJson.Ok(context.Request, ObjectResource.From(stored, BaseUri(context.Request)));
    }

    private static async Task<IResult> MultipartUploadAsync(HttpContext context, StorageStore store, bool computeMd5, string bucket)
    {
        if (!MediaTypeHeaderValue.TryParse(context.Request.ContentType, out var contentType)
            || !contentType.MediaType.Equals("multipart/related", StringComparison.OrdinalIgnoreCase)
            || HeaderUtilities.RemoveQuotes(contentType.Boundary).Value is not { Length: > 0 } boundary)
        {
            throw GoogleApiException.Invalid("A multipart upload needs Content-Type: multipart/related with a boundary.");
        }

        var reader = new MultipartReader(boundary, context.Request.Body);
        var metadataPart = await reader.ReadNextSectionAsync(context.RequestAborted)
            ?? throw GoogleApiException.Invalid("The multipart body has no metadata part.");
        var body = await System.Text.Json.JsonSerializer.DeserializeAsync<ObjectMetadataBody>(metadataPart.Body, EmulatorJson.Options, context.RequestAborted)
            ?? throw GoogleApiException.Invalid("The metadata part of a multipart upload must be a JSON object.");
        var mediaPart = await reader.ReadNextSectionAsync(context.RequestAborted)
            ?? throw GoogleApiException.Invalid("The multipart body has no media part.");
        using var builder = new ObjectContentBuilder(computeMd5 || body.Md5Hash is not null);
        await builder.AppendFromAsync(mediaPart.Body, long.MaxValue, context.RequestAborted);
        if (await reader.ReadNextSectionAsync(context.RequestAborted) is not null)
        {
            throw GoogleApiException.Invalid("A multipart upload has exactly two parts: metadata and media.");
        }

        var name = body.Name ?? NullIfEmpty(context.Request.Query["name"]) ?? throw GoogleApiException.Required("Required: object name");
        var content = await builder.BuildAsync();
        VerifyChecksums(content, body.Md5Hash, body.Crc32c);
        var stored = await store.PutObjectAsync(bucket, name, body.ToMetadata(mediaPart.ContentType), content, Conditions(context.Request), context.RequestAborted);
        return EmulatorJson.Ok(context.Request, ObjectResource.From(stored, BaseUri(context.Request)));
    }

    private static async Task<IResult> StartResumableAsync(HttpContext context, StorageStore store, ResumableUploads uploads, bool computeMd5, string bucket)
    {
        var request = context.Request;
        var body = await EmulatorJson.ReadBodyAsync<ObjectMetadataBody>(request, context.RequestAborted);
        var name = NullIfEmpty(request.Query["name"]) ?? body?.Name ?? throw GoogleApiException.Required("Required: object name");
        var conditions = Conditions(request);
        var existing = TryGet(store, bucket, name);
        conditions.Ensure(existing);
        long? declaredLength = long.TryParse(request.Headers["X-Upload-Content-Length"], NumberStyles.None, CultureInfo.InvariantCulture, out var length)
            ? length
            : null;
        var metadata = body?.ToMetadata(NullIfEmpty(request.Headers["X-Upload-Content-Type"]))
            ?? ObjectMetadata.Empty with { ContentType = NullIfEmpty(request.Headers["X-Upload-Content-Type"]) };
        var session = uploads.Start(bucket, name, metadata, conditions, declaredLength, body?.Md5Hash, body?.Crc32c, computeMd5 || body?.Md5Hash is not null);
        var location = $"{BaseUri(request)}/upload/storage/v1/b/{bucket}/o?uploadType=resumable&name={Uri.EscapeDataString(name)}&upload_id={session.Id}";
        context.Response.Headers.Location = location;
        context.Response.Headers["X-GUploader-UploadID"] = session.Id;
        return TypedResults.Ok();
    }

    /// <summary>A PUT to a session URI: a chunk, a final chunk, or a status query (Content-Range: bytes */N or */*).</summary>
    private static async Task<IResult> ResumableChunkAsync(HttpContext context, StorageStore store, ResumableUploads uploads, string bucket)
    {
        var id = NullIfEmpty(context.Request.Query["upload_id"]) ?? throw GoogleApiException.Required("Required parameter: upload_id");
        var session = uploads.Get(id);
        if (session.Bucket != bucket)
        {
            throw GoogleApiException.NotFound($"No such resumable upload session: {id}");
        }

        var range = ContentRange.Parse(context.Request.Headers.ContentRange.ToString(), context.Request.ContentLength);
        await session.Gate.WaitAsync(context.RequestAborted);
        try
        {
            if (session.Closed)
            {
                throw new GoogleApiException((HttpStatusCode)499, "clientClosedRequest", "The upload session was cancelled.");
            }

            if (session.Failure is { } failure)
            {
                throw new GoogleApiException(failure.StatusCode, failure.Reason, failure.Message);
            }

            if (session.Completed is { } done)
            {
                return EmulatorJson.Ok(context.Request, ObjectResource.From(done, BaseUri(context.Request)));
            }

            if (range.First is { } first)
            {
                await ReceiveChunkAsync(context, session, first, range.Last!.Value);
            }

            var total = range.Total ?? session.DeclaredLength;
            if (range.Total is { } declared && session.DeclaredLength is { } announced && declared != announced)
            {
                throw GoogleApiException.Invalid($"The total size {declared} differs from the X-Upload-Content-Length {announced} of the session.");
            }

            if (range.Total is null || session.Persisted < total)
            {
                if (session.Persisted > 0)
                {
                    context.Response.Headers.Range = $"bytes=0-{session.Persisted - 1}";
                }

                return TypedResults.StatusCode(StatusCodes.Status308PermanentRedirect);
            }

            if (session.Persisted > total)
            {
                throw GoogleApiException.Invalid($"The upload holds {session.Persisted} bytes, more than the declared total of {total}.");
            }

            var content = await session.Builder.BuildAsync();
            session.Builder.Dispose();
            try
            {
                VerifyChecksums(content, session.ExpectedMd5, session.ExpectedCrc32C);
                session.Completed = await store.PutObjectAsync(bucket, session.Name, session.Metadata, content, session.Conditions, context.RequestAborted);
            }
            catch (GoogleApiException e)
            {
                // The bytes are sealed: the session is over, and every later request gets the same answer.
                session.Failure = e;
                throw;
            }

            return EmulatorJson.Ok(context.Request, ObjectResource.From(session.Completed, BaseUri(context.Request)));
        }
        finally
        {
            session.Gate.Release();
        }
    }

    private static async Task ReceiveChunkAsync(HttpContext context, ResumableUpload session, long first, long last)
    {
        if (first > session.Persisted)
        {
            throw GoogleApiException.Invalid(
                $"Content-Range starts at byte {first} but only {session.Persisted} bytes of this upload have been persisted; resume from byte {session.Persisted}.");
        }

        var length = last - first + 1;
        var body = context.Request.Body;
        // Bytes the service already has (a client re-sending after a lost reply) are read and dropped.
        var alreadyPersisted = session.Persisted - first;
        if (alreadyPersisted > 0)
        {
            var skipped = await SkipAsync(body, Math.Min(alreadyPersisted, length), context.RequestAborted);
            if (skipped < Math.Min(alreadyPersisted, length))
            {
                throw GoogleApiException.Invalid("The request body is shorter than its Content-Range.");
            }
        }

        var expected = Math.Max(0, length - Math.Max(0, alreadyPersisted));
        // If the client goes away mid-chunk, what arrived stays persisted and a status query reports it.
        var received = await session.Builder.AppendFromAsync(body, expected, context.RequestAborted);

        if (received < expected)
        {
            throw GoogleApiException.Invalid($"The request body holds {received} bytes but its Content-Range announces {expected}.");
        }
    }

    private static async Task<long> SkipAsync(Stream body, long count, CancellationToken cancellationToken)
    {
        var scratch = new byte[(int)Math.Min(count, 81920)];
        long skipped = 0;
        while (skipped < count)
        {
            var read = await body.ReadAsync(scratch.AsMemory(0, (int)Math.Min(scratch.Length, count - skipped)), cancellationToken);
            if (read == 0)
            {
                break;
            }

            skipped += read;
        }

        return skipped;
    }

    private static async Task<IResult> CancelResumableAsync(HttpContext context, ResumableUploads uploads, [FromQuery(Name = "upload_id")] string? uploadId)
    {
        if (string.IsNullOrEmpty(uploadId))
        {
            throw GoogleApiException.Required("Required parameter: upload_id");
        }

        if (!await uploads.CancelAsync(uploadId, context.RequestAborted))
        {
            throw GoogleApiException.NotFound($"No such resumable upload session: {uploadId}");
        }

        // Cloud Storage answers a cancelled session with 499 Client Closed Request.
        return TypedResults.StatusCode(499);
    }

    private static async Task WriteMediaAsync(HttpContext context, StoredObject stored)
    {
        var response = context.Response;
        var length = stored.Content.Length;
        long offset = 0;
        var count = length;
        if (RangeHeaderValue.TryParse(context.Request.Headers.Range.ToString(), out var range) && range.Ranges.Count == 1
            && range.Unit.Equals("bytes", StringComparison.OrdinalIgnoreCase))
        {
            var requested = range.Ranges.First();
            (offset, count) = (requested.From, requested.To) switch
            {
                ({ } from, { } to) => (from, Math.Min(to, length - 1) - from + 1),
                ({ } from, null) => (from, length - from),
                (null, { } suffix) => (Math.Max(0, length - suffix), Math.Min(suffix, length)),
                _ => (0, length),
            };
            if (offset >= length || count <= 0)
            {
                response.Headers.ContentRange = $"bytes */{length}";
                throw new GoogleApiException(HttpStatusCode.RequestedRangeNotSatisfiable, "requestedRangeNotSatisfiable", "Request range not satisfiable");
            }

            response.StatusCode = StatusCodes.Status206PartialContent;
            response.Headers.ContentRange = $"bytes {offset}-{offset + count - 1}/{length}";
        }

        response.ContentType = stored.ContentType;
        response.ContentLength = count;
        response.Headers.ETag = $"\"{stored.ETag}\"";
        response.Headers.AcceptRanges = "bytes";
        response.Headers["X-Goog-Generation"] = stored.Generation.ToString(CultureInfo.InvariantCulture);
        response.Headers["X-Goog-Metageneration"] = stored.Metageneration.ToString(CultureInfo.InvariantCulture);
        response.Headers["X-Goog-Hash"] = stored.Content.Md5Hash is { } md5 ? $"crc32c={stored.Content.Crc32C},md5={md5}" : $"crc32c={stored.Content.Crc32C}";
        response.Headers["X-Goog-Stored-Content-Length"] = length.ToString(CultureInfo.InvariantCulture);
        response.Headers["X-Goog-Stored-Content-Encoding"] = stored.Metadata.ContentEncoding ?? "identity";
        if (stored.Metadata.ContentEncoding is { } encoding)
        {
            response.Headers.ContentEncoding = encoding;
        }

        if (stored.Metadata.ContentDisposition is { } disposition)
        {
            response.Headers.ContentDisposition = disposition;
        }

        if (stored.Metadata.CacheControl is { } cacheControl)
        {
            response.Headers.CacheControl = cacheControl;
        }

        if (HttpMethods.IsHead(context.Request.Method))
        {
            return;
        }

        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        await stored.Content.CopyToAsync(response.Body, offset, count, context.RequestAborted);
    }

    private static void VerifyChecksums(ObjectContent content, string? md5Hash, string? crc32C)
    {
        if (md5Hash is not null && md5Hash != content.Md5Hash)
        {
            throw GoogleApiException.Invalid($"Provided MD5 hash \"{md5Hash}\" doesn't match calculated MD5 hash \"{content.Md5Hash}\".");
        }

        if (crc32C is not null && crc32C != content.Crc32C)
        {
            throw GoogleApiException.Invalid($"Provided CRC32C \"{crc32C}\" doesn't match calculated CRC32C \"{content.Crc32C}\".");
        }
    }

    private static StoredObject? TryGet(StorageStore store, string bucket, string name)
    {
        try
        {
            return store.GetObject(bucket, name, null, ObjectConditions.None);
        }
        catch (GoogleApiException e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            store.GetBucket(bucket);
            return null;
        }
    }

    /// <summary>
    /// The object name from the raw request target: routing decodes most of the path but not %2F, so the name is
    /// taken after "/o/" and percent-decoded exactly once.
    /// </summary>
    internal static string ObjectName(HttpContext context)
    {
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? context.Request.Path.ToString();
        var query = raw.IndexOf('?', StringComparison.Ordinal);
        var path = query >= 0 ? raw[..query] : raw;
        var bucketStart = path.IndexOf("/b/", StringComparison.Ordinal);
        var objectStart = bucketStart < 0 ? -1 : path.IndexOf("/o/", bucketStart + 3, StringComparison.Ordinal);
        if (objectStart < 0)
        {
            throw GoogleApiException.Invalid("The request path does not name an object.");
        }

        var name = Uri.UnescapeDataString(path[(objectStart + 3)..]);
        return name.Length > 0 ? name : throw GoogleApiException.Required("Required: object name");
    }

    private static ObjectConditions Conditions(HttpRequest request) => new(
        QueryLong(request, "ifGenerationMatch"),
        QueryLong(request, "ifGenerationNotMatch"),
        QueryLong(request, "ifMetagenerationMatch"),
        QueryLong(request, "ifMetagenerationNotMatch"));

    private static long? QueryLong(HttpRequest request, string name)
    {
        var value = request.Query[name].ToString();
        if (value.Length == 0)
        {
            return null;
        }

        return long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var parsed)
            ? parsed
            : throw GoogleApiException.Invalid($"Invalid value for {name}: '{value}'");
    }

    private static int PageSize(int? maxResults) => maxResults switch
    {
        null => DefaultPageSize,
        < 1 => throw GoogleApiException.Invalid("maxResults must be positive."),
        _ => Math.Min(maxResults.Value, DefaultPageSize),
    };

    private static string? NullIfEmpty(Microsoft.Extensions.Primitives.StringValues value) => value.Count == 0 || value[0] is not { Length: > 0 } text ? null : text;

    internal static string BaseUri(HttpRequest request) => $"{request.Scheme}://{request.Host}{request.PathBase}";

    /// <summary>A parsed Content-Range of a resumable PUT: "bytes a-b/N", "bytes a-b/*", "bytes */N" or "bytes */*".</summary>
    private readonly record struct ContentRange(long? First, long? Last, long? Total)
    {
        public static ContentRange Parse(string header, long? contentLength)
        {
            if (header.Length == 0)
            {
                // The whole object in one request.
                var length = contentLength ?? throw GoogleApiException.Invalid("A PUT without Content-Range needs a Content-Length.");
                return length == 0 ? new ContentRange(null, null, 0) : new ContentRange(0, length - 1, length);
            }

            if (!header.StartsWith("bytes ", StringComparison.OrdinalIgnoreCase))
            {
                throw Bad(header);
            }

            var spec = header.AsSpan(6).Trim();
            var slash = spec.IndexOf('/');
            if (slash < 0)
            {
                throw Bad(header);
            }

            var rangePart = spec[..slash];
            var totalPart = spec[(slash + 1)..];
            long? total = totalPart is "*" ? null : ParseNumber(totalPart, header);
            if (rangePart is "*")
            {
                return new ContentRange(null, null, total);
            }

            var dash = rangePart.IndexOf('-');
            if (dash < 0)
            {
                throw Bad(header);
            }

            var first = ParseNumber(rangePart[..dash], header);
            var last = ParseNumber(rangePart[(dash + 1)..], header);
            if (last < first || (total is { } t && last >= t) || (contentLength is { } body && body != last - first + 1))
            {
                throw Bad(header);
            }

            return new ContentRange(first, last, total);
        }

        private static long ParseNumber(ReadOnlySpan<char> text, string header) =>
            long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : throw Bad(header);

        private static GoogleApiException Bad(string header) => GoogleApiException.Invalid($"Invalid Content-Range header: '{header}'");
    }
}
