using System.Buffers;
using System.Text;
using Dataflow.Redis;
using Dataflow.Redis.Protocol;

namespace Dataflow.Tests.Unit.Redis;

/// <summary>
/// Random, truncated and mutated input only ever yields a value, "incomplete", or RedisProtocolException.
/// Seeds are fixed so a failure reproduces.
/// </summary>
[Trait("Category", "Unit")]
public sealed class RespFuzzTests
{
    [Fact]
    public void Random_bytes_yield_values_incomplete_or_the_protocol_exception()
    {
        var random = new Random(5001);
        for (var round = 0; round < 20_000; round++)
        {
            var bytes = new byte[random.Next(1, 64)];
            random.NextBytes(bytes);
            // Bias towards RESP-looking input so the parser gets past the first byte.
            if (random.Next(2) == 0)
            {
                bytes[0] = "+-:$*_#,(!=%~>|"u8[random.Next(15)];
            }
            ReadAll(bytes);
        }
    }

    [Fact]
    public void Every_truncation_of_a_valid_value_reads_as_incomplete()
    {
        var random = new Random(5002);
        for (var round = 0; round < 300; round++)
        {
            var value = RandomValue(random, 0);
            var encoded = Encode(value);
            for (var length = 0; length < encoded.Length; length++)
            {
                var sequence = new ReadOnlySequence<byte>(encoded, 0, length);
                Assert.False(RespReader.TryRead(sequence, out _, out var consumed), $"A prefix of {length}/{encoded.Length} bytes of {value} was read as complete.");
                Assert.Equal(sequence.Start, consumed);
            }
            Assert.Equal(value, RespReader.Parse(encoded));
        }
    }

    [Fact]
    public void Mutated_valid_values_yield_values_incomplete_or_the_protocol_exception()
    {
        var random = new Random(5003);
        for (var round = 0; round < 5_000; round++)
        {
            var encoded = Encode(RandomValue(random, 0));
            var mutations = random.Next(1, 4);
            for (var i = 0; i < mutations; i++)
            {
                encoded[random.Next(encoded.Length)] = random.Next(3) switch
                {
                    0 => (byte)random.Next(256),
                    1 => "\r\n-?.0123456789"u8[random.Next(15)],
                    _ => "+-:$*_#,(!=%~>|;"u8[random.Next(16)],
                };
            }
            ReadAll(encoded);
        }
    }

    [Fact]
    public void Random_values_survive_a_write_read_round_trip_in_random_segments()
    {
        var random = new Random(5004);
        for (var round = 0; round < 1_000; round++)
        {
            var value = RandomValue(random, 0);
            var encoded = Encode(value);
            var split = random.Next(encoded.Length + 1);
            var sequence = SegmentedSequence.Create(encoded.AsMemory(0, split), encoded.AsMemory(split));
            Assert.True(RespReader.TryRead(sequence, out var read, out var consumed));
            Assert.Equal(sequence.End, consumed);
            Assert.Equal(value, read);
        }
    }

    private static void ReadAll(byte[] bytes)
    {
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(bytes));
        try
        {
            while (RespReader.TryRead(ref reader, out var value))
            {
                Assert.NotNull(value);
            }
        }
        catch (RedisProtocolException)
        {
            // The one permitted failure.
        }
    }

    private static byte[] Encode(RespValue value)
    {
        var output = new ArrayBufferWriter<byte>();
        RespWriter.WriteValue(output, value);
        return output.WrittenSpan.ToArray();
    }

    private static RespValue RandomValue(Random random, int depth)
    {
        var kind = random.Next(depth > 3 ? 10 : 15);
        var value = kind switch
        {
            0 => RespValue.SimpleString(RandomText(random, lineSafe: true)),
            1 => RespValue.SimpleError("ERR " + RandomText(random, lineSafe: true)),
            2 => RespValue.Integer(random.NextInt64(long.MinValue, long.MaxValue)),
            3 => RespValue.BulkString(RandomBytes(random)),
            4 => RespValue.Null,
            5 => RespValue.Boolean(random.Next(2) == 0),
            6 => RespValue.Double(random.Next(8) == 0 ? double.NegativeInfinity : (random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-20, 20))),
            7 => RespValue.BigNumber(new System.Numerics.BigInteger(random.NextInt64()) * random.NextInt64() * (random.Next(2) == 0 ? -1 : 1)),
            8 => RespValue.BulkError("SYNTAX " + RandomText(random, lineSafe: false)),
            9 => RespValue.Verbatim(random.Next(2) == 0 ? "txt" : "mkd", RandomText(random, lineSafe: false)),
            10 => RespValue.Array(Children(random, depth)),
            11 => RespValue.Set(Children(random, depth)),
            12 => RespValue.Push(Children(random, depth)),
            13 => RespValue.Map([.. Enumerable.Range(0, 2 * random.Next(3)).Select(_ => RandomValue(random, depth + 1))]),
            _ => RespValue.Array(Children(random, depth)),
        };
        return random.Next(12) == 0 && depth < 3 ? value.WithAttributes(RespValue.SimpleString("attr"), RandomValue(random, depth + 1)) : value;
    }

    private static RespValue[] Children(Random random, int depth) =>
        [.. Enumerable.Range(0, random.Next(4)).Select(_ => RandomValue(random, depth + 1))];

    private static byte[] RandomBytes(Random random)
    {
        var bytes = new byte[random.Next(0, 40)];
        random.NextBytes(bytes);
        return bytes;
    }

    private static string RandomText(Random random, bool lineSafe)
    {
        const string Alphabet = "abcXYZ019 _-:é€\r\n";
        var length = random.Next(0, 20);
        var text = new StringBuilder(length);
        for (var i = 0; i < length; i++)
        {
            var c = Alphabet[random.Next(Alphabet.Length)];
            text.Append(lineSafe && c is '\r' or '\n' ? 'x' : c);
        }
        return text.ToString();
    }
}
