using System.Net;

namespace Dataflow.Google.Core;

/// <summary>Which failures are worth retrying: HTTP 429/500/502/503/504 and the UNAVAILABLE/DEADLINE_EXCEEDED statuses.</summary>
public static class TransientErrors
{
    public static bool IsTransient(HttpStatusCode httpStatus, string? status) =>
        (int)httpStatus is 429 or 500 or 502 or 503 or 504 || status is "UNAVAILABLE" or "DEADLINE_EXCEEDED";

    /// <summary>True for exceptions a retry may cure: transient Google errors and connection failures.</summary>
    public static bool IsTransient(Exception exception) => exception switch
    {
        GoogleApiException google => google.IsTransient,
        HttpRequestException => true,
        _ => false,
    };
}
