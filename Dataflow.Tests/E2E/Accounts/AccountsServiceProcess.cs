using System.Globalization;
using Dataflow.Hosting.Processes;
using Dataflow.Tests.Infrastructure;

namespace Dataflow.Tests.E2E.Accounts;

/// <summary>
/// The accounts service run as its own process on a free loopback port: the build next to the tests
/// (<c>dotnet Dataflow.Accounts.dll</c>), or a published self-contained executable.
/// </summary>
public sealed class AccountsServiceProcess : ServerProcess
{
    private readonly string _provider;
    private readonly string _connectionString;
    private readonly string? _executable;

    private AccountsServiceProcess(string provider, string connectionString, string? executable)
        : base("accounts")
    {
        _provider = provider;
        _connectionString = connectionString;
        _executable = executable;
    }

    public Uri BaseUri => new($"http://{Host}:{Port}/");

    public static Task<AccountsServiceProcess> StartAsync(string provider, string connectionString, CancellationToken cancellationToken) =>
        StartAsync(new AccountsServiceProcess(provider, connectionString, executable: null), prepare: null, cancellationToken);

    /// <summary>Starts a published service (<c>dotnet publish -r linux-x64</c>) from its executable.</summary>
    public static Task<AccountsServiceProcess> StartPublishedAsync(string executable, string provider, string connectionString, CancellationToken cancellationToken) =>
        StartAsync(new AccountsServiceProcess(provider, connectionString, executable), prepare: null, cancellationToken);

    protected override ChildProcessOptions CreateProcessOptions()
    {
        var (fileName, arguments) = _executable is { } executable ? (executable, Array.Empty<string>()) : BuiltNextToTheTests();
        return new ChildProcessOptions(fileName, arguments)
        {
            DisplayName = $"accounts:{Port.ToString(CultureInfo.InvariantCulture)}",
            WorkingDirectory = Path.GetDirectoryName(_executable) ?? AppContext.BaseDirectory,
            Environment = new Dictionary<string, string?>
            {
                ["ASPNETCORE_URLS"] = $"http://{Host}:{Port.ToString(CultureInfo.InvariantCulture)}",
                ["ASPNETCORE_ENVIRONMENT"] = "Production",
                ["DOTNET_ENVIRONMENT"] = "Production",
                ["ConnectionStrings__accounts"] = _connectionString,
                ["Accounts__Provider"] = _provider,
                ["Logging__LogLevel__Default"] = "Warning",
            },
        };
    }

    private static (string FileName, string[] Arguments) BuiltNextToTheTests()
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "Dataflow.Accounts.dll");
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException("The accounts service is not built next to the tests.", dll);
        }

        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        return (dotnet, [dll]);
    }

    protected override async Task<bool> IsReadyAsync(CancellationToken cancellationToken)
    {
        // The first request of a cold process (JIT, first database connection) can be slow on a busy machine.
        using var client = new HttpClient { BaseAddress = BaseUri, Timeout = TimeSpan.FromSeconds(10) };
        try
        {
            using var response = await client.GetAsync("/readyz", cancellationToken);
            return response.IsSuccessStatusCode;
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }
}
