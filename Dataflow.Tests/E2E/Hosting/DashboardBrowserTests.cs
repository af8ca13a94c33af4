using System.Net;
using System.Text.RegularExpressions;
using Dataflow.Hosting;
using Dataflow.Hosting.Testing;
using Dataflow.Tests.Infrastructure;
using Dataflow.Tests.Unit.Hosting;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Dataflow.Tests.E2E.Hosting;

/// <summary>
/// The dashboard as a developer uses it, in a real Chromium: sign in with the token, watch resources and live console logs,
/// restart a resource, and follow a request of the accounts service into traces, structured logs and metrics. Assertions
/// are on what the page shows; any console error, uncaught exception or failed request of the page fails the test.
/// </summary>
[Trait("Category", "E2E")]
public sealed partial class DashboardBrowserTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static void Log(string line) => TestContext.Current.TestOutputHelper?.WriteLine(line);

    [Fact]
    public async Task A_developer_signs_in_watches_live_logs_restarts_redis_and_finds_the_accounts_request_in_the_telemetry()
    {
        SetDefaultExpectTimeout(60_000);
        var builder = TestingBuilder.Create(o =>
        {
            o.DashboardEnabled = true;
            o.Log = Log;
        });
        var redis = builder.AddRedis("redis");
        builder.AddProject("accounts", Path.Combine(HostingPaths.RepositoryRoot, "services", "Dataflow.Accounts", "Dataflow.Accounts.csproj"))
            .WithEnvironment("Accounts__Provider", "InMemory")
            .WithReference(redis)
            .WaitFor(redis);
        // A process that writes a line every second: what "live" console logs must show without a reload.
        builder.AddExecutable("ticker", "sh", null, "-c", "i=0; while :; do i=$((i+1)); echo \"tick $i\"; sleep 1; done");
        await using var app = await builder.BuildAsync();
        await app.StartAsync(Ct);
        await app.WaitForResourceHealthyAsync("accounts", TimeSpan.FromMinutes(5), Ct);
        var redisPassword = Regex.Match(await app.GetConnectionStringAsync("redis", Ct), "password=([^,]+)").Groups[1].Value;
        Assert.NotEmpty(redisPassword);

        await using var browser = await BrowserSession.LaunchAsync(Path.Combine(AppContext.BaseDirectory, "screenshots"));
        var page = browser.Page;
        Log($"Dashboard {app.Application.DashboardUrl}, screenshots in {browser.ScreenshotDirectory}");

        // Sign in: the dashboard sends an anonymous visitor to the login page, which takes the printed token.
        await page.GotoAsync(app.Application.DashboardUrl!.ToString());
        await Expect(page).ToHaveURLAsync(new Regex("/login$"));
        await Expect(page.Locator("#token")).ToBeFocusedAsync();
        await browser.ScreenshotAsync("dashboard-login");
        await page.Locator("#token").FillAsync(app.Application.DashboardToken!);
        await page.Locator("#login").ClickAsync();

        // Resources: every one Running and Healthy, endpoints as links, secrets masked in the environment.
        // Every resource of the application: the three above and the generated redis password (a secret parameter).
        var resourceNames = app.GetResources().Select(r => r.Name).ToList();
        Assert.Equal(["accounts", "redis", "redis-password", "ticker"], resourceNames.Order(StringComparer.Ordinal));
        await Expect(page.Locator("#resources tbody tr")).ToHaveCountAsync(resourceNames.Count);
        foreach (var name in resourceNames)
        {
            await Expect(Row(page, name).Locator("td.state")).ToHaveTextAsync("Running");
            await Expect(Row(page, name).Locator("td.health")).ToHaveTextAsync("Healthy");
        }
        // A parameter is a value, not a process: nothing to start, stop or restart.
        await Expect(Row(page, "redis-password").Locator("button")).ToHaveCountAsync(0);
        using var accounts = app.CreateHttpClient("accounts");
        await Expect(Row(page, "accounts").Locator("td.endpoints a"))
            .ToHaveAttributeAsync("href", accounts.BaseAddress!.ToString().TrimEnd('/'));
        await Row(page, "accounts").Locator("td.name").ClickAsync();
        await Expect(page.Locator("#details-title")).ToHaveTextAsync("accounts: environment");
        var connectionString = page.Locator("#environment tr", new() { HasText = "ConnectionStrings__redis" });
        await Expect(connectionString).ToBeVisibleAsync();
        await Expect(connectionString).Not.ToContainTextAsync(redisPassword);
        await Expect(page.Locator("#environment")).Not.ToContainTextAsync(redisPassword);
        await browser.ScreenshotAsync("dashboard-resources");

        // Console logs: the ticker's lines keep arriving while the page stays open.
        await Row(page, "ticker").Locator("[data-command=logs]").ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("#console/ticker$"));
        var output = page.Locator("#console-output");
        await Expect(output).ToContainTextAsync(TickPattern());
        var lastTick = TickPattern().Matches(await output.InnerTextAsync()).Max(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
        await Expect(output).ToContainTextAsync(new Regex($@"\btick {lastTick + 2}\b"));
        await page.Locator("#console-resource").SelectOptionAsync("redis");
        await Expect(page).ToHaveURLAsync(new Regex("#console/redis$"));
        await Expect(output).ToContainTextAsync("Ready to accept connections");
        await Expect(output).Not.ToContainTextAsync("tick ");
        await browser.ScreenshotAsync("dashboard-console");

        // Restart from the UI: redis goes down and comes back Running and Healthy, with a new start time.
        await page.Locator("nav a[data-view=resources]").ClickAsync();
        var started = Row(page, "redis").Locator("td.started");
        var startedBefore = await started.GetAttributeAsync("data-started");
        Assert.False(string.IsNullOrEmpty(startedBefore));
        await Row(page, "redis").Locator("button[data-command=restart]").ClickAsync();
        await Expect(started).Not.ToHaveAttributeAsync("data-started", startedBefore!);
        await Expect(Row(page, "redis").Locator("td.state")).ToHaveTextAsync("Running");
        await Expect(Row(page, "redis").Locator("td.health")).ToHaveTextAsync("Healthy");
        await Expect(Row(page, "redis").Locator("button[data-command=restart]")).ToBeEnabledAsync();
        Assert.Equal(Dataflow.Hosting.Orchestration.KnownResourceStates.Running, app.GetResources().Single(r => r.Name == "redis").State);

        // Traces: a request to the accounts service shows up, and opens as a span waterfall.
        var account = Guid.NewGuid();
        using (var open = await accounts.PostAsync($"api/account/{account}?owner={Guid.NewGuid()}", null, Ct))
        {
            Assert.Equal(HttpStatusCode.Created, open.StatusCode);
        }
        using (var read = await accounts.GetAsync($"api/account/{account}", Ct))
        {
            Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        }
        await page.Locator("nav a[data-view=traces]").ClickAsync();
        var trace = page.Locator("#traces tbody tr", new() { HasText = "accounts: POST" });
        await Expect(trace.First).ToBeVisibleAsync();
        await trace.First.ClickAsync();
        await Expect(page.Locator("#waterfall")).ToBeVisibleAsync();
        await Expect(page.Locator("#spans .span").First).ToContainTextAsync("accounts: POST");
        await browser.ScreenshotAsync("dashboard-traces");

        // Structured logs: the service's own log records, received over OTLP, linked to the trace of their request;
        // health probes log a trace id too but are not traced, so theirs is no link to nowhere.
        await page.Locator("nav a[data-view=logs]").ClickAsync();
        var logRows = page.Locator("#structured-logs tbody tr");
        await Expect(logRows.Filter(new() { HasText = "/readyz" }).First).ToBeVisibleAsync();
        await Expect(logRows.Filter(new() { HasText = "/readyz" }).Locator("a")).ToHaveCountAsync(0);
        await browser.ScreenshotAsync("dashboard-structured-logs");
        await page.Locator("#log-search").FillAsync(account.ToString());
        var requestLog = logRows.Filter(new() { HasText = $"POST http://127.0.0.1:{accounts.BaseAddress!.Port}/api/account/{account}" }).First;
        await Expect(requestLog).ToBeVisibleAsync();
        await Expect(logRows.Filter(new() { HasText = "/readyz" })).ToHaveCountAsync(0);
        await requestLog.Locator("a").ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("#traces/[0-9a-f]{32}$"));
        await Expect(page.Locator("#spans .span").First).ToContainTextAsync("accounts: POST");

        // Metrics: the request-duration histogram of the accounts service, drawn as a chart.
        await page.Locator("nav a[data-view=metrics]").ClickAsync();
        var metric = page.Locator("#metric-list button[data-metric='accounts/http.server.request.duration']");
        await metric.ClickAsync();
        await Expect(page.Locator("#metric-chart h2")).ToContainTextAsync("accounts: http.server.request.duration");
        await Expect(page.Locator("#metric-chart path.series")).ToHaveAttributeAsync("d", new Regex("^M[0-9.]+,[0-9.]+"));
        await browser.ScreenshotAsync("dashboard-metrics");

        browser.AssertNoErrors();
    }

    private static ILocator Row(IPage page, string resource) => page.Locator($"#resources tbody tr[data-resource='{resource}']");

    [GeneratedRegex(@"\btick (\d+)\b")]
    private static partial Regex TickPattern();
}
