using Dataflow.Redis.Protocol;

namespace Dataflow.Redis.Internal;

/// <summary>
/// Replies or failures for several commands, completed together on the thread pool. Caller continuations run
/// there (inline), so they can never stall or deadlock the connection's reader, writer, sweeper or supervisor.
/// </summary>
internal sealed class CompletionBatch : IThreadPoolWorkItem
{
    private readonly List<(IPendingCommand Command, RespValue? Reply, Exception? Error)> _items = new(16);

    public int Count => _items.Count;

    public void Add(IPendingCommand command, RespValue reply) => _items.Add((command, reply, null));

    public void Add(IPendingCommand command, Exception error) => _items.Add((command, null, error));

    public void Dispatch()
    {
        if (_items.Count > 0)
        {
            // The local queue of the dispatching thread: it picks the batch up as soon as its loop awaits again,
            // without waking another thread; idle threads may still steal it.
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: true);
        }
    }

    public void Execute()
    {
        foreach (var (command, reply, error) in _items)
        {
            if (reply is not null)
            {
                command.Complete(reply);
            }
            else
            {
                command.Fail(error!);
            }
        }
    }
}
