using System.Numerics;
using System.Text;
using Dataflow.Redis;
using Dataflow.Redis.Protocol;

namespace Dataflow.Tests.Unit.Redis;

[Trait("Category", "Unit")]
public sealed class RespReaderTests
{
    private static RespValue Parse(string resp) => RespReader.Parse(Encoding.UTF8.GetBytes(resp));

    [Fact]
    public void Simple_string_is_read_with_its_text()
    {
        var value = Parse("+hello world\r\n");
        Assert.Equal(RespType.SimpleString, value.Type);
        Assert.Equal("hello world", value.AsString());
    }

    [Fact]
    public void Simple_error_is_read_as_an_error_value()
    {
        var value = Parse("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
        Assert.Equal(RespType.SimpleError, value.Type);
        Assert.True(value.IsError);
        Assert.StartsWith("WRONGTYPE", value.AsString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(":0\r\n", 0L)]
    [InlineData(":-42\r\n", -42L)]
    [InlineData(":9223372036854775807\r\n", long.MaxValue)]
    [InlineData(":-9223372036854775808\r\n", long.MinValue)]
    public void Integer_is_read_over_the_full_64_bit_range(string resp, long expected) =>
        Assert.Equal(expected, Parse(resp).AsInt64());

    [Fact]
    public void Bulk_string_keeps_binary_content_including_crlf()
    {
        var value = RespReader.Parse([(byte)'$', (byte)'4', 13, 10, 0, 13, 10, 255, 13, 10]);
        Assert.Equal(RespType.BulkString, value.Type);
        Assert.Equal(new byte[] { 0, 13, 10, 255 }, value.AsBytes().ToArray());
    }

    [Fact]
    public void Empty_bulk_string_is_not_null()
    {
        var value = Parse("$0\r\n\r\n");
        Assert.False(value.IsNull);
        Assert.Equal("", value.AsString());
    }

    [Theory]
    [InlineData("$-1\r\n")]
    [InlineData("*-1\r\n")]
    [InlineData("_\r\n")]
    public void Resp2_and_resp3_nulls_are_read_as_null(string resp)
    {
        var value = Parse(resp);
        Assert.True(value.IsNull);
        Assert.Null(value.AsString());
    }

    [Fact]
    public void Nested_arrays_are_read_in_order()
    {
        var value = Parse("*3\r\n:1\r\n*2\r\n+a\r\n$1\r\nb\r\n*0\r\n");
        Assert.Equal(RespType.Array, value.Type);
        Assert.Equal(3, value.Items.Count);
        Assert.Equal(1, value.Items[0].AsInt64());
        Assert.Equal(["a", "b"], value.Items[1].Items.Select(i => i.AsString()));
        Assert.Empty(value.Items[2].Items);
    }

    [Theory]
    [InlineData("#t\r\n", true)]
    [InlineData("#f\r\n", false)]
    public void Boolean_is_read(string resp, bool expected) => Assert.Equal(expected, Parse(resp).AsBoolean());

    [Theory]
    [InlineData(",1.5\r\n", 1.5)]
    [InlineData(",-0.25\r\n", -0.25)]
    [InlineData(",10\r\n", 10d)]
    [InlineData(",1.23e10\r\n", 1.23e10)]
    [InlineData(",inf\r\n", double.PositiveInfinity)]
    [InlineData(",-inf\r\n", double.NegativeInfinity)]
    public void Double_is_read_including_infinities(string resp, double expected) => Assert.Equal(expected, Parse(resp).AsDouble());

    [Fact]
    public void Double_nan_is_read() => Assert.True(double.IsNaN(Parse(",nan\r\n").AsDouble()));

    [Fact]
    public void Big_number_is_read_beyond_64_bits()
    {
        var value = Parse("(3492890328409238509324850943850943825024385\r\n");
        Assert.Equal(RespType.BigNumber, value.Type);
        Assert.Equal(BigInteger.Parse("3492890328409238509324850943850943825024385", System.Globalization.CultureInfo.InvariantCulture), value.AsBigInteger());
    }

    [Fact]
    public void Bulk_error_is_read_as_an_error_value()
    {
        var value = Parse("!21\r\nSYNTAX invalid syntax\r\n");
        Assert.Equal(RespType.BulkError, value.Type);
        Assert.Equal("SYNTAX invalid syntax", value.AsString());
    }

    [Fact]
    public void Verbatim_string_separates_format_and_text()
    {
        var value = Parse("=15\r\ntxt:Some string\r\n");
        Assert.Equal(RespType.VerbatimString, value.Type);
        Assert.Equal("txt", value.VerbatimFormat);
        Assert.Equal("Some string", value.AsString());
    }

    [Fact]
    public void Map_is_read_as_key_value_pairs()
    {
        var value = Parse("%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n");
        Assert.Equal(RespType.Map, value.Type);
        Assert.Equal(["first", "1", "second", "2"], value.Items.Select(i => i.AsString()));
    }

    [Fact]
    public void Set_and_push_are_read_with_their_types()
    {
        Assert.Equal(RespType.Set, Parse("~2\r\n+a\r\n+b\r\n").Type);
        var push = Parse(">2\r\n+invalidate\r\n*1\r\n$3\r\nkey\r\n");
        Assert.Equal(RespType.Push, push.Type);
        Assert.Equal("invalidate", push.Items[0].AsString());
    }

    [Fact]
    public void Attributes_are_attached_to_the_value_that_follows()
    {
        var value = Parse("|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,0.0012\r\n*2\r\n:2039123\r\n:9543892\r\n");
        Assert.Equal(RespType.Array, value.Type);
        Assert.Equal([2039123L, 9543892L], value.Items.Select(i => i.AsInt64()));
        Assert.NotNull(value.Attributes);
        Assert.Equal("key-popularity", value.Attributes[0].AsString());
        Assert.Equal(RespType.Map, value.Attributes[1].Type);
    }

    [Fact]
    public void Streamed_string_is_joined_from_its_chunks()
    {
        var value = Parse("$?\r\n;4\r\nHell\r\n;5\r\no wor\r\n;1\r\nd\r\n;0\r\n");
        Assert.Equal("Hello word", value.AsString());
    }

    [Fact]
    public void Streamed_aggregate_ends_at_the_terminator()
    {
        var value = Parse("*?\r\n:1\r\n:2\r\n:3\r\n.\r\n");
        Assert.Equal([1L, 2L, 3L], value.Items.Select(i => i.AsInt64()));
        var map = Parse("%?\r\n+a\r\n:1\r\n.\r\n");
        Assert.Equal(RespType.Map, map.Type);
        Assert.Equal(2, map.Items.Count);
    }

    [Fact]
    public void Several_values_in_one_buffer_are_read_one_after_another()
    {
        var bytes = Encoding.ASCII.GetBytes("+OK\r\n:5\r\n$3\r\nabc\r\n");
        var reader = new System.Buffers.SequenceReader<byte>(new System.Buffers.ReadOnlySequence<byte>(bytes));
        var values = new List<RespValue>();
        while (RespReader.TryRead(ref reader, out var value))
        {
            values.Add(value);
        }
        Assert.Equal(["OK", "5", "abc"], values.Select(v => v.AsString()));
        Assert.True(reader.End);
    }

    [Fact]
    public void Value_split_across_segments_is_read()
    {
        var bytes = Encoding.ASCII.GetBytes("*2\r\n$5\r\nhello\r\n:123\r\n");
        for (var split = 1; split < bytes.Length; split++)
        {
            var sequence = SegmentedSequence.Create(bytes.AsMemory(0, split), bytes.AsMemory(split));
            Assert.True(RespReader.TryRead(sequence, out var value, out var consumed));
            Assert.Equal(sequence.End, consumed);
            Assert.Equal("hello", value.Items[0].AsString());
            Assert.Equal(123, value.Items[1].AsInt64());
        }
    }

    [Fact]
    public void Incomplete_value_consumes_nothing()
    {
        var sequence = new System.Buffers.ReadOnlySequence<byte>(Encoding.ASCII.GetBytes("*2\r\n:1\r\n"));
        Assert.False(RespReader.TryRead(sequence, out var value, out var consumed));
        Assert.Null(value);
        Assert.Equal(sequence.Start, consumed);
    }

    [Fact]
    public void Huge_declared_aggregate_length_allocates_nothing_until_the_bytes_arrive()
    {
        var sequence = new System.Buffers.ReadOnlySequence<byte>(Encoding.ASCII.GetBytes("*1000000000\r\n:1\r\n"));
        var before = GC.GetAllocatedBytesForCurrentThread();
        Assert.False(RespReader.TryRead(sequence, out _, out _));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1024 * 1024);
    }

    [Theory]
    [InlineData("?x\r\n")]
    [InlineData("+OK\n")]
    [InlineData("+O\rK\r\n")]
    [InlineData(":12a\r\n")]
    [InlineData(":\r\n")]
    [InlineData(":99999999999999999999\r\n")]
    [InlineData("$-2\r\n")]
    [InlineData("$3\r\nabcd\r\n")]
    [InlineData("$x\r\n")]
    [InlineData("$600000000\r\n")]
    [InlineData("*-2\r\n")]
    [InlineData("%-1\r\n")]
    [InlineData("#x\r\n")]
    [InlineData("_x\r\n")]
    [InlineData(",abc\r\n")]
    [InlineData(",\r\n")]
    [InlineData("(12x\r\n")]
    [InlineData("(\r\n")]
    [InlineData("=3\r\ntxt\r\n")]
    [InlineData("=5\r\ntxt-a\r\n")]
    [InlineData("!-1\r\n")]
    [InlineData("$?\r\n:1\r\n")]
    [InlineData("*?\r\n.x\r\n")]
    [InlineData("%?\r\n+a\r\n.\r\n")]
    [InlineData("|-1\r\n")]
    public void Malformed_input_raises_the_protocol_exception(string resp) =>
        Assert.Throws<RedisProtocolException>(() => Parse(resp));

    [Fact]
    public void Nesting_beyond_the_limit_raises_the_protocol_exception()
    {
        var deep = string.Concat(Enumerable.Repeat("*1\r\n", RespReader.MaxDepth + 2)) + ":1\r\n";
        Assert.Throws<RedisProtocolException>(() => Parse(deep));
        var allowed = string.Concat(Enumerable.Repeat("*1\r\n", RespReader.MaxDepth)) + ":1\r\n";
        Assert.Equal(RespType.Array, Parse(allowed).Type);
    }

    [Fact]
    public void Line_without_terminator_beyond_the_limit_raises_the_protocol_exception()
    {
        var sequence = new System.Buffers.ReadOnlySequence<byte>(Encoding.ASCII.GetBytes("+" + new string('a', RespReader.MaxLineLength + 10)));
        Assert.Throws<RedisProtocolException>(() => RespReader.TryRead(sequence, out _, out _));
    }

    [Fact]
    public void Trailing_bytes_after_a_parsed_value_are_reported()
    {
        Assert.Throws<RedisProtocolException>(() => Parse("+OK\r\n+extra"));
    }
}
