using System.Net;
using Dataflow.Hosting;
using Dataflow.Hosting.Processes;
using Dataflow.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Dataflow.Tests.Integration.Hosting;

/// <summary>The provisioning and seeding jobs' requests against an emulator that is up but not yet answering well.</summary>
[Trait("Category", "Integration")]
public sealed class EmulatorRequestsTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Server_errors_are_retried_until_the_emulator_answers_and_each_retry_is_logged()
    {
        var answered = 0;
        await using var server = await TestHttpServer.StartAsync(context =>
        {
            context.Response.StatusCode = Interlocked.Increment(ref answered) <= 2 ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status200OK;
            return Task.CompletedTask;
        }, Ct);
        var log = new LogBuffer(100);
        using var http = EmulatorRequests.CreateClient(server.BaseUri);

        using var response = await EmulatorRequests.SendAsync(http, () => new HttpRequestMessage(HttpMethod.Put, "topics/t"), log, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(3, server.RequestCount);
        Assert.Equal(2, log.Snapshot().Count(l => l.Text.Contains("503", StringComparison.Ordinal) && l.Text.Contains("retrying", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_client_error_is_the_answer_without_a_retry()
    {
        await using var server = await TestHttpServer.StartAsync(context =>
        {
            context.Response.StatusCode = StatusCodes.Status409Conflict;
            return Task.CompletedTask;
        }, Ct);
        var log = new LogBuffer(100);
        using var http = EmulatorRequests.CreateClient(server.BaseUri);

        using var response = await EmulatorRequests.SendAsync(http, () => new HttpRequestMessage(HttpMethod.Put, "topics/t"), log, Ct);

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal(1, server.RequestCount);
        Assert.Empty(log.Snapshot());
    }
}
