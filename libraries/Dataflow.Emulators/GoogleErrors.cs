using System.Net;
using System.Text.Json;

namespace Dataflow.Emulators;

/// <summary>Writes errors the way Google's JSON APIs do and turns exceptions into such errors.</summary>
internal static class GoogleErrors
{
    public static async Task WriteAsync(HttpContext context, HttpStatusCode code, string reason, string message)
    {
        if (context.Response.HasStarted)
        {
            // Headers are gone: the only honest signal left is to abort the connection.
            context.Abort();
            return;
        }

        context.Response.Clear();
        context.Response.StatusCode = (int)code;
        if (code == HttpStatusCode.NotModified)
        {
            // 304 carries no body.
            return;
        }

        context.Response.ContentType = "application/json; charset=UTF-8";
        var domain = reason == "notImplemented" ? "dataflow.emulator" : "global";
        var body = new ErrorEnvelope(new ErrorBody((int)code, message, [new ErrorItem(message, domain, reason)], StatusName(code)));
        await JsonSerializer.SerializeAsync(context.Response.Body, body, EmulatorJson.Options, context.RequestAborted);
    }

    /// <summary>Middleware: every GoogleApiException, malformed JSON or bad HTTP request becomes a Google error.</summary>
    public static async Task HandleAsync(HttpContext context, RequestDelegate next)
    {
        try
        {
            await next(context);
        }
        catch (GoogleApiException e)
        {
            await WriteAsync(context, e.StatusCode, e.Reason, e.Message);
        }
        catch (JsonException e)
        {
            await WriteAsync(context, HttpStatusCode.BadRequest, "parseError", $"Invalid JSON payload received. {e.Message}");
        }
        catch (BadHttpRequestException e)
        {
            await WriteAsync(context, (HttpStatusCode)e.StatusCode, "invalid", e.Message);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; there is nobody left to answer.
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A defect in the stand-in: log it and still answer in Google's format, as its backends do.
            context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(GoogleErrors))
                .LogError(e, "Unhandled error serving {Method} {Path}", context.Request.Method, context.Request.Path);
            await WriteAsync(context, HttpStatusCode.InternalServerError, "backendError", "Internal error in the Dataflow emulator.");
        }
    }

    public static string StatusName(HttpStatusCode code) => code switch
    {
        HttpStatusCode.BadRequest => "INVALID_ARGUMENT",
        HttpStatusCode.Unauthorized => "UNAUTHENTICATED",
        HttpStatusCode.Forbidden => "PERMISSION_DENIED",
        HttpStatusCode.NotFound => "NOT_FOUND",
        HttpStatusCode.Conflict => "ALREADY_EXISTS",
        HttpStatusCode.PreconditionFailed => "FAILED_PRECONDITION",
        HttpStatusCode.RequestedRangeNotSatisfiable => "OUT_OF_RANGE",
        HttpStatusCode.TooManyRequests => "RESOURCE_EXHAUSTED",
        HttpStatusCode.NotImplemented => "UNIMPLEMENTED",
        (HttpStatusCode)499 => "CANCELLED",
        HttpStatusCode.ServiceUnavailable => "UNAVAILABLE",
        _ when (int)code >= 500 => "INTERNAL",
        _ => "UNKNOWN",
    };

    private sealed record ErrorEnvelope(ErrorBody Error);

    private sealed record ErrorBody(int Code, string Message, IReadOnlyList<ErrorItem> Errors, string Status);

    private sealed record ErrorItem(string Message, string Domain, string Reason);
}
