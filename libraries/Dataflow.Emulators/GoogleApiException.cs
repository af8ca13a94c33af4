using System.Net;

namespace Dataflow.Emulators;

/// <summary>A request the stand-ins reject; rendered in Google's JSON error format.</summary>
internal sealed class GoogleApiException(HttpStatusCode statusCode, string reason, string message) : Exception(message)
{
    public HttpStatusCode StatusCode { get; } = statusCode;

    public string Reason { get; } = reason;

    public static GoogleApiException NotFound(string message) => new(HttpStatusCode.NotFound, "notFound", message);

    public static GoogleApiException Invalid(string message) => new(HttpStatusCode.BadRequest, "invalid", message);

    public static GoogleApiException Required(string message) => new(HttpStatusCode.BadRequest, "required", message);

    public static GoogleApiException Conflict(string message) => new(HttpStatusCode.Conflict, "conflict", message);

    public static GoogleApiException Duplicate(string message) => new(HttpStatusCode.Conflict, "duplicate", message);

    public static GoogleApiException PreconditionFailed() => new(
        HttpStatusCode.PreconditionFailed, "conditionNotMet", "At least one of the pre-conditions you specified did not hold.");

    public static GoogleApiException InvalidQuery(string message) => new(HttpStatusCode.BadRequest, "invalidQuery", message);

    public static GoogleApiException NotImplemented(string what) => new(
        HttpStatusCode.NotImplemented, "notImplemented", $"Not supported by the Dataflow emulator: {what}.");
}
