using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;

namespace Dataflow.Tests.Integration.Emulators;

/// <summary>
/// Google's official Node.js clients (@google-cloud/storage, @google-cloud/bigquery, REST with apiEndpoint) run a
/// scripted scenario against the stand-ins; node/scenario.js prints what they observed and this test asserts it.
/// </summary>
[Trait("Category", "Integration")]
public sealed class NodeClientConformanceTests(EmulatorFixture fixture) : IClassFixture<EmulatorFixture>
{
    private static readonly SemaphoreSlim InstallGate = new(1, 1);

    [Fact]
    public async Task Official_node_clients_complete_the_storage_and_bigquery_scenario()
    {
        var ct = TestContext.Current.CancellationToken;
        var folder = ScenarioFolder();
        await EnsurePackagesAsync(folder, ct);
        var runId = Guid.NewGuid().ToString("N")[..10];
        var baseUrl = fixture.Emulator.BaseUri.ToString().TrimEnd('/');

        var (exitCode, output, errors) = await RunAsync(RequireTool("node"), ["scenario.js", baseUrl, "conformance-project", runId], folder, TimeSpan.FromMinutes(2), ct);

        Assert.True(exitCode == 0, $"node scenario.js exited with {exitCode}:\n{errors}\n{output}");
        var result = JsonNode.Parse(output)!;
        var storage = result["storage"]!;
        Assert.Equal(["top.txt"], Strings(storage["topLevelNames"]));
        Assert.Equal(["dir/"], Strings(storage["prefixes"]));
        Assert.Equal(["dir/large.bin", "dir/small.txt", "top.txt"], Strings(storage["pagedNames"]));
        Assert.Equal(3, (int)storage["pages"]!);
        Assert.Equal(412, (int)storage["conflictCode"]!);
        Assert.True((bool)storage["smallRoundTrip"]!);
        Assert.True((bool)storage["largeRoundTrip"]!);
        Assert.Equal((3 * 1024 * 1024) + 123, (int)storage["largeSize"]!);
        Assert.True((bool)storage["rangeMatches"]!);
        Assert.Equal("text/plain", (string?)storage["contentType"]);
        Assert.Equal("node", (string?)storage["customMetadata"]!["origin"]);
        Assert.Equal((string?)storage["expectedMd5"], (string?)storage["md5Hash"]);
        Assert.False((bool)storage["existsAfterDelete"]!);
        Assert.False((bool)storage["bucketExists"]!);

        var bigquery = result["bigquery"]!;
        Assert.Equal(["people"], Strings(bigquery["tables"]));
        Assert.Equal("PartialFailureError", (string?)bigquery["partial"]!["name"]);
        Assert.Equal("""[{"name":"bad","reasons":["invalid"]}]""", bigquery["partial"]!["failed"]!.ToJsonString());
        Assert.Equal(
            """[{"name":"ada","score":90,"ratio":0.5,"tags":["math","code"],"city":"London"},""" +
            """{"name":"grace","score":85,"ratio":1.25,"tags":[],"city":"Arlington"},""" +
            """{"name":"linus","score":70,"ratio":2,"tags":["kernel"],"city":null},""" +
            """{"name":"ok","score":1,"ratio":null,"tags":[],"city":null}]""",
            bigquery["rows"]!.ToJsonString());
        Assert.Equal("""[{"name":"ada","score":90},{"name":"grace","score":85}]""", bigquery["queryRows"]!.ToJsonString());
        Assert.Equal("""[{"n":2,"best":90}]""", bigquery["grouped"]!.ToJsonString());
        Assert.Equal(400, (int)bigquery["badQuery"]!["code"]!);
        Assert.Equal("invalidQuery", (string?)bigquery["badQuery"]!["reason"]);
        Assert.False((bool)bigquery["datasetExists"]!);
    }

    private static string ScenarioFolder([CallerFilePath] string sourceFile = "") =>
        Path.Combine(Path.GetDirectoryName(sourceFile)!, "node");

    /// <summary>Installs the locked client versions (npm ci) when node_modules is missing.</summary>
    private static async Task EnsurePackagesAsync(string folder, CancellationToken ct)
    {
        await InstallGate.WaitAsync(ct);
        try
        {
            if (Directory.Exists(Path.Combine(folder, "node_modules", "@google-cloud", "storage"))
                && Directory.Exists(Path.Combine(folder, "node_modules", "@google-cloud", "bigquery")))
            {
                return;
            }

            var (exitCode, output, errors) = await RunAsync(RequireTool("npm"), ["ci", "--no-audit", "--no-fund"], folder, TimeSpan.FromMinutes(5), ct);
            Assert.True(exitCode == 0, $"npm ci in {folder} failed with {exitCode}:\n{errors}\n{output}");
        }
        finally
        {
            InstallGate.Release();
        }
    }

    private static string RequireTool(string name)
    {
        var path = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator)
            .Select(directory => Path.Combine(directory, name))
            .FirstOrDefault(File.Exists);
        Assert.True(path is not null, $"'{name}' is not on PATH; install the Debian packages nodejs and npm to run the Node.js conformance scenario.");
        return path;
    }

    private static async Task<(int ExitCode, string Output, string Errors)> RunAsync(string program, string[] arguments, string folder, TimeSpan timeout, CancellationToken ct)
    {
        var start = new ProcessStartInfo(program)
        {
            WorkingDirectory = folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // The scenario must never reach real Google Cloud: no credentials, no emulator variables pointing elsewhere.
        start.Environment.Remove("GOOGLE_APPLICATION_CREDENTIALS");
        start.Environment.Remove("STORAGE_EMULATOR_HOST");
        start.Environment.Remove("BIGQUERY_EMULATOR_HOST");
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {program}.");
        var output = process.StandardOutput.ReadToEndAsync(ct);
        var errors = process.StandardError.ReadToEndAsync(ct);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, await output, await errors);
    }

    private static List<string?> Strings(JsonNode? array) => [.. array!.AsArray().Select(n => (string?)n)];
}
