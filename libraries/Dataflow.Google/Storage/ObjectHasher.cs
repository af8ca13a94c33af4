using System.Security.Cryptography;

namespace Dataflow.Google.Storage;

/// <summary>CRC-32C and MD5 of a byte stream, computed incrementally, compared with the server's values.</summary>
internal sealed class ObjectHasher : IDisposable
{
    private readonly Crc32C _crc = new();
#pragma warning disable CA5351 // MD5 is Cloud Storage's integrity checksum here, not a security control.
    private readonly IncrementalHash _md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
#pragma warning restore CA5351

    public long Length { get; private set; }

    public void Append(ReadOnlySpan<byte> data)
    {
        _crc.Append(data);
        _md5.AppendData(data);
        Length += data.Length;
    }

    public string Crc32CBase64 => _crc.ToBase64();

    public string Md5Base64()
    {
        Span<byte> hash = stackalloc byte[16];
        _md5.GetCurrentHash(hash);
        return Convert.ToBase64String(hash);
    }

    /// <summary>Throws when a checksum the server reports differs; a missing server value is not compared.</summary>
    public void Verify(string? serverCrc32C, string? serverMd5, string what)
    {
        if (serverCrc32C is not null && serverCrc32C != Crc32CBase64)
        {
            throw new StorageChecksumException($"CRC-32C mismatch for {what}: server {serverCrc32C}, local {Crc32CBase64} over {Length} bytes");
        }

        if (serverMd5 is not null && serverMd5 != Md5Base64())
        {
            throw new StorageChecksumException($"MD5 mismatch for {what}: server {serverMd5}, local {Md5Base64()} over {Length} bytes");
        }
    }

    /// <summary>Parses an <c>x-goog-hash: crc32c=…,md5=…</c> header (possibly repeated).</summary>
    public static (string? Crc32C, string? Md5) ParseHashHeader(IEnumerable<string> values)
    {
        string? crc = null;
        string? md5 = null;
        foreach (var value in values)
        {
            foreach (var part in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (part.StartsWith("crc32c=", StringComparison.OrdinalIgnoreCase))
                {
                    crc = part[7..];
                }
                else if (part.StartsWith("md5=", StringComparison.OrdinalIgnoreCase))
                {
                    md5 = part[4..];
                }
            }
        }

        return (crc, md5);
    }

    public void Dispose() => _md5.Dispose();
}
