using System.Reflection;
using Dataflow.Tests.Infrastructure;
using Xunit.v3;

[assembly: ServerLogsOnFailure]

namespace Dataflow.Tests.Infrastructure;

/// <summary>Writes the recent log lines of every running test server into the output of a failing test.</summary>
[AttributeUsage(AttributeTargets.Assembly)]
public sealed class ServerLogsOnFailureAttribute : BeforeAfterTestAttribute
{
    public override void After(MethodInfo methodUnderTest, IXunitTest test)
    {
        var context = TestContext.Current;
        var output = context.TestOutputHelper;
        if (output is null || context.TestState?.Result != TestResult.Failed)
        {
            return;
        }
        foreach (var server in ServerProcess.All)
        {
            output.WriteLine($"----- {server} (last log lines) -----");
            output.WriteLine(server.LogTail(25));
        }
    }
}
