using Dataflow.Hosting;
using Dataflow.Hosting.ApplicationModel;
using Dataflow.Hosting.Orchestration;
using Dataflow.Hosting.Testing;

namespace Dataflow.Tests.Unit.Hosting;

/// <summary>One-shot in-process jobs under the orchestrator: Finished or Exited, and what WaitForCompletion makes of that.</summary>
[Trait("Category", "Unit")]
public sealed class JobResourceTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private sealed class RecordingJob(string name, List<string> journal, Exception? failure = null) : JobResource(name)
    {
        public override string Description => "records that it ran";

        public override Task RunAsync(ResourceRunContext context, CancellationToken cancellationToken)
        {
            lock (journal)
            {
                journal.Add(Name);
            }
            return failure is null ? Task.CompletedTask : Task.FromException(failure);
        }
    }

    private sealed class ChildJob(string name, IResource parent, List<string> journal) : JobResource(name), IResourceWithParent
    {
        public IResource Parent => parent;

        public override string Description => "runs against its parent";

        public override Task RunAsync(ResourceRunContext context, CancellationToken cancellationToken)
        {
            lock (journal)
            {
                journal.Add(Name);
            }
            return Task.CompletedTask;
        }
    }

    [Fact]
    public async Task Restarting_a_resource_runs_its_jobs_again_once_it_is_back()
    {
        var journal = new List<string>();
        var builder = TestingBuilder.Create();
        var parent = builder.AddExecutable("server", "sleep", null, "600");
        builder.AddResource(new ChildJob("server-provisioning", parent.Resource, journal));
        builder.AddResource(new RecordingJob("unrelated", journal));
        await using var app = await builder.BuildAsync();
        await app.StartAsync(Ct);
        await app.WaitForResourceAsync("server-provisioning", [KnownResourceStates.Finished], cancellationToken: Ct);
        await app.WaitForResourceAsync("unrelated", [KnownResourceStates.Finished], cancellationToken: Ct);
        var firstStart = app.GetResources().Single(r => r.Name == "server").StartedAt;

        await app.RestartResourceAsync("server", Ct);

        await app.WaitForResourceAsync("server-provisioning", [KnownResourceStates.Finished], cancellationToken: Ct);
        Assert.Equal(["server-provisioning", "server-provisioning"], journal.Where(j => j != "unrelated"));
        Assert.Single(journal, "unrelated");
        Assert.NotEqual(firstStart, app.GetResources().Single(r => r.Name == "server").StartedAt);
    }

    [Fact]
    public async Task A_job_waiting_for_the_completion_of_another_runs_after_it_and_both_end_Finished()
    {
        var journal = new List<string>();
        var builder = TestingBuilder.Create();
        var first = builder.AddResource(new RecordingJob("first", journal));
        builder.AddResource(new RecordingJob("second", journal)).WaitForCompletion(first);
        await using var app = await builder.BuildAsync();

        await app.StartAsync(Ct);

        Assert.Equal(KnownResourceStates.Finished, await app.WaitForResourceAsync("second", [KnownResourceStates.Finished, KnownResourceStates.FailedToStart], cancellationToken: Ct));
        Assert.Equal(["first", "second"], journal);
        var snapshot = app.GetResources().Single(r => r.Name == "first");
        Assert.Equal("Job", snapshot.ResourceType);
        Assert.Equal(KnownResourceStates.Finished, snapshot.State);
        Assert.Contains("records that it ran", snapshot.Backing, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_failing_job_is_Exited_with_its_error_and_its_dependents_fail_to_start_naming_it()
    {
        var journal = new List<string>();
        var builder = TestingBuilder.Create();
        var broken = builder.AddResource(new RecordingJob("broken", journal, new HttpRequestException("connection refused")));
        builder.AddResource(new RecordingJob("dependent", journal)).WaitForCompletion(broken);
        await using var app = await builder.BuildAsync();

        await app.StartAsync(Ct);

        Assert.Equal(KnownResourceStates.FailedToStart, await app.WaitForResourceAsync("dependent", [KnownResourceStates.Finished, KnownResourceStates.FailedToStart], cancellationToken: Ct));
        var failed = app.GetResources().Single(r => r.Name == "broken");
        Assert.Equal(KnownResourceStates.Exited, failed.State);
        Assert.Contains("connection refused", failed.Message, StringComparison.Ordinal);
        Assert.Contains("'broken' did not complete successfully", app.GetResources().Single(r => r.Name == "dependent").Message, StringComparison.Ordinal);
        Assert.Equal(["broken"], journal);
    }

    [Fact]
    public async Task Restarting_a_finished_job_runs_it_again()
    {
        var journal = new List<string>();
        var builder = TestingBuilder.Create();
        builder.AddResource(new RecordingJob("seed", journal));
        await using var app = await builder.BuildAsync();
        await app.StartAsync(Ct);
        await app.WaitForResourceAsync("seed", [KnownResourceStates.Finished], cancellationToken: Ct);

        await app.RestartResourceAsync("seed", Ct);

        await app.WaitForResourceAsync("seed", [KnownResourceStates.Finished], cancellationToken: Ct);
        Assert.Equal(2, journal.Count);
    }

    [Fact]
    public void Only_processes_and_jobs_can_be_waited_for_to_completion()
    {
        var builder = DistributedApplication.CreateBuilder([]);
        var parameter = builder.AddParameter("setting", defaultValue: "x");

        var error = Assert.Throws<InvalidOperationException>(() => builder.AddResource(new RecordingJob("job", [])).WaitForCompletion(parameter));

        Assert.Contains("'setting' never completes", error.Message, StringComparison.Ordinal);
    }
}
