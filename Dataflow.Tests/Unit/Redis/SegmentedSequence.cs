using System.Buffers;

namespace Dataflow.Tests.Unit.Redis;

/// <summary>Builds a multi-segment ReadOnlySequence, as a socket delivers data in pieces.</summary>
internal static class SegmentedSequence
{
    public static ReadOnlySequence<byte> Create(params ReadOnlyMemory<byte>[] pieces)
    {
        var first = new Segment(pieces[0], 0);
        var last = first;
        foreach (var piece in pieces.Skip(1))
        {
            last = last.Append(piece);
        }
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
