using System.Security.Cryptography;

namespace Dataflow.Emulators.Storage;

/// <summary>
/// Immutable object bytes held as a list of fixed-size segments, so a 64 MB object is received and served
/// without ever being copied into one contiguous (and repeatedly re-grown) array.
/// </summary>
internal sealed class ObjectContent
{
    private readonly IReadOnlyList<byte[]> _segments;

    public ObjectContent(IReadOnlyList<byte[]> segments, long length, string crc32C, string? md5Hash)
    {
        _segments = segments;
        Length = length;
        Crc32C = crc32C;
        Md5Hash = md5Hash;
    }

    public long Length { get; }

    public string Crc32C { get; }

    /// <summary>Base64 MD5, or null when MD5 computation is switched off (Cloud Storage omits it for composite objects too).</summary>
    public string? Md5Hash { get; }

    /// <summary>Writes bytes [offset, offset + count) to the stream.</summary>
    public async Task CopyToAsync(Stream destination, long offset, long count, CancellationToken cancellationToken)
    {
        foreach (var segment in _segments)
        {
            if (count <= 0)
            {
                break;
            }

            if (offset >= segment.Length)
            {
                offset -= segment.Length;
                continue;
            }

            var take = (int)Math.Min(segment.Length - offset, count);
            await destination.WriteAsync(segment.AsMemory((int)offset, take), cancellationToken);
            count -= take;
            offset = 0;
        }
    }

    public byte[] ToArray()
    {
        var result = new byte[Length];
        var position = 0;
        foreach (var segment in _segments)
        {
            segment.CopyTo(result, position);
            position += segment.Length;
        }

        return result;
    }
}

/// <summary>
/// Accumulates uploaded bytes into segments, computing CRC-32C inline and MD5 (the slower hash) on the thread pool
/// in 256 KiB slices as they arrive, so hashing overlaps with receiving the rest of the body.
/// </summary>
internal sealed class ObjectContentBuilder(bool computeMd5 = true) : IDisposable
{
    private const int SegmentSize = 1 << 20;
    private const int Md5SliceSize = 256 << 10;
    private readonly List<byte[]> _segments = [];
    private readonly IncrementalHash? _md5 = computeMd5 ? IncrementalHash.CreateHash(HashAlgorithmName.MD5) : null;
    private Task _md5Work = Task.CompletedTask;
    private Crc32C _crc = new();
    private byte[]? _current;
    private int _currentUsed;
    private int _md5QueuedUpTo;

    public long Length { get; private set; }

    /// <summary>Reads the stream to its end (or <paramref name="limit"/> bytes) straight into segments.</summary>
    public async Task<long> AppendFromAsync(Stream source, long limit, CancellationToken cancellationToken)
    {
        long total = 0;
        while (total < limit)
        {
            if (_current is null || _currentUsed == _current.Length)
            {
                StartSegment(limit - total);
            }

            var room = (int)Math.Min(_current!.Length - _currentUsed, limit - total);
            var read = await source.ReadAsync(_current.AsMemory(_currentUsed, room), cancellationToken);
            if (read == 0)
            {
                break;
            }

            _crc.Append(_current.AsSpan(_currentUsed, read));
            Length += read;
            _currentUsed += read;
            total += read;
            QueueMd5(all: false);
        }

        return total;
    }

    /// <summary>Seals the bytes received so far; the builder must not be used afterwards.</summary>
    public async Task<ObjectContent> BuildAsync()
    {
        SealCurrent();
        string? md5 = null;
        if (_md5 is not null)
        {
            await _md5Work;
            md5 = Convert.ToBase64String(_md5.GetHashAndReset());
        }

        return new ObjectContent(_segments.ToArray(), Length, _crc.ToBase64(), md5);
    }

    public void Dispose()
    {
        // The queued MD5 work is CPU-bound and short; it must finish before the hash state goes away.
        _md5Work.Wait();
        _md5?.Dispose();
    }

    /// <summary>Hands the not yet hashed bytes of the current segment to the MD5 chain (at least a slice unless <paramref name="all"/>).</summary>
    private void QueueMd5(bool all)
    {
        var pending = _currentUsed - _md5QueuedUpTo;
        if (_md5 is not { } md5 || _current is null || pending == 0 || (!all && pending < Md5SliceSize))
        {
            return;
        }

        // Received bytes are never overwritten, so the slice stays valid; continuations run in order.
        var slice = _current.AsMemory(_md5QueuedUpTo, pending);
        _md5QueuedUpTo = _currentUsed;
        _md5Work = _md5Work.ContinueWith(_ => md5.AppendData(slice.Span), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
    }

    private void StartSegment(long expectedRemaining)
    {
        SealCurrent();
        // Small bodies get an exactly-sized segment; big ones full segments.
        var size = expectedRemaining is > 0 and < SegmentSize ? (int)expectedRemaining : SegmentSize;
        _current = GC.AllocateUninitializedArray<byte>(size);
        _currentUsed = 0;
        _md5QueuedUpTo = 0;
    }

    private void SealCurrent()
    {
        if (_current is null)
        {
            return;
        }

        QueueMd5(all: true);
        if (_currentUsed > 0)
        {
            _segments.Add(_currentUsed == _current.Length ? _current : _current.AsSpan(0, _currentUsed).ToArray());
        }

        _current = null;
        _currentUsed = 0;
        _md5QueuedUpTo = 0;
    }
}
