using Dataflow.Google.Core;

namespace Dataflow.Pipeline;

/// <summary>Settles one received message at its source (Pub/Sub ack id, MQTT packet id, ...).</summary>
public interface IAckHandle
{
    ValueTask AckAsync(CancellationToken cancellationToken);

    ValueTask NackAsync(CancellationToken cancellationToken);
}

/// <summary>How a message was finally settled.</summary>
public enum MessageOutcome
{
    Acked,
    Nacked,
}

/// <summary>
/// A message received from a source. It is settled exactly once: the first <see cref="AckAsync"/> or
/// <see cref="NackAsync"/> wins, later calls are no-ops that return false.
/// </summary>
public sealed class Message
{
    private readonly IAckHandle _ackHandle;
    private int _settled;
    private Action<Message, MessageOutcome>? _onSettled;

    public Message(
        string id,
        ReadOnlyMemory<byte> data,
        IReadOnlyDictionary<string, string> attributes,
        DateTimeOffset publishTime,
        IAckHandle ackHandle)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentNullException.ThrowIfNull(attributes);
        ArgumentNullException.ThrowIfNull(ackHandle);
        Id = id;
        Data = data;
        Attributes = attributes;
        PublishTime = publishTime;
        _ackHandle = ackHandle;
        Size = data.Length + id.Length + AttributeSize.Of(attributes);
    }

    /// <summary>The source's message id (unique per source).</summary>
    public string Id { get; }

    public ReadOnlyMemory<byte> Data { get; }

    public IReadOnlyDictionary<string, string> Attributes { get; }

    public DateTimeOffset PublishTime { get; }

    /// <summary>Approximate size in bytes, used for flow control.</summary>
    public int Size { get; }

    public bool IsSettled => Volatile.Read(ref _settled) != 0;

    public ValueTask<bool> AckAsync(CancellationToken cancellationToken = default) =>
        SettleAsync(MessageOutcome.Acked, cancellationToken);

    public ValueTask<bool> NackAsync(CancellationToken cancellationToken = default) =>
        SettleAsync(MessageOutcome.Nacked, cancellationToken);

    /// <summary>Registers the pipeline's bookkeeping (flow control, in-flight gauge); called once on settle.</summary>
    internal void OnSettled(Action<Message, MessageOutcome> callback) => _onSettled = callback;

    private async ValueTask<bool> SettleAsync(MessageOutcome outcome, CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _settled, 1) != 0)
        {
            return false;
        }

        try
        {
            if (outcome == MessageOutcome.Acked)
            {
                await _ackHandle.AckAsync(cancellationToken);
            }
            else
            {
                await _ackHandle.NackAsync(cancellationToken);
            }
        }
        finally
        {
            _onSettled?.Invoke(this, outcome);
        }

        return true;
    }
}
