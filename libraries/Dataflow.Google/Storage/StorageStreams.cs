using Dataflow.Google.Core;

namespace Dataflow.Google.Storage;

/// <summary>
/// A write-only stream feeding a resumable upload: bytes are gathered into chunks and each full chunk is sent
/// (and resumed after failures) as the next one starts. <see cref="CompleteAsync"/> (or disposal) sends the
/// final chunk and yields the stored object. Not thread-safe, like any stream.
/// </summary>
public sealed class StorageUploadStream : Stream
{
    // A small object never needs a whole chunk (8 MiB by default): the buffer starts at one 256 KiB chunk unit and
    // doubles up to the chunk size.
    private const int InitialBufferBytes = 256 * 1024;

    private readonly ResumableUpload _upload;
    private readonly int _chunkSize;
    private byte[] _buffer;
    private int _filled;
    private long _written;
    private Exception? _failure;

    internal StorageUploadStream(ResumableUpload upload, int chunkSize)
    {
        _upload = upload;
        _chunkSize = chunkSize;
        _buffer = new byte[Math.Min(chunkSize, InitialBufferBytes)];
    }

    /// <summary>The stored object once the upload completed.</summary>
    public StorageObject? Result { get; private set; }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => Result is null;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => _written;
        set => throw new NotSupportedException();
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ThrowIfUnusable();
        while (!buffer.IsEmpty)
        {
            if (_filled == _buffer.Length)
            {
                if (_buffer.Length < _chunkSize)
                {
                    Array.Resize(ref _buffer, Math.Min(_chunkSize, _buffer.Length * 2));
                }
                else
                {
                    // More data follows, so this full chunk is not the last one.
                    await SendAsync(isFinal: false, cancellationToken);
                }
            }

            var take = Math.Min(buffer.Length, _buffer.Length - _filled);
            buffer[..take].CopyTo(_buffer.AsMemory(_filled));
            _filled += take;
            _written += take;
            buffer = buffer[take..];
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>Synchronous writes block on the upload; prefer the async API (e.g. GZipStream.DisposeAsync).</summary>
    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    /// <summary>Sends the final chunk and returns the stored object (checksums verified).</summary>
    public async Task<StorageObject> CompleteAsync(CancellationToken cancellationToken = default)
    {
        if (Result is not null)
        {
            return Result;
        }

        ThrowIfUnusable();
        await SendAsync(isFinal: true, cancellationToken);
        return Result!;
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override void Flush()
    {
    }

    public override async ValueTask DisposeAsync()
    {
        try
        {
            if (Result is null && _failure is null)
            {
                await CompleteAsync(CancellationToken.None);
            }
        }
        finally
        {
            _upload.Dispose();
            await base.DisposeAsync();
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            try
            {
                if (Result is null && _failure is null)
                {
                    CompleteAsync(CancellationToken.None).GetAwaiter().GetResult();
                }
            }
            finally
            {
                _upload.Dispose();
            }
        }

        base.Dispose(disposing);
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    private async Task SendAsync(bool isFinal, CancellationToken cancellationToken)
    {
        try
        {
            var stored = await _upload.SendChunkAsync(_buffer.AsMemory(0, _filled), isFinal, cancellationToken);
            _filled = 0;
            if (isFinal)
            {
                Result = stored;
            }
        }
        catch (Exception ex)
        {
            // A chunk that failed beyond its retries leaves the upload unfinishable: never send more.
            _failure = ex;
            throw;
        }
    }

    private void ThrowIfUnusable()
    {
        if (_failure is not null)
        {
            throw new InvalidOperationException("the upload failed earlier and cannot continue", _failure);
        }

        if (Result is not null)
        {
            throw new InvalidOperationException("the upload is already complete");
        }
    }
}

/// <summary>The body of a download; checks the object's checksums when the end is reached.</summary>
internal sealed class VerifyingReadStream(HttpResponseMessage response, Stream body, string? crc32C, string? md5, string what) : Stream
{
    private readonly ObjectHasher? _hasher = crc32C is null && md5 is null ? null : new ObjectHasher();
    private bool _verified;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => response.Content.Headers.ContentLength ?? throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        int read;
        try
        {
            read = await body.ReadAsync(buffer, cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            throw new GoogleApiException($"reading {what} failed: {ex.Message}", ex);
        }

        return Observe(buffer.Span[..read]);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => Observe(buffer.AsSpan(offset, body.Read(buffer, offset, count)));

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _hasher?.Dispose();
            body.Dispose();
            response.Dispose();
        }

        base.Dispose(disposing);
    }

    private int Observe(ReadOnlySpan<byte> data)
    {
        if (_hasher is null)
        {
            return data.Length;
        }

        if (data.Length > 0)
        {
            _hasher.Append(data);
        }
        else if (!_verified)
        {
            _verified = true;
            _hasher.Verify(crc32C, md5, what);
        }

        return data.Length;
    }
}
