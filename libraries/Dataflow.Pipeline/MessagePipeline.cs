using System.Diagnostics;
using System.Threading.Channels;
using Dataflow.Google.Core;
using Microsoft.Extensions.Logging;

namespace Dataflow.Pipeline;

/// <summary>
/// Consumer → flow control → bounded channel → N workers (transform, then <see cref="HandleAsync"/>). Stop order:
/// consumer first, then the workers drain the channel, then <see cref="OnDrainedAsync"/> (final flush), all bounded
/// by <see cref="PipelineOptions.ShutdownTimeout"/>; what cannot finish in time is nacked so it is redelivered.
/// </summary>
public abstract class MessagePipeline<T> : IPipeline, IAsyncDisposable
{
    private static readonly TimeSpan CancellationGrace = TimeSpan.FromSeconds(5);
    private readonly IMessageConsumer _consumer;
    private readonly IMessageTransformer<T> _transformer;
    private readonly PipelineOptions _options;
    private readonly FlowController _flow;
    private readonly Action<Message, MessageOutcome> _onSettled;
    private readonly Channel<Message> _channel;
    private readonly CancellationTokenSource _consumerStop = new();
    private readonly CancellationTokenSource _hardStop = new();
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _consumerTask;
    private Task[] _workers = [];
    private int _state;

    protected MessagePipeline(
        string name,
        IMessageConsumer consumer,
        IMessageTransformer<T> transformer,
        PipelineOptions options,
        PipelineMetrics metrics,
        ILogger logger)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(consumer);
        ArgumentNullException.ThrowIfNull(transformer);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(logger);
        var errors = options.Validate("Pipeline").ToList();
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", errors), nameof(options));
        }

        Name = name;
        _consumer = consumer;
        _transformer = transformer;
        _options = options;
        Metrics = metrics;
        Logger = logger;
        _flow = new FlowController(options.MaxOutstandingMessages, options.MaxOutstandingBytes);
        _onSettled = (settled, outcome) =>
        {
            Metrics.Settled(outcome);
            _flow.Release(settled.Size);
        };
        _channel = Channel.CreateBounded<Message>(new BoundedChannelOptions(options.BufferSize)
        {
            SingleReader = options.Workers == 1,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    public string Name { get; }

    public Task Completion => _completion.Task;

    public PipelineMetrics Metrics { get; }

    /// <summary>Messages received and not yet settled.</summary>
    public long OutstandingMessages => _flow.OutstandingCount;

    protected ILogger Logger { get; }

    /// <summary>Cancelled when the shutdown timeout elapsed: work in progress must give up (and nack).</summary>
    protected CancellationToken HardStopToken => _hardStop.Token;

    public virtual Task StartAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.CompareExchange(ref _state, 1, 0) != 0)
        {
            throw new InvalidOperationException($"Pipeline '{Name}' was already started.");
        }

        _workers = new Task[_options.Workers];
        for (var i = 0; i < _workers.Length; i++)
        {
            _workers[i] = Task.Run(WorkerAsync, CancellationToken.None);
        }

        _consumerTask = Task.Run(RunConsumerAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.CompareExchange(ref _state, 2, 1) != 1)
        {
            return;
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_options.ShutdownTimeout);
        var started = Stopwatch.GetTimestamp();

        await _consumerStop.CancelAsync();
        await WaitOrTimeoutAsync(_consumerTask!, "consumer", deadline.Token);
        _channel.Writer.TryComplete();

        var drained = DrainAsync();
        if (!await WaitOrTimeoutAsync(drained, "workers", deadline.Token))
        {
            await _hardStop.CancelAsync();

            // Work that ignores cancellation must not hold the process: after a short grace its messages stay
            // unsettled and their source redelivers them.
            using var grace = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            grace.CancelAfter(CancellationGrace);
            await WaitOrTimeoutAsync(drained, "cancelled workers", grace.Token);
        }

        try
        {
            await OnDrainedAsync(deadline.IsCancellationRequested ? _hardStop.Token : deadline.Token);
        }
        catch (OperationCanceledException)
        {
            Logger.LogWarning("Pipeline {Pipeline}: final flush did not finish within the shutdown timeout; unflushed messages were nacked", Name);
        }

        Logger.LogInformation(
            "Pipeline {Pipeline} stopped in {Elapsed} ms; {Outstanding} messages left unsettled",
            Name,
            (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds,
            _flow.OutstandingCount);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None);
        _consumerStop.Dispose();
        _hardStop.Dispose();
        await DisposeCoreAsync();
        GC.SuppressFinalize(this);
    }

    /// <summary>
    /// Processes one transformed message; it must settle the message (now or later, e.g. after a flush) and record
    /// <see cref="RecordProcessed"/> once it is processed. Throwing nacks the message (and records it).
    /// </summary>
    /// <param name="startedTimestamp">When the worker took the message (<see cref="Stopwatch.GetTimestamp"/>).</param>
    protected abstract ValueTask HandleAsync(Message message, T value, long startedTimestamp, CancellationToken cancellationToken);

    /// <summary>
    /// Completes when work that <see cref="HandleAsync"/> left running has finished. Called once, after every worker
    /// finished, within the shutdown timeout (after it, <see cref="HardStopToken"/> cancels that work).
    /// </summary>
    protected virtual Task WhenHandledAsync() => Task.CompletedTask;

    /// <summary>Runs after every worker finished: the final flush.</summary>
    protected virtual Task OnDrainedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Records the time from dequeue to processed (the processing duration metric).</summary>
    protected void RecordProcessed(long startedTimestamp) => Metrics.Processed(Stopwatch.GetElapsedTime(startedTimestamp));

    /// <summary>Processing failed: logged (unless cancelled by the hard stop) and nacked.</summary>
    protected async ValueTask ProcessingFailedAsync(Message message, Exception exception)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (exception is not OperationCanceledException || !_hardStop.IsCancellationRequested)
        {
            Logger.LogWarning(exception, "Pipeline {Pipeline}: processing message {MessageId} failed; nacking", Name, message.Id);
        }

        await NackAsync(message);
    }

    protected virtual ValueTask DisposeCoreAsync() => ValueTask.CompletedTask;

    protected async ValueTask AckAsync(Message message)
    {
        try
        {
            await message.AckAsync(CancellationToken.None);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The source redelivers an unacknowledged message: at-least-once holds, a duplicate may follow.
            Logger.LogWarning(ex, "Pipeline {Pipeline}: acknowledging message {MessageId} failed", Name, message.Id);
        }
    }

    protected async ValueTask NackAsync(Message message)
    {
        try
        {
            await message.NackAsync(CancellationToken.None);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Logger.LogWarning(ex, "Pipeline {Pipeline}: nacking message {MessageId} failed; it is redelivered after its deadline", Name, message.Id);
        }
    }

    private async ValueTask DeliverAsync(Message message, CancellationToken cancellationToken)
    {
        try
        {
            await _flow.AcquireAsync(message.Size, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            await NackAsync(message);
            throw;
        }

        Metrics.Received();
        message.OnSettled(_onSettled);

        if (_channel.Writer.TryWrite(message))
        {
            return;
        }

        try
        {
            await _channel.Writer.WriteAsync(message, cancellationToken);
        }
        catch (Exception ex) when (ex is OperationCanceledException or ChannelClosedException)
        {
            await NackAsync(message);
            throw new OperationCanceledException("The pipeline is stopping.", ex, cancellationToken);
        }
    }

    private async Task RunConsumerAsync()
    {
        try
        {
            await _consumer.RunAsync(DeliverAsync, _consumerStop.Token);
            _completion.TrySetResult();
        }
        catch (OperationCanceledException) when (_consumerStop.IsCancellationRequested)
        {
            _completion.TrySetResult();
        }
        catch (Exception ex)
        {
            Logger.LogCritical(ex, "Pipeline {Pipeline}: the consumer failed", Name);
            _completion.TrySetException(ex);
        }
    }

    private async Task WorkerAsync()
    {
        await foreach (var message in _channel.Reader.ReadAllAsync(CancellationToken.None))
        {
            if (_hardStop.IsCancellationRequested)
            {
                await NackAsync(message);
                continue;
            }

            var started = Stopwatch.GetTimestamp();
            TransformResult<T> result;
            try
            {
                result = await _transformer.TransformAsync(message, _hardStop.Token);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                Logger.LogWarning(ex, "Pipeline {Pipeline}: transform of message {MessageId} failed; nacking", Name, message.Id);
                await NackAsync(message);
                continue;
            }

            if (result.IsSkip)
            {
                Metrics.Skipped();
                await AckAsync(message);
                continue;
            }

            try
            {
                await HandleAsync(message, result.Value!, started, _hardStop.Token);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                await ProcessingFailedAsync(message, ex);
                RecordProcessed(started);
            }
        }
    }

    private async Task DrainAsync()
    {
        await Task.WhenAll(_workers);
        await WhenHandledAsync();
    }

    private async Task<bool> WaitOrTimeoutAsync(Task task, string stage, CancellationToken deadline)
    {
        try
        {
            await task.WaitAsync(deadline);
            return true;
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            Logger.LogWarning("Pipeline {Pipeline}: {Stage} did not stop within the shutdown timeout", Name, stage);
            return false;
        }
        catch (Exception) when (task.IsFaulted)
        {
            // The consumer's failure is reported through Completion.
            return true;
        }
    }
}
