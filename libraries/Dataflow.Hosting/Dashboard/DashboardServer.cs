using System.Net;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Dataflow.Hosting.Orchestration;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Dataflow.Hosting.Dashboard;

/// <summary>
/// The developer dashboard: resources, live console logs, start/stop/restart, and the telemetry the services send
/// over OTLP/HTTP. Bound to loopback; every page and API needs the login cookie, obtained with the printed token.
/// </summary>
public sealed class DashboardServer : IAsyncDisposable
{
    internal const string CookieName = "dataflow-dashboard";
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter() },
    };

    private readonly Orchestrator _orchestrator;
    private readonly DistributedApplicationOptions _options;
    private readonly byte[] _tokenBytes;
    private WebApplication? _app;

    public DashboardServer(Orchestrator orchestrator, DistributedApplicationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _orchestrator = orchestrator;
        _options = options;
        Token = options.DashboardToken ?? Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        _tokenBytes = Encoding.UTF8.GetBytes(Token);
        Telemetry = new Otlp.TelemetryStore();
    }

    public string Token { get; }

    public Uri? Url { get; private set; }

    /// <summary>The OTLP/HTTP base address services export to (same listener as the dashboard).</summary>
    public string? OtlpEndpoint => Url?.ToString().TrimEnd('/');

    internal Otlp.TelemetryStore Telemetry { get; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, _options.DashboardPort);
            k.Limits.MaxRequestBodySize = 16 * 1024 * 1024;
        });
        var app = builder.Build();
        app.Use(AuthenticateAsync);
        MapPages(app);
        MapResourceApi(app);
        Otlp.OtlpEndpoints.Map(app, Telemetry);
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Url = new Uri(address.EndsWith('/') ? address : address + "/");
        _app = app;
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await _app.StopAsync(timeout.Token);
            await _app.DisposeAsync();
            _app = null;
        }
    }

    private async Task AuthenticateAsync(HttpContext context, RequestDelegate next)
    {
        var path = context.Request.Path;
        // OTLP ingestion is loopback-only and unauthenticated, as the services' exporters send no credentials;
        // the static assets hold no data, and the login page needs its icon.
        if (path.StartsWithSegments("/login") || path.StartsWithSegments("/v1") || path.StartsWithSegments("/assets"))
        {
            await next(context);
            return;
        }
        if (context.Request.Cookies.TryGetValue(CookieName, out var cookie) && IsToken(cookie))
        {
            await next(context);
            return;
        }
        if (path.StartsWithSegments("/api"))
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            return;
        }
        context.Response.Redirect("/login");
    }

    private bool IsToken(string? candidate) =>
        candidate is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(candidate), _tokenBytes);

    private void SignIn(HttpContext context) =>
        context.Response.Cookies.Append(CookieName, Token, new CookieOptions
        {
            HttpOnly = true,
            SameSite = SameSiteMode.Strict,
            IsEssential = true,
            Path = "/",
        });

    private void MapPages(WebApplication app)
    {
        app.MapGet("/login", (HttpContext context, string? t) =>
        {
            if (IsToken(t))
            {
                SignIn(context);
                return Results.Redirect("/");
            }
            return Results.Content(LoadAsset("login.html"), "text/html; charset=utf-8");
        });
        app.MapPost("/login", async (HttpContext context) =>
        {
            var form = await context.Request.ReadFormAsync(context.RequestAborted);
            if (IsToken(form["token"]))
            {
                SignIn(context);
                return Results.Redirect("/");
            }
            return Results.Content(LoadAsset("login.html").Replace("<!--error-->", "<p class=\"error\" id=\"login-error\">Invalid token.</p>", StringComparison.Ordinal),
                "text/html; charset=utf-8", statusCode: StatusCodes.Status401Unauthorized);
        });
        app.MapGet("/", () => Results.Content(LoadAsset("index.html"), "text/html; charset=utf-8"));
        app.MapGet("/assets/{file}", (string file) => file switch
        {
            "app.js" => Results.Content(LoadAsset("app.js"), "text/javascript; charset=utf-8"),
            "app.css" => Results.Content(LoadAsset("app.css"), "text/css; charset=utf-8"),
            "favicon.svg" => Results.Content(LoadAsset("favicon.svg"), "image/svg+xml"),
            _ => Results.NotFound(),
        });
    }

    private void MapResourceApi(WebApplication app)
    {
        app.MapGet("/api/resources", () => Results.Json(_orchestrator.GetSnapshots().Select(MaskSecrets), Json));
        app.MapGet("/api/resources/{name}/logs", (string name, long? after) =>
        {
            try
            {
                var (lines, last) = _orchestrator.GetLog(name).ReadAfter(after ?? 0);
                var first = last - lines.Count + 1;
                return Results.Json(new
                {
                    last,
                    lines = lines.Select((l, i) => new { seq = first + i, ts = l.Timestamp, stream = l.Stream == Processes.LogStream.StandardError ? "err" : "out", text = l.Text }),
                }, Json);
            }
            catch (KeyNotFoundException ex)
            {
                return Results.Problem(ex.Message, statusCode: StatusCodes.Status404NotFound);
            }
        });
        app.MapPost("/api/resources/{name}/{command}", async (string name, string command, CancellationToken cancellationToken) =>
        {
            try
            {
                switch (command)
                {
                    case "start":
                        await _orchestrator.StartResourceAsync(name, cancellationToken);
                        break;
                    case "stop":
                        await _orchestrator.StopResourceAsync(name, cancellationToken);
                        break;
                    case "restart":
                        await _orchestrator.RestartResourceAsync(name, cancellationToken);
                        break;
                    default:
                        return Results.Problem($"Unknown command '{command}': use start, stop or restart.", statusCode: StatusCodes.Status400BadRequest);
                }
                return Results.NoContent();
            }
            catch (KeyNotFoundException ex)
            {
                return Results.Problem(ex.Message, statusCode: StatusCodes.Status404NotFound);
            }
        });
    }

    private static ResourceSnapshot MaskSecrets(ResourceSnapshot snapshot) => snapshot with
    {
        Environment = [.. snapshot.Environment.Select(e => e.IsSecret ? e with { Value = "••••••••" } : e)],
    };

    private static string LoadAsset(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream($"dashboard/{name}")
            ?? throw new FileNotFoundException($"Dashboard asset '{name}' is not embedded.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
