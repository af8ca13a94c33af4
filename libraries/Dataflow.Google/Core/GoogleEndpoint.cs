namespace Dataflow.Google.Core;

/// <summary>Where a client sends its requests and whether that is an emulator.</summary>
public sealed record GoogleEndpoint(Uri BaseAddress, bool IsEmulator)
{
    /// <summary>
    /// Picks the endpoint: an emulator host (<c>host:port</c> or a full URL, as the standard
    /// <c>*_EMULATOR_HOST</c> variables hold) wins over an explicit endpoint, which wins over the production default.
    /// </summary>
    public static GoogleEndpoint Resolve(string? emulatorHost, string? endpoint, string productionEndpoint)
    {
        if (!string.IsNullOrWhiteSpace(emulatorHost))
        {
            return new GoogleEndpoint(ParseHost(emulatorHost), IsEmulator: true);
        }

        return new GoogleEndpoint(ParseHost(string.IsNullOrWhiteSpace(endpoint) ? productionEndpoint : endpoint), IsEmulator: false);
    }

    /// <summary>Parses <c>host:port</c> (plain HTTP, the emulator convention) or an absolute http(s) URL.</summary>
    public static Uri ParseHost(string value)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(value);
        var text = value.Trim();
        if (!text.Contains("://", StringComparison.Ordinal))
        {
            text = "http://" + text;
        }

        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) || string.IsNullOrEmpty(uri.Host))
        {
            throw new FormatException($"'{value}' is neither host:port nor an http(s) URL");
        }

        // Relative request paths are resolved against the base, so it must end with '/'.
        return uri.AbsolutePath.EndsWith('/') ? uri : new Uri(uri.GetLeftPart(UriPartial.Path) + "/");
    }
}
