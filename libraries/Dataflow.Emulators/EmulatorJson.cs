using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Dataflow.Emulators;

/// <summary>JSON conventions of Google's APIs: camelCase names, absent rather than null members.</summary>
internal static class EmulatorJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        // Google writes '+', '&' and '<' literally; the default encoder's \u002B escapes are valid but unusual.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static readonly JsonSerializerOptions Indented = new(Options) { WriteIndented = true };

    /// <summary>Reads a JSON request body; an empty body yields null.</summary>
    public static async Task<T?> ReadBodyAsync<T>(HttpRequest request, CancellationToken cancellationToken)
        where T : class
    {
        if (request.ContentLength == 0)
        {
            return null;
        }

        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, cancellationToken);
        if (buffer.Length == 0)
        {
            return null;
        }

        buffer.Position = 0;
        return await JsonSerializer.DeserializeAsync<T>(buffer, Options, cancellationToken);
    }

    /// <summary>Writes a resource the way Google does: 200 with JSON, honouring prettyPrint.</summary>
    public static IResult Ok<T>(HttpRequest request, T value, int statusCode = StatusCodes.Status200OK)
    {
        var pretty = request.Query["prettyPrint"].ToString() is "true" or "1";
        return TypedResults.Json(value, pretty ? Indented : Options, "application/json; charset=UTF-8", statusCode);
    }
}
