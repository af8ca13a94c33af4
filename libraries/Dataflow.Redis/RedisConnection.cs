using System.Diagnostics;
using Dataflow.Redis.Internal;
using Dataflow.Redis.Protocol;

namespace Dataflow.Redis;

/// <summary>
/// One multiplexed, pipelined connection to Redis shared by any number of concurrent callers. Commands are
/// queued, written in batches (one flush for everything queued meanwhile) and matched to replies in FIFO order.
/// The connection reconnects by itself with exponential backoff and jitter; commands written before a loss
/// fail with <see cref="RedisConnectionException"/>, commands not yet written wait for the reconnect (up to
/// their timeout). Every command has a timeout; nothing waits forever.
/// </summary>
public sealed class RedisConnection : IAsyncDisposable
{
    private readonly RedisConnectionOptions _options;
    private readonly Lock _queueLock = new();
    // Outstanding commands are counted with Interlocked; callers only touch the semaphore when the limit is reached.
    private readonly SemaphoreSlim _slotFreed = new(0);
    private readonly CancellationTokenSource _lifetime = new();
    private readonly TimeSpan _sweepInterval;
    private Queue<IPendingCommand> _queued = new();
    private TaskCompletionSource? _queueSignal;
    private bool _closed;
    private volatile RedisSocketConnection? _current;
    private volatile Exception? _lastError;
    private Task _supervisor = Task.CompletedTask;
    private Task _sweeper = Task.CompletedTask;
    private int _endPointIndex;
    private int _pending;
    private int _slotWaiters;
    private int _disposed;

    private RedisConnection(RedisConnectionOptions options)
    {
        _options = options;
        _sweepInterval = TimeSpan.FromTicks(Math.Clamp(options.CommandTimeout.Ticks / 10, TimeSpan.TicksPerMillisecond * 5, TimeSpan.TicksPerMillisecond * 100));
    }

    public RedisConnectionOptions Options => _options;

    /// <summary>True while a connection is established and handshaken.</summary>
    public bool IsConnected => _current is { IsOpen: true };

    /// <summary>The RESP version of the current connection (3 after HELLO 3, else 2); 0 while disconnected.</summary>
    public int ProtocolVersion => _current is { IsOpen: true } current ? current.ProtocolVersion : 0;

    /// <summary>Why the last connection attempt or connection failed; null if none did.</summary>
    public Exception? LastError => _lastError;

    /// <summary>Commands queued or awaiting a reply.</summary>
    public int PendingCount => Volatile.Read(ref _pending);

    /// <summary>
    /// Connects. With <see cref="RedisConnectionOptions.AbortOnConnectFail"/> (the default) this fails with
    /// <see cref="RedisConnectionException"/> after <see cref="RedisConnectionOptions.ConnectRetry"/> attempts;
    /// otherwise it returns after the first attempt and keeps connecting in the background.
    /// </summary>
    public static async Task<RedisConnection> ConnectAsync(RedisConnectionOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var connection = new RedisConnection(options);
        RedisSocketConnection? first = null;
        var attempts = options.AbortOnConnectFail ? options.ConnectRetry : 1;
        for (var attempt = 0; attempt < attempts && first is null; attempt++)
        {
            try
            {
                first = await connection.ConnectOnceAsync(cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                connection._lastError = ex;
                if (attempt + 1 < attempts)
                {
                    await Task.Delay(connection.Backoff(attempt), cancellationToken);
                }
            }
        }
        if (first is null && options.AbortOnConnectFail)
        {
            var error = connection._lastError!;
            await connection.DisposeAsync();
            throw new RedisConnectionException($"Could not connect to Redis ({options}): {error.Message}", error);
        }
        connection._supervisor = connection.SuperviseAsync(first, connection._lifetime.Token);
        connection._sweeper = connection.SweepAsync(connection._lifetime.Token);
        return connection;
    }

    /// <summary>
    /// Sends a command and returns its reply; an error reply throws <see cref="RedisServerException"/>. This is the
    /// low-level entry: <paramref name="arguments"/> must not change until the task completes, and nothing stops a
    /// command that changes connection state (prefer <see cref="RedisClient.ExecuteAsync(string, IReadOnlyList{RedisArg}, CancellationToken)"/>).
    /// </summary>
    public Task<RespValue> ExecuteAsync(RedisArg command, RedisArg[] arguments, CancellationToken cancellationToken = default) =>
        ExecuteAsync(command, arguments, _options.CommandTimeout, Identity, cancellationToken);

    /// <summary>Sends a command with its own timeout.</summary>
    public Task<RespValue> ExecuteAsync(RedisArg command, RedisArg[] arguments, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        ExecuteAsync(command, arguments, timeout, Identity, cancellationToken);

    /// <summary>
    /// Sends a command; <paramref name="project"/> turns the reply into the result when it arrives (on a completion
    /// thread, before the caller resumes), so typed commands need no extra async step.
    /// </summary>
    internal Task<T> ExecuteAsync<T>(RedisArg command, RedisArg[] arguments, TimeSpan timeout, Func<RespValue, T> project, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (timeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), "A command timeout must be positive.");
        }
        if (!command.HasValue || Array.Exists(arguments, static a => !a.HasValue))
        {
            throw new ArgumentException("A command or argument is default(RedisArg), which carries no value.", nameof(arguments));
        }
        if (!_options.QueueWhileDisconnected && !IsConnected)
        {
            return Task.FromException<T>(new RedisConnectionException($"Not connected to Redis ({_options}).", _lastError));
        }
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<T>(cancellationToken);
        }
        return TryTakeSlot()
            ? Submit(command, arguments, timeout, project, cancellationToken)
            : SubmitWhenCapacityAsync(command, arguments, timeout, project, cancellationToken);
    }

    /// <summary>Round-trip time of a PING; throws when the server cannot be reached.</summary>
    public async Task<TimeSpan> PingAsync(CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        await ExecuteAsync("PING", [], cancellationToken);
        return Stopwatch.GetElapsedTime(started);
    }

    /// <summary>Stops accepting commands, lets pending ones finish (briefly), then closes the connection.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        var drainUntil = Stopwatch.GetTimestamp() + (long)(Math.Min(_options.CommandTimeout.TotalSeconds, 2) * Stopwatch.Frequency);
        while (PendingCount > 0 && IsConnected && Stopwatch.GetTimestamp() < drainUntil)
        {
            await Task.Delay(5);
        }
        lock (_queueLock)
        {
            _closed = true;
        }
        await _lifetime.CancelAsync();
        await _supervisor;
        try
        {
            await _sweeper;
        }
        catch (OperationCanceledException)
        {
            // The sweeper ends by cancellation.
        }
        FailQueued(() => new ObjectDisposedException(nameof(RedisConnection), "The Redis connection was disposed before the command was sent."));
        _lifetime.Dispose();
    }

    internal void ConnectionEnded(Exception reason, bool stopping)
    {
        if (!stopping)
        {
            _lastError = reason;
        }
    }

    internal void ReleaseSlot()
    {
        Interlocked.Decrement(ref _pending);
        if (Volatile.Read(ref _slotWaiters) > 0)
        {
            _slotFreed.Release();
        }
    }

    private bool TryTakeSlot()
    {
        if (Interlocked.Increment(ref _pending) <= _options.MaxPendingCommands)
        {
            return true;
        }
        Interlocked.Decrement(ref _pending);
        return false;
    }

    /// <summary>
    /// Completes when commands are queued or <paramref name="stopping"/> fires. The token is checked under the
    /// queue lock and its registration calls <see cref="WakeWriter"/>, which takes the same lock, so a stop can
    /// never slip between the check and the wait.
    /// </summary>
    internal Task WaitForQueuedAsync(CancellationToken stopping)
    {
        lock (_queueLock)
        {
            if (_queued.Count > 0 || stopping.IsCancellationRequested)
            {
                return Task.CompletedTask;
            }
            _queueSignal ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _queueSignal.Task;
        }
    }

    internal void WakeWriter()
    {
        TaskCompletionSource? signal;
        lock (_queueLock)
        {
            signal = _queueSignal;
            _queueSignal = null;
        }
        signal?.TrySetResult();
    }

    internal bool TakeQueued(List<IPendingCommand> batch, int max)
    {
        lock (_queueLock)
        {
            while (batch.Count < max && _queued.TryDequeue(out var command))
            {
                batch.Add(command);
            }
        }
        return batch.Count > 0;
    }

    private static RespValue Identity(RespValue reply) => reply;

    private Task<T> Submit<T>(RedisArg command, RedisArg[] arguments, TimeSpan timeout, Func<RespValue, T> project, CancellationToken cancellationToken)
    {
        var pending = new PendingCommand<T>(this, command, arguments, Environment.TickCount64 + (long)Math.Ceiling(timeout.TotalMilliseconds), project);
        if (cancellationToken.CanBeCanceled)
        {
            pending.CancelWith(cancellationToken);
        }
        Enqueue(pending);
        return pending.Task;
    }

    private async Task<T> SubmitWhenCapacityAsync<T>(RedisArg command, RedisArg[] arguments, TimeSpan timeout, Func<RespValue, T> project, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        Interlocked.Increment(ref _slotWaiters);
        try
        {
            // A slot freed between the failed attempt and the wait still signals, because the waiter was counted first.
            while (!TryTakeSlot())
            {
                var remaining = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), deadline);
                if (remaining <= TimeSpan.Zero || !await _slotFreed.WaitAsync(remaining, cancellationToken))
                {
                    throw new RedisTimeoutException($"{command} could not be queued within {timeout.TotalMilliseconds:F0} ms: {_options.MaxPendingCommands} commands are pending.");
                }
            }
        }
        finally
        {
            Interlocked.Decrement(ref _slotWaiters);
        }
        return await Submit(command, arguments, timeout, project, cancellationToken);
    }

    private void Enqueue<T>(PendingCommand<T> command)
    {
        TaskCompletionSource? signal = null;
        bool accepted;
        lock (_queueLock)
        {
            accepted = !_closed;
            if (accepted)
            {
                _queued.Enqueue(command);
                signal = _queueSignal;
                _queueSignal = null;
            }
        }
        if (!accepted)
        {
            command.Fail(new ObjectDisposedException(nameof(RedisConnection), "The Redis connection was disposed before the command was sent."));
        }
        signal?.TrySetResult();
    }

    private async Task<RedisSocketConnection> ConnectOnceAsync(CancellationToken cancellationToken)
    {
        Exception? error = null;
        for (var i = 0; i < _options.EndPoints.Count; i++)
        {
            var index = (_endPointIndex + i) % _options.EndPoints.Count;
            try
            {
                var connection = await RedisSocketConnection.ConnectAsync(_options, _options.EndPoints[index], cancellationToken);
                _endPointIndex = index;
                return connection;
            }
            catch (Exception ex) when (ex is RedisException)
            {
                error = ex;
            }
        }
        throw error!;
    }

    private async Task SuperviseAsync(RedisSocketConnection? connection, CancellationToken stopping)
    {
        var failures = 0;
        while (!stopping.IsCancellationRequested)
        {
            if (connection is null)
            {
                try
                {
                    connection = await ConnectOnceAsync(stopping);
                    failures = 0;
                }
                catch (OperationCanceledException) when (stopping.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception ex)
                {
                    _lastError = ex;
                    try
                    {
                        await Task.Delay(Backoff(failures++), stopping);
                    }
                    catch (OperationCanceledException)
                    {
                        break;
                    }
                    continue;
                }
            }
            _current = connection;
            await connection.RunAsync(this, stopping);
            _current = null;
            await DisposeQuietlyAsync(connection);
            connection = null;
        }
        if (connection is not null)
        {
            await DisposeQuietlyAsync(connection);
        }
    }

    private static async Task DisposeQuietlyAsync(RedisSocketConnection connection)
    {
        try
        {
            await connection.DisposeAsync();
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException or System.Net.Sockets.SocketException)
        {
            // The connection is already dead; its resources are released regardless, and the supervisor must keep running.
        }
    }

    private async Task SweepAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(_sweepInterval);
        while (await timer.WaitForNextTickAsync(stopping))
        {
            var now = Environment.TickCount64;
            var expired = new CompletionBatch();
            lock (_queueLock)
            {
                var stale = 0;
                foreach (var command in _queued)
                {
                    if (command.IsCompleted || command.Deadline <= now)
                    {
                        stale++;
                    }
                }
                if (stale > 0)
                {
                    var kept = new Queue<IPendingCommand>(_queued.Count - stale);
                    foreach (var command in _queued)
                    {
                        if (command.Deadline <= now && !command.IsCompleted)
                        {
                            expired.Add(command, TimeoutFor(command, sent: false));
                        }
                        else if (!command.IsCompleted)
                        {
                            kept.Enqueue(command);
                        }
                    }
                    _queued = kept;
                }
            }
            expired.Dispatch();
            _current?.ExpireAwaiting(now, command => TimeoutFor(command, sent: true));
        }
    }

    private RedisTimeoutException TimeoutFor(IPendingCommand command, bool sent) =>
        new(sent
            ? $"{command.Command} got no reply from Redis in time ({PendingCount} commands pending)."
            : $"{command.Command} could not be sent to Redis in time ({(IsConnected ? "connected" : "not connected")}; last error: {_lastError?.Message ?? "none"}).",
            sent ? null : _lastError);

    private void FailQueued(Func<Exception> error)
    {
        Queue<IPendingCommand> queued;
        lock (_queueLock)
        {
            queued = _queued;
            _queued = new Queue<IPendingCommand>();
        }
        var failed = new CompletionBatch();
        foreach (var command in queued)
        {
            failed.Add(command, error());
        }
        failed.Dispatch();
    }

    private TimeSpan Backoff(int failures)
    {
        var exponential = _options.ReconnectMinDelay.TotalMilliseconds * Math.Pow(2, Math.Min(failures, 16));
        var capped = Math.Min(exponential, _options.ReconnectMaxDelay.TotalMilliseconds);
        // ±20 % jitter so that many clients do not reconnect in lockstep.
        return TimeSpan.FromMilliseconds(capped * (0.8 + (Random.Shared.NextDouble() * 0.4)));
    }
}
