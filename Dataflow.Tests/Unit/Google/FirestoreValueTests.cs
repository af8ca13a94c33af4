using System.Text.Json;
using System.Text.Json.Serialization;
using Dataflow.Google.Firestore;

namespace Dataflow.Tests.Unit.Google;

[Trait("Category", "Unit")]
public sealed class FirestoreValueTests
{
    private static string Json(FirestoreValue value) => JsonSerializer.Serialize(value);

    private static FirestoreValue Parse(string json) => JsonSerializer.Deserialize<FirestoreValue>(json)!;

    [Fact]
    public void Every_value_kind_is_written_in_firestore_rest_form()
    {
        Assert.Equal("""{"nullValue":null}""", Json(FirestoreValue.Null));
        Assert.Equal("""{"booleanValue":true}""", Json(FirestoreValue.FromBoolean(true)));
        Assert.Equal("""{"integerValue":"9223372036854775807"}""", Json(FirestoreValue.FromInteger(long.MaxValue)));
        Assert.Equal("""{"doubleValue":1.5}""", Json(FirestoreValue.FromDouble(1.5)));
        Assert.Equal("""{"doubleValue":"NaN"}""", Json(FirestoreValue.FromDouble(double.NaN)));
        Assert.Equal("""{"timestampValue":"2024-05-01T10:00:00.1234567Z"}""", Json(FirestoreValue.FromTimestamp(new DateTimeOffset(2024, 5, 1, 12, 0, 0, TimeSpan.FromHours(2)).AddTicks(1_234_567))));
        Assert.Equal("""{"stringValue":"h\u00E9"}""", Json(FirestoreValue.FromString("hé")));
        Assert.Equal("""{"bytesValue":"AAH/"}""", Json(FirestoreValue.FromBytes([0, 1, 255])));
        Assert.Equal("""{"referenceValue":"projects/p/databases/(default)/documents/a/b"}""", Json(FirestoreValue.FromReference(new FirestoreReference("projects/p/databases/(default)/documents/a/b"))));
        Assert.Equal("""{"geoPointValue":{"latitude":52.5,"longitude":-13.25}}""", Json(FirestoreValue.FromGeoPoint(new FirestoreGeoPoint(52.5, -13.25))));
        Assert.Equal("""{"arrayValue":{"values":[{"integerValue":"1"},{"stringValue":"x"}]}}""", Json(FirestoreValue.FromArray([FirestoreValue.FromInteger(1), FirestoreValue.FromString("x")])));
        Assert.Equal("""{"mapValue":{"fields":{"a":{"booleanValue":false}}}}""", Json(FirestoreValue.FromMap([new("a", FirestoreValue.FromBoolean(false))])));
    }

    [Theory]
    [InlineData("""{"nullValue":null}""")]
    [InlineData("""{"integerValue":"-42"}""")]
    [InlineData("""{"doubleValue":"-Infinity"}""")]
    [InlineData("""{"timestampValue":"2024-05-01T10:00:00.1234567Z"}""")]
    [InlineData("""{"arrayValue":{"values":[{"mapValue":{"fields":{"k":{"bytesValue":"AAH/"}}}},{"geoPointValue":{"latitude":1,"longitude":2}}]}}""")]
    [InlineData("""{"mapValue":{"fields":{}}}""")]
    public void Values_round_trip_through_json(string json) =>
        Assert.Equal(json, Json(Parse(json)));

    [Fact]
    public void Empty_array_and_map_objects_from_the_server_are_read()
    {
        Assert.Empty(Parse("""{"arrayValue":{}}""").ArrayValue);
        Assert.Empty(Parse("""{"mapValue":{}}""").MapValue);
        Assert.Equal(7, Parse("""{"integerValue":7}""").IntegerValue);
    }

    public enum Status
    {
        Active,
        Retired,
    }

    public sealed record Device(
        [property: JsonPropertyName("device_id")] string DeviceId,
        long Counter,
        double Temperature,
        bool Enabled,
        DateTimeOffset SeenAt,
        byte[] Key,
        FirestoreGeoPoint Location,
        FirestoreReference Owner,
        IReadOnlyList<string> Tags,
        Dictionary<string, int> Limits,
        Status Status,
        string? Note,
        Address Address,
        List<Address> History);

    public sealed class Address
    {
        public string City { get; set; } = "";

        public int? Zip { get; set; }
    }

    [Fact]
    public void Objects_map_to_fields_and_back_with_every_kind()
    {
        var device = new Device(
            "dev-1", 5_000_000_000, 21.5, true, new DateTimeOffset(2024, 5, 1, 10, 0, 0, TimeSpan.Zero), [1, 2, 3],
            new FirestoreGeoPoint(52.5, 13.4), new FirestoreReference("projects/p/databases/(default)/documents/owners/o1"),
            ["a", "b"], new Dictionary<string, int> { ["max"] = 10 }, Status.Retired, null,
            new Address { City = "Berlin", Zip = 10115 }, [new Address { City = "Hamburg" }]);

        var fields = FirestoreMapper.ToFields(device);
        var back = FirestoreMapper.FromFields<Device>(fields);

        Assert.Equal(FirestoreValueKind.IntegerValue, fields["Counter"].Kind);
        Assert.Equal(FirestoreValueKind.StringValue, fields["device_id"].Kind);
        Assert.Equal(FirestoreValueKind.TimestampValue, fields["SeenAt"].Kind);
        Assert.Equal(FirestoreValueKind.BytesValue, fields["Key"].Kind);
        Assert.Equal(FirestoreValueKind.NullValue, fields["Note"].Kind);
        Assert.Equal(FirestoreValueKind.MapValue, fields["Address"].Kind);
        Assert.Equal("Retired", fields["Status"].StringValue);
        Assert.Equal(device.DeviceId, back.DeviceId);
        Assert.Equal(device.Counter, back.Counter);
        Assert.Equal(device.SeenAt, back.SeenAt);
        Assert.Equal(device.Key, back.Key);
        Assert.Equal(device.Location, back.Location);
        Assert.Equal(device.Owner, back.Owner);
        Assert.Equal(device.Tags, back.Tags);
        Assert.Equal(10, back.Limits["max"]);
        Assert.Equal(Status.Retired, back.Status);
        Assert.Null(back.Note);
        Assert.Equal("Berlin", back.Address.City);
        Assert.Equal(10115, back.Address.Zip);
        Assert.Null(Assert.Single(back.History).Zip);
    }

    [Fact]
    public void Reading_a_value_into_an_incompatible_type_is_a_clear_error()
    {
        var error = Assert.Throws<InvalidCastException>(() => FirestoreMapper.FromValue<int>(FirestoreValue.FromString("x")));

        Assert.Contains("StringValue", error.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidCastException>(() => FirestoreMapper.FromValue<long>(FirestoreValue.Null));
    }

    [Fact]
    public void Update_builds_nested_fields_and_a_quoted_mask()
    {
        var write = FirestoreWrite.Update("devices/d1", new Dictionary<string, object?> { ["stats.count"] = 3, ["odd-name"] = "x" });

        Assert.Equal(["stats.count", "`odd-name`"], write.UpdateMask);
        Assert.Equal(3, write.Fields!["stats"].MapValue["count"].IntegerValue);
        Assert.Equal(true, write.Precondition!.Exists);
    }
}
