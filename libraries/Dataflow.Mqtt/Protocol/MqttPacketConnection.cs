using System.Buffers;
using System.IO.Pipelines;
using System.Threading.Channels;

namespace Dataflow.Mqtt.Protocol;

/// <summary>
/// One MQTT network connection: packets are read from a <see cref="PipeReader"/> and written by a single writer loop
/// that drains an outbound queue into a <see cref="PipeWriter"/>, flushing once per batch. Used by the client and
/// the broker. Any read or write failure aborts the whole connection.
/// </summary>
internal sealed class MqttPacketConnection : IAsyncDisposable
{
    /// <summary>Above this many queued packets, QoS 0 senders wait for the writer (backpressure).</summary>
    private const int OutboundHighWaterMark = 4096;

    private readonly Stream _stream;
    private readonly PipeReader _reader;
    private readonly PipeWriter _writer;
    private readonly Channel<MqttPacket> _outbound = Channel.CreateUnbounded<MqttPacket>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _aborted = new();
    private readonly TaskCompletionSource _writerFinished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _disposed;
    private int _queued;
    private readonly Lock _drainedLock = new();
    private TaskCompletionSource? _drained;

    public MqttPacketConnection(Stream stream, int maximumIncomingPacketSize)
    {
        _stream = stream;
        MaximumIncomingPacketSize = maximumIncomingPacketSize;
        _reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 65_536, minimumReadSize: 16_384, leaveOpen: true));
        _writer = PipeWriter.Create(stream, new StreamPipeWriterOptions(minimumBufferSize: 65_536, leaveOpen: true));
    }

    /// <summary>The negotiated version; CONNECT is always decodable before it is known.</summary>
    public MqttProtocolVersion Version { get; set; } = MqttProtocolVersion.V500;

    public int MaximumIncomingPacketSize { get; set; }

    /// <summary>The peer's maximum packet size (MQTT 5.0); 0 when unlimited.</summary>
    public int MaximumOutgoingPacketSize { get; set; }

    /// <summary>Cancelled when the connection is aborted from any side.</summary>
    public CancellationToken Aborted => _aborted.Token;

    public long LastSentTimestamp { get; private set; } = Environment.TickCount64;

    /// <summary>Packets waiting for the writer loop.</summary>
    public int QueuedCount => Volatile.Read(ref _queued);

    public long LastReceivedTimestamp { get; private set; } = Environment.TickCount64;

    /// <summary>Reads the next packet; null when the peer closed the connection cleanly between packets.</summary>
    public async ValueTask<MqttPacket?> ReadAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await _reader.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            MqttPacket? packet;
            try
            {
                if (MqttPacketDecoder.TryDecode(ref buffer, Version, MaximumIncomingPacketSize, out packet))
                {
                    _reader.AdvanceTo(buffer.Start);
                    LastReceivedTimestamp = Environment.TickCount64;
                    return packet;
                }
            }
            catch (MqttProtocolException)
            {
                _reader.AdvanceTo(buffer.Start);
                throw;
            }

            _reader.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted || result.IsCanceled)
            {
                if (buffer.IsEmpty)
                {
                    return null;
                }

                throw MqttProtocolException.Malformed("Connection closed in the middle of a packet.");
            }
        }
    }

    /// <summary>Writes and flushes one packet directly; only for the handshake, before <see cref="RunWriterAsync"/>.</summary>
    public async ValueTask SendDirectAsync(MqttPacket packet, CancellationToken cancellationToken)
    {
        MqttPacketEncoder.Write(_writer, packet, Version);
        LastSentTimestamp = Environment.TickCount64;
        await _writer.FlushAsync(cancellationToken);
    }

    /// <summary>Queues a packet for the writer loop. Never blocks; false when the connection is closed.</summary>
    public bool Enqueue(MqttPacket packet)
    {
        Interlocked.Increment(ref _queued);
        if (_outbound.Writer.TryWrite(packet))
        {
            return true;
        }

        Interlocked.Decrement(ref _queued);
        return false;
    }

    /// <summary>
    /// Queues a packet; while the queue is above the high-water mark, waits until the writer has drained it to half
    /// (backpressure for QoS 0, which has no acknowledgement to pace it).
    /// </summary>
    public async ValueTask EnqueueWithBackpressureAsync(MqttPacket packet, CancellationToken cancellationToken)
    {
        while (QueuedCount >= OutboundHighWaterMark)
        {
            if (_aborted.IsCancellationRequested)
            {
                throw new MqttConnectionLostException();
            }

            TaskCompletionSource drained;
            lock (_drainedLock)
            {
                drained = _drained ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            // Re-check after publishing the signal: the writer may have drained in between.
            if (QueuedCount >= OutboundHighWaterMark)
            {
                // The writer signals on every drain and when it stops, so this never outlives the connection.
                await drained.Task.WaitAsync(cancellationToken);
            }
        }

        if (!Enqueue(packet))
        {
            throw new MqttConnectionLostException();
        }
    }

    private void SignalDrained()
    {
        TaskCompletionSource? drained;
        lock (_drainedLock)
        {
            drained = _drained;
            _drained = null;
        }

        drained?.TrySetResult();
    }

    /// <summary>Drains the outbound queue until the connection ends; a write failure aborts the connection.</summary>
    public async Task RunWriterAsync()
    {
        var reader = _outbound.Reader;
        try
        {
            while (await reader.WaitToReadAsync(_aborted.Token))
            {
                while (reader.TryRead(out var packet))
                {
                    if (Interlocked.Decrement(ref _queued) == OutboundHighWaterMark / 2)
                    {
                        SignalDrained();
                    }

                    MqttPacketEncoder.Write(_writer, packet, Version);
                }

                LastSentTimestamp = Environment.TickCount64;
                var flush = await _writer.FlushAsync(_aborted.Token);
                if (QueuedCount < OutboundHighWaterMark)
                {
                    SignalDrained();
                }

                if (flush.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException or ArgumentException)
        {
            // The connection is over either way (an unencodable packet is a bug, validated before queueing); the
            // reader side reports why.
        }
        finally
        {
            _writerFinished.TrySetResult();
            SignalDrained();
            Abort();
        }
    }

    /// <summary>
    /// Lets the writer loop flush what is queued plus an optional final packet (DISCONNECT, a refusing CONNACK), waits
    /// briefly for it, then closes.
    /// </summary>
    public async ValueTask CloseAsync(MqttPacket? finalPacket, TimeSpan timeout)
    {
        if (!_aborted.IsCancellationRequested && (finalPacket is null || Enqueue(finalPacket)))
        {
            // Completing the queue lets the writer loop write, flush and exit on its own.
            _outbound.Writer.TryComplete();
            try
            {
                await _writerFinished.Task.WaitAsync(timeout);
            }
            catch (TimeoutException)
            {
                // Best effort: the peer learns from the closed socket instead.
            }
        }

        Abort();
    }

    public void Abort()
    {
        _outbound.Writer.TryComplete();
        if (_aborted.IsCancellationRequested)
        {
            return;
        }

        _aborted.Cancel();

        _reader.CancelPendingRead();
        _stream.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        Abort();
        try
        {
            await _reader.CompleteAsync();
            await _writer.CompleteAsync();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            // Unflushed bytes of a dead connection: nothing left to deliver them to.
        }

        // _aborted is deliberately not disposed: late callers (an AckAsync on an old message) still read its token,
        // and a source without a timer holds nothing that needs disposing.
        await _stream.DisposeAsync();
    }

}
