using System.Net;
using System.Text.Json;

namespace Dataflow.Google.Core;

/// <summary>
/// A Google API call failed. Carries the HTTP status and the fields of Google's JSON error format
/// (<c>{"error":{"code","message","status","details"}}</c>).
/// </summary>
public sealed class GoogleApiException : Exception
{
    public GoogleApiException(string message) : base(message)
    {
        Status = "UNKNOWN";
        ErrorMessage = message;
        Details = [];
    }

    public GoogleApiException(string message, Exception innerException) : base(message, innerException)
    {
        Status = "UNKNOWN";
        ErrorMessage = message;
        Details = [];
    }

    public GoogleApiException(
        HttpStatusCode httpStatus, int code, string status, string errorMessage,
        IReadOnlyList<JsonElement> details, string? method = null, Uri? requestUri = null, Exception? innerException = null)
        : base(Describe(httpStatus, status, errorMessage, method, requestUri), innerException)
    {
        HttpStatus = httpStatus;
        Code = code;
        Status = status;
        ErrorMessage = errorMessage;
        Details = details;
    }

    /// <summary>HTTP status of the response, or 0 when no response arrived (connection failure, timeout).</summary>
    public HttpStatusCode HttpStatus { get; }

    /// <summary>The <c>error.code</c> field (normally equal to the HTTP status).</summary>
    public int Code { get; }

    /// <summary>The canonical status name, e.g. <c>NOT_FOUND</c>, <c>ALREADY_EXISTS</c>, <c>UNAVAILABLE</c>.</summary>
    public string Status { get; }

    /// <summary>The <c>error.message</c> field as sent by the server.</summary>
    public string ErrorMessage { get; }

    /// <summary>The <c>error.details</c> array (typed detail objects with an <c>@type</c> field).</summary>
    public IReadOnlyList<JsonElement> Details { get; }

    /// <summary>True when retrying the same request may succeed.</summary>
    public bool IsTransient => TransientErrors.IsTransient(HttpStatus, Status);

    private static string Describe(HttpStatusCode httpStatus, string status, string message, string? method, Uri? uri)
    {
        var target = method is null || uri is null ? "" : $" ({method} {uri.GetLeftPart(UriPartial.Path)})";
        return $"Google API error {(int)httpStatus} {status}: {message}{target}";
    }

    internal static GoogleApiException Transport(string status, string message, HttpRequestMessage request, Exception inner) =>
        new(0, 0, status, message, [], request.Method.Method, request.RequestUri, inner);

    /// <summary>Builds the exception from a non-success response, parsing Google's JSON error body when present.</summary>
    public static async Task<GoogleApiException> FromResponseAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(response);
        string body;
        try
        {
            body = await response.Content.ReadAsStringAsync(cancellationToken);
        }
        catch (HttpRequestException)
        {
            body = "";
        }

        var request = response.RequestMessage;
        return Parse(response.StatusCode, body, request?.Method.Method, request?.RequestUri);
    }

    /// <summary>Parses an error body; tolerates non-JSON bodies and the OAuth <c>{"error":"..."}</c> shape.</summary>
    public static GoogleApiException Parse(HttpStatusCode httpStatus, string body, string? method = null, Uri? requestUri = null)
    {
        var code = (int)httpStatus;
        var status = StatusFromHttp(httpStatus);
        var message = string.IsNullOrWhiteSpace(body) ? httpStatus.ToString() : body.Trim();
        IReadOnlyList<JsonElement> details = [];

        if (body.AsSpan().TrimStart().StartsWith("{"))
        {
            try
            {
                using var document = JsonDocument.Parse(body);
                var root = document.RootElement;
                if (root.ValueKind == JsonValueKind.Array && root.GetArrayLength() > 0)
                {
                    root = root[0];
                }

                if (root.TryGetProperty("error", out var error))
                {
                    if (error.ValueKind == JsonValueKind.Object)
                    {
                        if (error.TryGetProperty("code", out var c) && c.TryGetInt32(out var parsedCode))
                        {
                            code = parsedCode;
                        }

                        if (error.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.String)
                        {
                            status = s.GetString()!;
                        }

                        if (error.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String)
                        {
                            message = m.GetString()!;
                        }

                        if (error.TryGetProperty("details", out var d) && d.ValueKind == JsonValueKind.Array)
                        {
                            details = [.. d.EnumerateArray().Select(e => e.Clone())];
                        }
                        else if (error.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Array)
                        {
                            // Older APIs (Storage, BigQuery) put {domain, reason, message} items here.
                            details = [.. errors.EnumerateArray().Select(e => e.Clone())];
                        }
                    }
                    else if (error.ValueKind == JsonValueKind.String)
                    {
                        message = root.TryGetProperty("error_description", out var description)
                            ? $"{error.GetString()}: {description.GetString()}"
                            : error.GetString()!;
                    }
                }
            }
            catch (JsonException)
            {
                // Not Google's format: keep the raw body as the message.
            }
        }

        return new GoogleApiException(httpStatus, code, status, message, details, method, requestUri);
    }

    /// <summary>The canonical status Google's HTTP mapping uses when the body names none.</summary>
    public static string StatusFromHttp(HttpStatusCode httpStatus) => (int)httpStatus switch
    {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ALREADY_EXISTS",
        412 => "FAILED_PRECONDITION",
        416 => "OUT_OF_RANGE",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        500 => "INTERNAL",
        501 => "UNIMPLEMENTED",
        502 => "UNAVAILABLE",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => "UNKNOWN",
    };
}
