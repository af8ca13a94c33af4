using System.Buffers;
using System.IO.Pipelines;
using System.Net.Security;
using System.Net.Sockets;
using Dataflow.Redis.Protocol;

namespace Dataflow.Redis.Internal;

/// <summary>
/// One TCP (or TLS) connection to a server after its handshake: a writer loop that drains the owner's queue
/// into the socket, coalescing everything queued into one flush, and a reader loop that matches replies to
/// written commands in FIFO order. When either loop ends, every command written and not answered fails.
/// </summary>
internal sealed class RedisSocketConnection : IAsyncDisposable
{
    private const int FlushThreshold = 64 * 1024;
    private readonly Stream _stream;
    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    // Written commands in send order; the writer adds, the reader takes, the sweeper looks (all under the lock).
    private readonly Queue<IPendingCommand> _awaitingReply = new();
    private readonly Lock _awaitingLock = new();
    private bool _open = true;

    private RedisSocketConnection(Stream stream, RedisEndPoint endPoint)
    {
        _stream = stream;
        EndPoint = endPoint;
        _input = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 16 * 1024, minimumReadSize: 4 * 1024, leaveOpen: true));
        _output = PipeWriter.Create(stream, new StreamPipeWriterOptions(minimumBufferSize: 16 * 1024, leaveOpen: true));
    }

    public RedisEndPoint EndPoint { get; }

    /// <summary>False from the moment the connection starts to tear down, before any pending command is failed.</summary>
    public bool IsOpen => Volatile.Read(ref _open);

    /// <summary>The protocol agreed in the handshake (3 after a successful HELLO 3).</summary>
    public int ProtocolVersion { get; private set; } = 2;

    /// <summary>Connects, negotiates TLS, and runs HELLO/AUTH/SELECT; throws on any failure.</summary>
    public static async Task<RedisSocketConnection> ConnectAsync(RedisConnectionOptions options, RedisEndPoint endPoint, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.ConnectTimeout);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        Stream? stream = null;
        try
        {
            if (options.KeepAlive > TimeSpan.Zero)
            {
                socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
                socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, (int)Math.Max(1, options.KeepAlive.TotalSeconds));
            }
            await socket.ConnectAsync(endPoint.Host, endPoint.Port, timeout.Token);
            stream = new NetworkStream(socket, ownsSocket: true);
            if (options.Ssl)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                stream = ssl;
                await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                {
                    TargetHost = options.SslHost ?? endPoint.Host,
                    EnabledSslProtocols = options.SslProtocols,
                    ClientCertificates = options.ClientCertificates,
                    RemoteCertificateValidationCallback = options.CertificateValidation,
                    CertificateRevocationCheckMode = options.CheckCertificateRevocation
                        ? System.Security.Cryptography.X509Certificates.X509RevocationMode.Online
                        : System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck,
                }, timeout.Token);
            }
            var connection = new RedisSocketConnection(stream, endPoint);
            try
            {
                await connection.HandshakeAsync(options, timeout.Token);
                return connection;
            }
            catch
            {
                await connection.DisposeAsync();
                throw;
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            if (stream is not null)
            {
                await stream.DisposeAsync();
            }
            socket.Dispose();
            throw new RedisConnectionException($"Connecting to Redis at {endPoint} timed out after {options.ConnectTimeout.TotalMilliseconds:F0} ms.");
        }
        catch (Exception ex) when (ex is SocketException or IOException or System.Security.Authentication.AuthenticationException)
        {
            if (stream is not null)
            {
                await stream.DisposeAsync();
            }
            socket.Dispose();
            throw new RedisConnectionException($"Could not connect to Redis at {endPoint}: {ex.Message}", ex);
        }
        catch
        {
            if (stream is not null)
            {
                await stream.DisposeAsync();
            }
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Runs the reader and writer loops until the connection fails or <paramref name="stopping"/> fires, then fails
    /// every command that was written and not answered. Returns why the connection ended.
    /// </summary>
    public async Task<Exception> RunAsync(RedisConnection owner, CancellationToken stopping)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        var reading = ReadLoopAsync(linked.Token);
        var writing = WriteLoopAsync(owner, linked.Token);
        var first = await Task.WhenAny(reading, writing);
        Exception reason;
        try
        {
            await first;
            reason = new RedisConnectionException($"The connection to Redis at {EndPoint} was closed.");
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            reason = new RedisConnectionException($"The connection to Redis at {EndPoint} was closed by the client.");
        }
        catch (Exception ex)
        {
            reason = ex as RedisConnectionException
                ?? new RedisConnectionException($"The connection to Redis at {EndPoint} was lost: {ex.Message}", ex);
        }
        // Observers see the reason and the closed state before any pending command fails.
        owner.ConnectionEnded(reason, stopping.IsCancellationRequested);
        Volatile.Write(ref _open, false);
        await linked.CancelAsync();
        // Unblock a read or flush stuck in the socket.
        await _stream.DisposeAsync();
        await Task.WhenAll(reading, writing).ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        // Both loops have ended: nothing can be added to the queue any more.
        var lost = new CompletionBatch();
        while (TryTakeAwaiting(out var command))
        {
            lost.Add(command, new RedisConnectionException(
                $"The connection to Redis at {EndPoint} was lost before the reply to {command.Command} arrived; the command may or may not have run.",
                reason));
        }
        lost.Dispatch();
        return reason;
    }

    /// <summary>Times out written commands whose deadline has passed (their replies are still consumed when they come).</summary>
    public void ExpireAwaiting(long now, Func<IPendingCommand, Exception> timeout)
    {
        var expired = new CompletionBatch();
        lock (_awaitingLock)
        {
            foreach (var command in _awaitingReply)
            {
                if (command.Deadline <= now && !command.IsCompleted)
                {
                    expired.Add(command, timeout(command));
                }
            }
        }
        expired.Dispatch();
    }

    private bool TryTakeAwaiting([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IPendingCommand? command)
    {
        lock (_awaitingLock)
        {
            return _awaitingReply.TryDequeue(out command);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _input.CompleteAsync();
        await _output.CompleteAsync();
        await _stream.DisposeAsync();
    }

    private async Task ReadLoopAsync(CancellationToken cancellationToken)
    {
        // Only this loop uses the list: the replies of one read, matched to their commands under one lock.
        var parsed = new List<RespValue>(64);
        while (true)
        {
            var result = await _input.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            var reader = new SequenceReader<byte>(buffer);
            parsed.Clear();
            try
            {
                while (RespReader.TryRead(ref reader, out var reply))
                {
                    // Out-of-band RESP3 pushes (client-side caching invalidations) answer no command; this client subscribes to nothing.
                    if (reply.Type != RespType.Push)
                    {
                        parsed.Add(reply);
                    }
                }
            }
            finally
            {
                // Replies that arrived intact before malformed bytes still reach their callers.
                if (parsed.Count > 0)
                {
                    MatchAndComplete(parsed);
                }
            }
            _input.AdvanceTo(reader.Position, buffer.End);
            if (result.IsCompleted)
            {
                throw new RedisConnectionException(reader.Remaining > 0
                    ? $"Redis at {EndPoint} closed the connection in the middle of a reply."
                    : $"Redis at {EndPoint} closed the connection.");
            }
        }
    }

    /// <summary>Pairs replies with the oldest written commands and completes them in one thread-pool work item.</summary>
    private void MatchAndComplete(List<RespValue> replies)
    {
        var batch = new CompletionBatch();
        try
        {
            lock (_awaitingLock)
            {
                foreach (var reply in replies)
                {
                    if (!_awaitingReply.TryDequeue(out var command))
                    {
                        throw new RedisProtocolException($"Redis at {EndPoint} sent a reply no command was waiting for.");
                    }
                    batch.Add(command, reply);
                }
            }
        }
        finally
        {
            batch.Dispatch();
        }
    }

    private async Task WriteLoopAsync(RedisConnection owner, CancellationToken cancellationToken)
    {
        var batch = new List<IPendingCommand>(256);
        // Stopping wakes the writer once, instead of every wait carrying the token.
        using var wakeOnStop = cancellationToken.UnsafeRegister(static state => ((RedisConnection)state!).WakeWriter(), owner);
        while (true)
        {
            await owner.WaitForQueuedAsync(cancellationToken);
            cancellationToken.ThrowIfCancellationRequested();
            while (owner.TakeQueued(batch, 256))
            {
                // Decide once which commands go out: exactly those are queued for a reply and written, in the same order.
                lock (_awaitingLock)
                {
                    batch.RemoveAll(static command => command.IsCompleted);
                    foreach (var command in batch)
                    {
                        _awaitingReply.Enqueue(command);
                    }
                }
                foreach (var command in batch)
                {
                    RespWriter.WriteCommand(_output, command.Command, command.Arguments);
                }
                batch.Clear();
                if (_output.UnflushedBytes >= FlushThreshold)
                {
                    await FlushAsync(cancellationToken);
                }
            }
            await FlushAsync(cancellationToken);
        }
    }

    private async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        var flushed = await _output.FlushAsync(cancellationToken);
        if (flushed.IsCompleted)
        {
            throw new RedisConnectionException($"The connection to Redis at {EndPoint} is closed for writing.");
        }
    }

    private async Task HandshakeAsync(RedisConnectionOptions options, CancellationToken cancellationToken)
    {
        var helloDone = false;
        if (options.Protocol == RedisProtocol.Resp3)
        {
            var hello = new List<RedisArg> { 3 };
            if (options.Password is not null)
            {
                hello.AddRange(["AUTH", options.User ?? "default", options.Password]);
            }
            if (options.ClientName is not null)
            {
                hello.AddRange(["SETNAME", options.ClientName]);
            }
            var reply = await RoundTripAsync("HELLO", [.. hello], cancellationToken);
            if (!reply.IsError)
            {
                ProtocolVersion = 3;
                helloDone = true;
            }
            else
            {
                var error = reply.AsString() ?? "";
                // Servers before 6.0 do not know HELLO; NOPROTO means RESP3 is unsupported. Anything else (auth) is fatal.
                if (!error.StartsWith("NOPROTO", StringComparison.Ordinal) && !error.Contains("unknown command", StringComparison.OrdinalIgnoreCase))
                {
                    throw new RedisServerException(error);
                }
            }
        }
        if (!helloDone)
        {
            if (options.Password is not null)
            {
                RedisArg[] auth = options.User is null ? [options.Password] : [options.User, options.Password];
                ThrowIfError(await RoundTripAsync("AUTH", auth, cancellationToken));
            }
            if (options.ClientName is not null)
            {
                ThrowIfError(await RoundTripAsync("CLIENT", ["SETNAME", options.ClientName], cancellationToken));
            }
        }
        if (options.DefaultDatabase is { } database and not 0)
        {
            ThrowIfError(await RoundTripAsync("SELECT", [database], cancellationToken));
        }
    }

    private static void ThrowIfError(RespValue reply)
    {
        if (reply.IsError)
        {
            throw new RedisServerException(reply.AsString() ?? "");
        }
    }

    /// <summary>Sends one command and reads its reply; only used before the loops start.</summary>
    private async Task<RespValue> RoundTripAsync(RedisArg command, RedisArg[] arguments, CancellationToken cancellationToken)
    {
        RespWriter.WriteCommand(_output, command, arguments);
        await FlushAsync(cancellationToken);
        while (true)
        {
            var result = await _input.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            var reader = new SequenceReader<byte>(buffer);
            RespValue? reply;
            while (RespReader.TryRead(ref reader, out reply) && reply.Type == RespType.Push)
            {
                reply = null;
            }
            if (reply is not null)
            {
                // Bytes after this reply have not been looked at yet: the read loop must see them.
                _input.AdvanceTo(reader.Position);
                return reply;
            }
            _input.AdvanceTo(reader.Position, buffer.End);
            if (result.IsCompleted)
            {
                throw new RedisConnectionException($"Redis at {EndPoint} closed the connection during the handshake.");
            }
        }
    }
}
