using System.Text.Json;
using System.Text.Json.Serialization;
using Dataflow.Google.BigQuery;

namespace Dataflow.Tests.Unit.Google;

[Trait("Category", "Unit")]
public sealed class BigQueryRowTests
{
    public sealed record Reading
    {
        [JsonPropertyName("device_id")]
        public required string DeviceId { get; init; }

        public long Sequence { get; init; }

        public double? Temperature { get; init; }

        public DateTimeOffset ReceivedAt { get; init; }

        public string? Note { get; init; }

        public byte[]? Raw { get; init; }

        public IReadOnlyList<string> Tags { get; init; } = [];

        public Location? Where { get; init; }

        public List<Location> Path { get; init; } = [];

        [BigQueryColumn(Type = "NUMERIC", Description = "money")]
        public string? Amount { get; init; }

        [JsonIgnore]
        public int Ignored { get; init; }
    }

    public sealed record Location(double Lat, double Lon);

    [Fact]
    public void Schema_is_inferred_with_names_modes_records_and_repeated_fields()
    {
        var fields = BigQuerySchema.For<Reading>().Fields;

        string Describe(BigQueryField f) => $"{f.Name}:{f.Type}:{f.Mode}" + (f.Fields is null ? "" : "{" + string.Join(",", f.Fields.Select(Describe)) + "}");

        Assert.Equal(
        [
            "device_id:STRING:REQUIRED",
            "Sequence:INTEGER:REQUIRED",
            "Temperature:FLOAT:NULLABLE",
            "ReceivedAt:TIMESTAMP:REQUIRED",
            "Note:STRING:NULLABLE",
            "Raw:BYTES:NULLABLE",
            "Tags:STRING:REPEATED",
            "Where:RECORD:NULLABLE{Lat:FLOAT:REQUIRED,Lon:FLOAT:REQUIRED}",
            "Path:RECORD:REPEATED{Lat:FLOAT:REQUIRED,Lon:FLOAT:REQUIRED}",
            "Amount:NUMERIC:NULLABLE",
        ], fields.Select(Describe));
        Assert.Equal("money", fields.Single(f => f.Name == "Amount").Description);
    }

    [Fact]
    public void Rest_row_with_records_repeated_fields_nulls_and_timestamps_binds_to_the_row_type()
    {
        var schema = BigQuerySchema.For<Reading>();
        using var row = JsonDocument.Parse("""
            {"f":[
              {"v":"dev-1"},{"v":"9007199254740993"},{"v":"21.5"},{"v":"1714557600123456"},{"v":null},{"v":"AAH/"},
              {"v":[{"v":"a"},{"v":"b"}]},
              {"v":{"f":[{"v":"52.5"},{"v":"13.4"}]}},
              {"v":[{"v":{"f":[{"v":"1"},{"v":"2"}]}},{"v":{"f":[{"v":"3"},{"v":"4"}]}}]},
              {"v":"12.50"}
            ]}
            """);

        var reading = BigQueryRows.FromRest<Reading>(row.RootElement, schema);

        Assert.Equal("dev-1", reading.DeviceId);
        Assert.Equal(9007199254740993L, reading.Sequence);
        Assert.Equal(21.5, reading.Temperature);
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1714557600123).AddTicks(4560), reading.ReceivedAt);
        Assert.Null(reading.Note);
        Assert.Equal(new byte[] { 0, 1, 255 }, reading.Raw);
        Assert.Equal(["a", "b"], reading.Tags);
        Assert.Equal(new Location(52.5, 13.4), reading.Where);
        Assert.Equal([new Location(1, 2), new Location(3, 4)], reading.Path);
        Assert.Equal("12.50", reading.Amount);
    }

    [Theory]
    [InlineData("1.714557600123456E9")]
    [InlineData("1714557600.123456")]
    [InlineData("1714557600123456")]
    public void Timestamp_cells_in_float_seconds_or_int64_micros_mean_the_same_instant(string cell) =>
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1714557600123).AddTicks(4560), BigQueryRows.Timestamp(cell));

    [Fact]
    public void Row_object_is_written_with_column_names_and_without_ignored_properties()
    {
        var json = BigQueryRows.ToJson(new Reading { DeviceId = "d", Sequence = 5, ReceivedAt = DateTimeOffset.UnixEpoch, Ignored = 3 });

        Assert.Equal("d", json["device_id"]!.GetValue<string>());
        Assert.Equal(5, json["Sequence"]!.GetValue<long>());
        Assert.False(json.ContainsKey("Ignored"));
        Assert.False(json.ContainsKey("DeviceId"));
    }

    [Fact]
    public void Timestamps_are_written_in_UTC_with_the_six_fractional_digits_insertAll_accepts()
    {
        // Seven digits (System.Text.Json's default) are rejected by insertAll ("Cannot convert value to timestamp").
        var at = new DateTimeOffset(2026, 11, 21, 16, 53, 39, TimeSpan.FromHours(1)).AddTicks(727_268);

        var json = BigQueryRows.ToJson(new Reading { DeviceId = "d", ReceivedAt = at });

        Assert.Equal("2026-11-21T15:53:39.072726Z", json["ReceivedAt"]!.GetValue<string>());
    }
}
