using System.Numerics;
using Dataflow.Redis.Protocol;

namespace Dataflow.Tests.Unit.Redis;

[Trait("Category", "Unit")]
public sealed class RespValueTests
{
    [Fact]
    public void Numbers_sent_as_bulk_strings_convert_like_resp3_numbers()
    {
        Assert.Equal(42, RespValue.BulkString("42").AsInt64());
        Assert.Equal(2.5, RespValue.BulkString("2.5").AsDouble());
        Assert.Equal(double.PositiveInfinity, RespValue.BulkString("inf").AsDouble());
        Assert.Equal(7d, RespValue.Integer(7).AsDouble());
        Assert.Equal(new BigInteger(-3), RespValue.Integer(-3).AsBigInteger());
    }

    [Fact]
    public void Conversion_to_a_type_the_value_is_not_throws_invalid_cast()
    {
        Assert.Throws<InvalidCastException>(() => RespValue.BulkString("abc").AsInt64());
        Assert.Throws<InvalidCastException>(() => RespValue.Null.AsInt64());
        Assert.Throws<InvalidCastException>(() => RespValue.Integer(1).Items);
        Assert.Throws<InvalidCastException>(() => RespValue.Array().AsBytes());
        Assert.Throws<InvalidCastException>(() => RespValue.BulkString("x").AsBoolean());
    }

    [Fact]
    public void Equal_values_compare_equal_including_attributes()
    {
        var left = RespValue.Map(RespValue.SimpleString("k"), RespValue.Array(RespValue.Integer(1), RespValue.Null));
        var right = RespValue.Map(RespValue.SimpleString("k"), RespValue.Array(RespValue.Integer(1), RespValue.Null));
        Assert.Equal(left, right);
        Assert.Equal(left.GetHashCode(), right.GetHashCode());
        Assert.NotEqual(left, right.WithAttributes(RespValue.SimpleString("a"), RespValue.True));
        Assert.NotEqual(RespValue.SimpleString("x"), RespValue.BulkString("x"));
    }

    [Fact]
    public void Invalid_constructions_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => RespValue.SimpleString("two\r\nlines"));
        Assert.Throws<ArgumentException>(() => RespValue.Map(RespValue.Null));
        Assert.Throws<ArgumentException>(() => RespValue.Verbatim("text", "x"));
    }

    [Fact]
    public void Text_forms_are_readable()
    {
        Assert.Equal("true", RespValue.True.AsString());
        Assert.Equal("-inf", RespValue.Double(double.NegativeInfinity).AsString());
        Assert.Equal("txt:hi", RespValue.Verbatim("txt", "hi").ToString());
        Assert.Equal("Array[Integer(1), (null)]", RespValue.Array(RespValue.Integer(1), RespValue.Null).ToString());
    }
}
