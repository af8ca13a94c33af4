using System.Buffers;
using System.Globalization;

namespace Dataflow.Redis.Protocol;

/// <summary>Encodes commands (arrays of bulk strings) and any RESP2/RESP3 value.</summary>
public static class RespWriter
{
    // Beyond this size an argument is encoded into a pooled array and copied in chunks, so a huge value never
    // asks the pipe for one giant contiguous segment.
    private const int ChunkThreshold = 16 * 1024;

    /// <summary>Writes <c>*n</c> followed by the command name and arguments as bulk strings.</summary>
    public static void WriteCommand(IBufferWriter<byte> output, RedisArg command, ReadOnlySpan<RedisArg> arguments)
    {
        ArgumentNullException.ThrowIfNull(output);
        WriteHeader(output, (byte)'*', arguments.Length + 1);
        WriteBulk(output, command);
        foreach (var argument in arguments)
        {
            WriteBulk(output, argument);
        }
    }

    /// <summary>Encodes <paramref name="value"/> (with its attributes) in RESP3.</summary>
    public static void WriteValue(IBufferWriter<byte> output, RespValue value)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(value);
        if (value.Attributes is { } attributes)
        {
            WriteHeader(output, (byte)'|', attributes.Count / 2);
            foreach (var item in attributes)
            {
                WriteValue(output, item);
            }
        }
        switch (value.Type)
        {
            case RespType.SimpleString:
                WriteLine(output, (byte)'+', value.AsBytes().Span);
                break;
            case RespType.SimpleError:
                WriteLine(output, (byte)'-', value.AsBytes().Span);
                break;
            case RespType.Integer:
                WriteHeader(output, (byte)':', value.AsInt64());
                break;
            case RespType.Null:
                WriteLine(output, (byte)'_', []);
                break;
            case RespType.Boolean:
                WriteLine(output, (byte)'#', value.AsBoolean() ? "t"u8 : "f"u8);
                break;
            case RespType.Double:
                WriteLine(output, (byte)',', System.Text.Encoding.ASCII.GetBytes(RespValue.FormatDouble(value.AsDouble())));
                break;
            case RespType.BigNumber:
                WriteLine(output, (byte)'(', value.AsBytes().Span);
                break;
            case RespType.BulkString:
                WriteBlob(output, (byte)'$', [], value.AsBytes().Span);
                break;
            case RespType.BulkError:
                WriteBlob(output, (byte)'!', [], value.AsBytes().Span);
                break;
            case RespType.VerbatimString:
                WriteBlob(output, (byte)'=', System.Text.Encoding.ASCII.GetBytes(value.VerbatimFormat + ":"), value.AsBytes().Span);
                break;
            default:
                var prefix = value.Type switch
                {
                    RespType.Array => (byte)'*',
                    RespType.Set => (byte)'~',
                    RespType.Push => (byte)'>',
                    _ => (byte)'%',
                };
                WriteHeader(output, prefix, value.Type == RespType.Map ? value.Items.Count / 2 : value.Items.Count);
                foreach (var item in value.Items)
                {
                    WriteValue(output, item);
                }
                break;
        }
    }

    private static void WriteBulk(IBufferWriter<byte> output, RedisArg argument)
    {
        var length = argument.ByteCount;
        WriteHeader(output, (byte)'$', length);
        if (length <= ChunkThreshold)
        {
            var span = output.GetSpan(length + 2);
            var written = argument.WriteTo(span);
            span[written] = (byte)'\r';
            span[written + 1] = (byte)'\n';
            output.Advance(written + 2);
            return;
        }
        var rented = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var written = argument.WriteTo(rented);
            output.Write(rented.AsSpan(0, written));
            output.Write("\r\n"u8);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static void WriteHeader(IBufferWriter<byte> output, byte prefix, long number)
    {
        var span = output.GetSpan(24);
        span[0] = prefix;
        number.TryFormat(span[1..], out var digits, default, CultureInfo.InvariantCulture);
        span[digits + 1] = (byte)'\r';
        span[digits + 2] = (byte)'\n';
        output.Advance(digits + 3);
    }

    private static void WriteLine(IBufferWriter<byte> output, byte prefix, ReadOnlySpan<byte> line)
    {
        output.Write([prefix]);
        output.Write(line);
        output.Write("\r\n"u8);
    }

    private static void WriteBlob(IBufferWriter<byte> output, byte prefix, ReadOnlySpan<byte> head, ReadOnlySpan<byte> body)
    {
        WriteHeader(output, prefix, head.Length + body.Length);
        output.Write(head);
        output.Write(body);
        output.Write("\r\n"u8);
    }
}
