using Microsoft.Playwright;

namespace Dataflow.Tests.Infrastructure;

/// <summary>
/// A headless Chromium (Debian's <c>chromium</c> package; browser downloads are impossible here) driven through Playwright's
/// bundled driver, with one page. Every console error, uncaught page error and failed or 4xx/5xx request of that page is
/// recorded, so a test can fail on what a developer would see in the browser's console.
/// </summary>
public sealed class BrowserSession : IAsyncDisposable
{
    public const string ChromiumPath = "/usr/bin/chromium";

    private readonly IPlaywright _playwright;
    private readonly IBrowser _browser;
    private readonly IBrowserContext _context;
    private readonly List<string> _errors = [];

    private BrowserSession(IPlaywright playwright, IBrowser browser, IBrowserContext context, IPage page, string screenshotDirectory)
    {
        _playwright = playwright;
        _browser = browser;
        _context = context;
        Page = page;
        ScreenshotDirectory = screenshotDirectory;
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                Record($"console error at {message.Location}: {message.Text}");
            }
        };
        page.PageError += (_, error) => Record($"uncaught error: {error}");
        page.RequestFailed += (_, request) =>
        {
            // Navigating away aborts the page's in-flight polls: that is the browser's doing, not a failure.
            if (request.Failure != "net::ERR_ABORTED")
            {
                Record($"request failed: {request.Method} {request.Url}: {request.Failure}");
            }
        };
        page.Response += (_, response) =>
        {
            if (response.Status >= 400)
            {
                Record($"HTTP {response.Status}: {response.Request.Method} {response.Url}");
            }
        };
    }

    public IPage Page { get; }

    /// <summary>Where <see cref="ScreenshotAsync"/> writes (created on launch).</summary>
    public string ScreenshotDirectory { get; }

    /// <summary>What the page reported so far (console errors, uncaught exceptions, failed requests).</summary>
    public IReadOnlyList<string> Errors
    {
        get
        {
            lock (_errors)
            {
                return [.. _errors];
            }
        }
    }

    public static async Task<BrowserSession> LaunchAsync(string screenshotDirectory)
    {
        if (!File.Exists(ChromiumPath))
        {
            throw new InvalidOperationException(
                $"'chromium' is not installed (looked for {ChromiumPath}). Install the Debian package 'chromium' (scripts/install-prerequisites.sh does this when run as root).");
        }
        Directory.CreateDirectory(screenshotDirectory);
        var playwright = await Playwright.CreateAsync();
        try
        {
            var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = ChromiumPath,
                Headless = true,
                // --no-sandbox: the tests run as root, where Chromium's sandbox refuses to start.
                Args = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
            });
            var context = await browser.NewContextAsync(new BrowserNewContextOptions
            {
                ViewportSize = new ViewportSize { Width = 1400, Height = 850 },
                Locale = "en-GB",
                TimezoneId = "UTC",
            });
            // The machine may be busy with parallel builds: be patient, but never wait forever.
            context.SetDefaultTimeout(60_000);
            var page = await context.NewPageAsync();
            return new BrowserSession(playwright, browser, context, page, screenshotDirectory);
        }
        catch
        {
            playwright.Dispose();
            throw;
        }
    }

    /// <summary>Saves the visible page as <c>{name}.png</c> and returns the path.</summary>
    public async Task<string> ScreenshotAsync(string name)
    {
        var path = Path.Combine(ScreenshotDirectory, $"{name}.png");
        await Page.ScreenshotAsync(new PageScreenshotOptions { Path = path });
        return path;
    }

    /// <summary>Fails when the page reported any error so far.</summary>
    public void AssertNoErrors()
    {
        var errors = Errors;
        Assert.True(errors.Count == 0, $"The page reported {errors.Count} error(s):\n{string.Join("\n", errors)}");
    }

    public async ValueTask DisposeAsync()
    {
        await _context.CloseAsync();
        await _browser.CloseAsync();
        _playwright.Dispose();
    }

    private void Record(string error)
    {
        lock (_errors)
        {
            _errors.Add(error);
        }
    }
}
