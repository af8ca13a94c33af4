using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Dataflow.Emulators;

namespace Dataflow.Tests.Integration.Emulators;

/// <summary>One in-process stand-in (memory only) per test class, on a free loopback port.</summary>
public sealed class EmulatorFixture : IAsyncLifetime
{
    private RunningEmulator? _emulator;

    public RunningEmulator Emulator => _emulator ?? throw new InvalidOperationException("The emulator is not started.");

    public HttpClient Http { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        _emulator = await EmulatorHost.StartAsync(new EmulatorOptions(), TestContext.Current.CancellationToken);
        Http = new HttpClient { BaseAddress = _emulator.BaseUri };
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        if (_emulator is not null)
        {
            await _emulator.DisposeAsync();
        }
    }

    public static string NewName(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 13, 40)];
}

internal static class HttpAssertions
{
    public static async Task<JsonObject> JsonAsync(this HttpResponseMessage response, System.Net.HttpStatusCode expected = System.Net.HttpStatusCode.OK)
    {
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(response.StatusCode == expected, $"Expected {(int)expected} but got {(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text)!.AsObject();
    }

    /// <summary>Asserts Google's error envelope and returns its reason.</summary>
    public static async Task<(string Reason, string Message)> GoogleErrorAsync(this HttpResponseMessage response, System.Net.HttpStatusCode expected)
    {
        var json = await response.JsonAsync(expected);
        var error = json["error"]!.AsObject();
        Assert.Equal((int)expected, (int)error["code"]!);
        Assert.False(string.IsNullOrEmpty((string?)error["status"]));
        var item = error["errors"]!.AsArray().Single()!;
        Assert.Equal((string?)error["message"], (string?)item["message"]);
        Assert.NotNull((string?)item["domain"]);
        return ((string)item["reason"]!, (string)error["message"]!);
    }

    public static Task<HttpResponseMessage> PostJsonAsync(this HttpClient http, string uri, object body) =>
        http.PostAsJsonAsync(uri, body, TestContext.Current.CancellationToken);
}
