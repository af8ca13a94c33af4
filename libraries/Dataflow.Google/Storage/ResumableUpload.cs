using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Dataflow.Google.Core;

namespace Dataflow.Google.Storage;

/// <summary>
/// One resumable upload session. Chunks go out in order; after a failed chunk the session is asked how much
/// it has persisted (<c>Content-Range: bytes */total</c>) and sending resumes from there.
/// </summary>
internal sealed class ResumableUpload(GoogleRestTransport transport, Uri sessionUri, string objectName, bool verify) : IDisposable
{
    private readonly ObjectHasher _hasher = new();

    /// <summary>Bytes the server has confirmed.</summary>
    public long Persisted { get; private set; }

    /// <summary>
    /// Sends <paramref name="chunk"/> (starting at <see cref="Persisted"/>); non-final chunks must be multiples of
    /// 256 KiB. Returns the object after the final chunk, null before.
    /// </summary>
    public async Task<StorageObject?> SendChunkAsync(ReadOnlyMemory<byte> chunk, bool isFinal, CancellationToken cancellationToken)
    {
        _hasher.Append(chunk.Span);
        var chunkStart = Persisted;
        long? total = isFinal ? chunkStart + chunk.Length : null;
        var failures = 0;
        var resync = false;
        while (true)
        {
            try
            {
                if (resync)
                {
                    var status = await QueryAsync(total, cancellationToken);
                    if (status.Object is not null)
                    {
                        return Finish(status.Object);
                    }

                    if (status.Persisted < chunkStart || status.Persisted > chunkStart + chunk.Length)
                    {
                        throw new GoogleApiException($"the upload session of {objectName} reports {status.Persisted} bytes persisted, outside the chunk {chunkStart}-{chunkStart + chunk.Length}");
                    }

                    Persisted = status.Persisted;
                    resync = false;
                }

                var offset = (int)(Persisted - chunkStart);
                if (offset == chunk.Length && !isFinal)
                {
                    return null;
                }

                var (persisted, done) = await PutAsync(chunk[offset..], Persisted, total, cancellationToken);
                if (done is not null)
                {
                    return Finish(done);
                }

                if (persisted < Persisted || persisted > chunkStart + chunk.Length)
                {
                    throw new GoogleApiException($"the upload session of {objectName} acknowledged {persisted} bytes, outside the chunk {chunkStart}-{chunkStart + chunk.Length}");
                }

                Persisted = persisted;
                failures = 0;
            }
            catch (Exception ex) when (TransientErrors.IsTransient(ex) && ++failures < transport.Retry.MaxAttempts)
            {
                await Task.Delay(transport.Retry.GetDelay(failures, Random.Shared.NextDouble()), cancellationToken);
                resync = true;
            }
        }
    }

    private StorageObject Finish(StorageObject stored)
    {
        Persisted = _hasher.Length;
        if (verify)
        {
            _hasher.Verify(stored.Crc32c, stored.Md5Hash, $"gs://{stored.Bucket}/{stored.Name}");
        }

        return stored;
    }

    private async Task<(long Persisted, StorageObject? Done)> PutAsync(ReadOnlyMemory<byte> data, long start, long? total, CancellationToken cancellationToken)
    {
        using var response = await transport.SendAsync(
            () =>
            {
                var content = new ReadOnlyMemoryContent(data);
                var totalText = total?.ToString(CultureInfo.InvariantCulture) ?? "*";
                content.Headers.TryAddWithoutValidation("Content-Range", data.Length == 0
                    ? $"bytes */{totalText}"
                    : $"bytes {start.ToString(CultureInfo.InvariantCulture)}-{(start + data.Length - 1).ToString(CultureInfo.InvariantCulture)}/{totalText}");
                return new HttpRequestMessage(HttpMethod.Put, sessionUri) { Content = content };
            },
            cancellationToken,
            retry: RetrySettings.None,
            isExpected: status => (int)status == 308);
        return await ReadOutcomeAsync(response, cancellationToken);
    }

    private async Task<(long Persisted, StorageObject? Object)> QueryAsync(long? total, CancellationToken cancellationToken)
    {
        using var response = await transport.SendAsync(
            () =>
            {
                var content = new ByteArrayContent([]);
                content.Headers.TryAddWithoutValidation("Content-Range", $"bytes */{total?.ToString(CultureInfo.InvariantCulture) ?? "*"}");
                return new HttpRequestMessage(HttpMethod.Put, sessionUri) { Content = content };
            },
            cancellationToken,
            retry: RetrySettings.None,
            isExpected: status => (int)status == 308);
        return await ReadOutcomeAsync(response, cancellationToken);
    }

    private static async Task<(long Persisted, StorageObject? Object)> ReadOutcomeAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if ((int)response.StatusCode == 308)
        {
            return (ParsePersisted(response.Headers), null);
        }

        var stored = await GoogleRestTransport.ReadJsonAsync(response, StorageJsonContext.Default.StorageObject, cancellationToken);
        return (stored.Size ?? 0, stored);
    }

    /// <summary><c>Range: bytes=0-N</c> means N+1 bytes persisted; no Range header means none.</summary>
    internal static long ParsePersisted(HttpResponseHeaders headers)
    {
        if (!headers.TryGetValues("Range", out var values))
        {
            return 0;
        }

        var value = values.First();
        var dash = value.LastIndexOf('-');
        return dash > 0 && long.TryParse(value.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var last)
            ? last + 1
            : throw new GoogleApiException($"unexpected Range header '{value}' from a resumable upload session");
    }

    public void Dispose() => _hasher.Dispose();
}
