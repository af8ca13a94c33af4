using System.Text;
using System.Text.Json.Nodes;
using Dataflow.Emulators.BigQuery;
using Dataflow.Emulators.Storage;

namespace Dataflow.Tests.Unit.Emulators;

[Trait("Category", "Unit")]
public sealed class ChecksumAndValueTests
{
    [Fact]
    public void Crc32c_matches_the_rfc_3720_check_value()
    {
        Assert.Equal(0xE3069283u, Crc32C.Compute("123456789"u8));
        Assert.Equal(0x8A9136AAu, Crc32C.Compute(new byte[32]));
    }

    [Fact]
    public void Crc32c_is_the_same_whether_fed_at_once_or_in_odd_pieces()
    {
        var data = new byte[10_007];
        new Random(7).NextBytes(data);
        var pieces = new Crc32C();
        for (var offset = 0; offset < data.Length; offset += 13)
        {
            pieces.Append(data.AsSpan(offset, Math.Min(13, data.Length - offset)));
        }

        Assert.Equal(Crc32C.Compute(data), pieces.Value);
    }

    [Fact]
    public async Task Content_builder_reports_cloud_storage_checksums_and_serves_ranges()
    {
        var data = new byte[(3 << 20) + 17];
        new Random(3).NextBytes(data);
        using var builder = new ObjectContentBuilder();
        await builder.AppendFromAsync(new MemoryStream(data), long.MaxValue, TestContext.Current.CancellationToken);
        var content = await builder.BuildAsync();

        Assert.Equal(data.Length, content.Length);
        using var md5 = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.MD5);
        md5.AppendData(data);
        Assert.Equal(Convert.ToBase64String(md5.GetHashAndReset()), content.Md5Hash);
        var crc = new byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32C.Compute(data));
        Assert.Equal(Convert.ToBase64String(crc), content.Crc32C);
        using var slice = new MemoryStream();
        await content.CopyToAsync(slice, (1 << 20) - 5, (1 << 20) + 10, TestContext.Current.CancellationToken);
        Assert.Equal(data.AsSpan((1 << 20) - 5, (1 << 20) + 10).ToArray(), slice.ToArray());
    }

    [Fact]
    public void Row_conversion_reports_every_mismatch_with_its_location()
    {
        TableFieldSchema[] fields =
        [
            new("id", "INTEGER", "REQUIRED"),
            new("when", "TIMESTAMP"),
            new("tags", "STRING", "REPEATED"),
            new("address", "RECORD", "NULLABLE", [new TableFieldSchema("zip", "INTEGER")]),
        ];
        var json = JsonNode.Parse("""{"when":"yesterday","tags":"solo","address":{"zip":"x1","street":"Main"},"extra":1}""")!.AsObject();
        var errors = new List<RowError>();

        BigQueryValues.ConvertRow(json, fields, ignoreUnknownValues: false, errors);

        Assert.Equal(["extra", "id", "when", "tags", "address.street", "address.zip"], errors.Select(e => e.Location));
        Assert.Contains("Missing required field: id", errors[1].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Row_conversion_accepts_numbers_as_strings_and_ignores_unknown_fields_when_asked()
    {
        TableFieldSchema[] fields = [new("n", "INTEGER"), new("f", "FLOAT"), new("b", "BOOLEAN"), new("ts", "TIMESTAMP")];
        var json = JsonNode.Parse("""{"n":"42","f":"1.5","b":"true","ts":1.5,"other":true}""")!.AsObject();
        var errors = new List<RowError>();

        var row = BigQueryValues.ConvertRow(json, fields, ignoreUnknownValues: true, errors);

        Assert.Empty(errors);
        Assert.Equal([42L, 1.5, true, new BqTimestamp(1_500_000)], row);
    }

    [Fact]
    public void Rest_rows_render_every_scalar_as_a_string_with_nested_shapes()
    {
        TableFieldSchema[] fields =
        [
            new("n", "INTEGER"), new("ts", "TIMESTAMP"), new("bytes", "BYTES"), new("tags", "STRING", "REPEATED"),
            new("rec", "RECORD", "NULLABLE", [new TableFieldSchema("x", "BOOLEAN")]),
            new("recs", "RECORD", "REPEATED", [new TableFieldSchema("y", "FLOAT")]),
        ];
        object?[] row = [7L, new BqTimestamp(1_700_000_000_123_456), Encoding.UTF8.GetBytes("hi"), new List<object?> { "a", "b" }, new object?[] { true },
            new List<object?> { new object?[] { 0.25 } }];

        var legacy = BigQueryValues.ToRestRow(row, fields, int64Timestamps: false).ToJsonString();
        var micros = BigQueryValues.ToRestRow(row, fields, int64Timestamps: true).ToJsonString();

        Assert.Equal("""{"f":[{"v":"7"},{"v":"1700000000.123456"},{"v":"aGk="},{"v":[{"v":"a"},{"v":"b"}]},{"v":{"f":[{"v":"true"}]}},{"v":[{"v":{"f":[{"v":"0.25"}]}}]}]}""", legacy);
        Assert.Contains("""{"v":"1700000000123456"}""", micros, StringComparison.Ordinal);
    }
}
