using Dataflow.Redis.Protocol;

namespace Dataflow.Redis.Internal;

/// <summary>A command on its way through a connection, as the queues see it.</summary>
internal interface IPendingCommand
{
    RedisArg Command { get; }

    RedisArg[] Arguments { get; }

    /// <summary>Environment.TickCount64 after which the command times out.</summary>
    long Deadline { get; }

    bool IsCompleted { get; }

    void Complete(RespValue reply);

    void Fail(Exception error);
}

/// <summary>
/// A command queued, then written and waiting (FIFO) for its reply, which <paramref name="project"/> turns into
/// the caller's result. Completing it early (timeout, cancellation) is safe: the writer skips it if not yet
/// sent, and the reader still consumes its reply when it was. Whichever completion wins releases the
/// connection's capacity slot, exactly once.
/// </summary>
internal sealed class PendingCommand<T>(RedisConnection owner, RedisArg command, RedisArg[] arguments, long deadline, Func<RespValue, T> project)
    : TaskCompletionSource<T>, IPendingCommand
{
    private CancellationTokenRegistration _cancellation;

    public RedisArg Command { get; } = command;

    public RedisArg[] Arguments { get; } = arguments;

    public long Deadline { get; } = deadline;

    public bool IsCompleted => Task.IsCompleted;

    public void CancelWith(CancellationToken cancellationToken) =>
        _cancellation = cancellationToken.UnsafeRegister(static (state, token) => ((PendingCommand<T>)state!).Cancel(token), this);

    public void Complete(RespValue reply)
    {
        if (reply.IsError)
        {
            Fail(new RedisServerException(reply.AsString() ?? ""));
            return;
        }
        T result;
        try
        {
            result = project(reply);
        }
        catch (Exception ex) when (ex is InvalidCastException or FormatException or OverflowException or RedisException)
        {
            Fail(new RedisProtocolException($"Unexpected reply to {Command}: {reply}.", ex));
            return;
        }
        if (TrySetResult(result))
        {
            Finished();
        }
    }

    public void Fail(Exception error)
    {
        if (TrySetException(error))
        {
            Finished();
        }
    }

    private void Cancel(CancellationToken token)
    {
        if (TrySetCanceled(token))
        {
            Finished();
        }
    }

    private void Finished()
    {
        _cancellation.Unregister();
        owner.ReleaseSlot();
    }
}
