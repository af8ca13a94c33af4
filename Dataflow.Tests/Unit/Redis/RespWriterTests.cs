using System.Buffers;
using System.Text;
using Dataflow.Redis;
using Dataflow.Redis.Protocol;

namespace Dataflow.Tests.Unit.Redis;

[Trait("Category", "Unit")]
public sealed class RespWriterTests
{
    private static string Command(RedisArg command, params RedisArg[] arguments)
    {
        var output = new ArrayBufferWriter<byte>();
        RespWriter.WriteCommand(output, command, arguments);
        return Encoding.UTF8.GetString(output.WrittenSpan);
    }

    [Fact]
    public void Command_is_an_array_of_bulk_strings()
    {
        Assert.Equal("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n", Command("SET", "key", "value"));
    }

    [Fact]
    public void Text_arguments_are_sent_as_utf8_with_byte_lengths()
    {
        Assert.Equal("*2\r\n$3\r\nGET\r\n$6\r\nké€\r\n", Command("GET", "ké€"));
    }

    [Fact]
    public void Numbers_are_sent_in_invariant_decimal_form()
    {
        Assert.Equal("*4\r\n$4\r\nZADD\r\n$2\r\n-7\r\n$3\r\n1.5\r\n$4\r\n+inf\r\n", Command("ZADD", -7L, 1.5, double.PositiveInfinity));
    }

    [Fact]
    public void Binary_arguments_are_sent_unchanged()
    {
        var output = new ArrayBufferWriter<byte>();
        RespWriter.WriteCommand(output, "SET", ["k", new byte[] { 0, 13, 10, 255 }]);
        Assert.Equal("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\n"u8.ToArray().Concat(new byte[] { 0, 13, 10, 255, 13, 10 }), output.WrittenSpan.ToArray());
    }

    [Fact]
    public void Prefixed_key_is_written_as_one_argument()
    {
        Assert.Equal("*2\r\n$3\r\nGET\r\n$7\r\napp:key\r\n", Command("GET", RedisArg.Key("app:", "key")));
    }

    [Fact]
    public void Large_argument_is_written_whole()
    {
        var big = new string('x', 100_000) + "é";
        var text = Command("SET", "k", big);
        Assert.EndsWith($"$100002\r\n{big}\r\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Empty_argument_is_rejected() =>
        Assert.Throws<ArgumentException>(() => Command("GET", default(RedisArg)));

    [Fact]
    public void Written_command_reads_back_as_an_array()
    {
        var output = new ArrayBufferWriter<byte>();
        RespWriter.WriteCommand(output, "HSET", ["h", "f", 12]);
        var value = RespReader.Parse(output.WrittenSpan);
        Assert.Equal(["HSET", "h", "f", "12"], value.Items.Select(i => i.AsString()));
    }
}
