using Dataflow.Hosting.Processes;

namespace Dataflow.Tests.Integration.Hosting;

public sealed class ProcessTableTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_busy_grandchild_is_found_and_its_cpu_time_counts_for_its_ancestors_until_it_is_killed()
    {
        // sh starts a busy loop as its own child, so the loop is a grandchild of the process started here.
        await using var shell = await ChildProcess.StartAsync(
            new ChildProcessOptions("sh", ["-c", "sh -c 'while :; do :; done' & wait"]) { DisplayName = "busy" }, Ct);

        (int Pid, string Name) busy = default;
        for (var attempt = 0; attempt < 100 && busy.Pid == 0; attempt++)
        {
            var descendants = ProcessTable.Descendants(shell.Id);
            busy = descendants.Count > 0 ? descendants[0] : default;
            await Task.Delay(20, Ct);
        }
        Assert.NotEqual(0, busy.Pid);
        Assert.Equal("sh", busy.Name);

        var busyCpu = TimeSpan.Zero;
        for (var attempt = 0; attempt < 200 && busyCpu < TimeSpan.FromMilliseconds(200); attempt++)
        {
            await Task.Delay(20, Ct);
            busyCpu = ProcessTable.CpuTime(busy.Pid);
        }
        Assert.True(busyCpu >= TimeSpan.FromMilliseconds(200), $"the busy loop used only {busyCpu.TotalMilliseconds} ms");
        Assert.True(ProcessTable.CpuTime(shell.Id) < TimeSpan.FromMilliseconds(100), "the waiting shell itself stays idle");
        Assert.True(ProcessTable.CpuTime(shell.Id, includeDescendants: true) >= busyCpu);
        Assert.True(ProcessTable.IsAlive(busy.Pid));

        System.Diagnostics.Process.GetProcessById(busy.Pid).Kill();
        var alive = true;
        for (var attempt = 0; attempt < 100 && alive; attempt++)
        {
            await Task.Delay(20, Ct);
            alive = ProcessTable.IsAlive(busy.Pid);
        }
        Assert.False(alive);
        Assert.Equal(TimeSpan.Zero, ProcessTable.CpuTime(busy.Pid));
    }
}
