namespace Dataflow.Hosting.Processes;

public enum LogStream
{
    StandardOutput,
    StandardError,
}

public sealed record LogLine(DateTimeOffset Timestamp, LogStream Stream, string Text);

/// <summary>A bounded, thread-safe ring of a process's most recent output lines with a live feed.</summary>
public sealed class LogBuffer(int capacity)
{
    private readonly Queue<LogLine> _lines = new(capacity);
    private readonly Lock _gate = new();
    private long _total;

    /// <summary>How many lines were ever written; line n (1-based) has sequence number n.</summary>
    public long TotalWritten
    {
        get
        {
            lock (_gate)
            {
                return _total;
            }
        }
    }

    /// <summary>The retained lines with a sequence number greater than <paramref name="sequence"/>, and the last sequence number.</summary>
    public (IReadOnlyList<LogLine> Lines, long LastSequence) ReadAfter(long sequence)
    {
        lock (_gate)
        {
            var first = _total - _lines.Count + 1;
            var skip = (int)Math.Clamp(sequence - first + 1, 0, _lines.Count);
            return ([.. _lines.Skip(skip)], _total);
        }
    }

    /// <summary>Raised for every line as it arrives (on the reader thread; handlers must be quick).</summary>
    public event Action<LogLine>? LineWritten;

    public void Write(LogStream stream, string text)
    {
        var line = new LogLine(DateTimeOffset.UtcNow, stream, text);
        lock (_gate)
        {
            if (_lines.Count == capacity)
            {
                _lines.Dequeue();
            }
            _lines.Enqueue(line);
            _total++;
        }
        LineWritten?.Invoke(line);
    }

    public IReadOnlyList<LogLine> Snapshot()
    {
        lock (_gate)
        {
            return [.. _lines];
        }
    }

    /// <summary>The last <paramref name="count"/> lines as plain text, oldest first.</summary>
    public string Tail(int count = 50)
    {
        var lines = Snapshot();
        return string.Join('\n', lines.Skip(Math.Max(0, lines.Count - count)).Select(l => l.Text));
    }
}
