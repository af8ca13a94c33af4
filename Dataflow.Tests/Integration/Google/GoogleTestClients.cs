using Dataflow.Google.Core;
using Dataflow.Google.PubSub;

namespace Dataflow.Tests.Integration.Google;

/// <summary>Clients pointed at a test emulator, each test in its own random project.</summary>
internal static class GoogleTestClients
{
    public static readonly RetrySettings FastRetry = new() { MaxAttempts = 4, InitialBackoff = TimeSpan.FromMilliseconds(20), MaxBackoff = TimeSpan.FromMilliseconds(200) };

    public static string NewProjectId() => "test-" + Guid.NewGuid().ToString("N")[..16];

    public static string NewId(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..10];

    public static PubSubClient PubSub(string hostPort, string? projectId = null) =>
        PubSubClient.Create(
            new PubSubOptions { ProjectId = projectId ?? NewProjectId(), EmulatorHost = hostPort, MaxAttempts = FastRetry.MaxAttempts, InitialBackoff = FastRetry.InitialBackoff, MaxBackoff = FastRetry.MaxBackoff },
            GoogleHttp.CreateHttpClient(TimeSpan.FromSeconds(100)));
}
