using Dataflow.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dataflow.Tests.Unit.Pipeline;

/// <summary>The pipeline as a service runs it: started and stopped with the host, stopping the host when it fails.</summary>
[Trait("Category", "Unit")]
public sealed class PipelineHostedServiceTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static IHost CreateHost(IMessageConsumer consumer, Func<Message, string, CancellationToken, Task<ProcessOutcome>> process)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        var name = $"hosted-{Guid.NewGuid():N}";
        builder.Services.AddSingleton<IPipeline>(new StreamingPipeline<string>(name, consumer,
            new DelegateTransformer<string>(m => TransformResult.Of(m.Id)), new DelegateProcessor<string>(process),
            new PipelineOptions { Workers = 2 }, new PipelineMetrics(name), NullLogger.Instance));
        builder.Services.AddHostedService<PipelineHostedService>();
        return builder.Build();
    }

    [Fact]
    public async Task An_unrecoverable_consumer_failure_stops_the_application()
    {
        using var host = CreateHost(new FailingConsumer(), (_, _, _) => Task.FromResult(ProcessOutcome.Done));

        // RunAsync returns only when the application stopped; nothing but the failing pipeline stops it here.
        await host.RunAsync(Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct);
    }

    [Fact]
    public async Task Stopping_the_application_drains_delivered_messages_and_acks_them()
    {
        var consumer = new QueueConsumer();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var host = CreateHost(consumer, async (_, _, _) =>
        {
            started.TrySetResult();
            await release.Task;
            return ProcessOutcome.Done;
        });
        await host.StartAsync(Ct);
        var (message, handle) = TestMessages.Create("in-flight");
        consumer.Enqueue(message);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(10), Ct);

        var stopping = host.StopAsync(Ct);
        Assert.False(handle.Outcome.IsCompleted);
        release.SetResult();
        await stopping.WaitAsync(TimeSpan.FromSeconds(30), Ct);

        Assert.Equal(MessageOutcome.Acked, await handle.Outcome.WaitAsync(TimeSpan.FromSeconds(1), Ct));
    }

    private sealed class FailingConsumer : IMessageConsumer
    {
        public async Task RunAsync(MessageDelivery deliver, CancellationToken stoppingToken)
        {
            await Task.Yield();
            throw new InvalidOperationException("subscription deleted");
        }
    }
}
