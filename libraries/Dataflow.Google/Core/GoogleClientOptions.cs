namespace Dataflow.Google.Core;

/// <summary>Settings every Google client shares; bound from a configuration section such as <c>Google:PubSub</c>.</summary>
public abstract class GoogleClientOptions
{
    /// <summary>The Google Cloud project id. Falls back to <c>GOOGLE_CLOUD_PROJECT</c>.</summary>
    public string ProjectId { get; set; } = "";

    /// <summary>Emulator <c>host:port</c> or URL; falls back to the API's standard <c>*_EMULATOR_HOST</c> variable.
    /// When set, no credentials are sent.</summary>
    public string? EmulatorHost { get; set; }

    /// <summary>Overrides the production endpoint (e.g. a regional or private endpoint).</summary>
    public string? Endpoint { get; set; }

    /// <summary>Service-account key file; when absent, Application Default Credentials are used.</summary>
    public string? CredentialsFile { get; set; }

    /// <summary>Total attempts for a request whose failure is transient.</summary>
    public int MaxAttempts { get; set; } = 5;

    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromMilliseconds(100);

    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Time limit for one HTTP request (long-polling pulls are bounded by the server well below this).</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(100);

    public RetrySettings ToRetrySettings() => new() { MaxAttempts = MaxAttempts, InitialBackoff = InitialBackoff, MaxBackoff = MaxBackoff };

    /// <summary>Problems with these options, each naming the configuration key under <paramref name="section"/>.</summary>
    public virtual IEnumerable<string> Validate(string section)
    {
        if (string.IsNullOrWhiteSpace(ProjectId))
        {
            yield return $"{section}:ProjectId is required (or set GOOGLE_CLOUD_PROJECT)";
        }

        foreach (var (key, value) in new[] { ("EmulatorHost", EmulatorHost), ("Endpoint", Endpoint) })
        {
            if (!string.IsNullOrWhiteSpace(value))
            {
                string? error = null;
                try
                {
                    GoogleEndpoint.ParseHost(value);
                }
                catch (FormatException ex)
                {
                    error = ex.Message;
                }

                if (error is not null)
                {
                    yield return $"{section}:{key}: {error}";
                }
            }
        }

        if (MaxAttempts < 1)
        {
            yield return $"{section}:MaxAttempts must be at least 1";
        }

        if (InitialBackoff < TimeSpan.Zero || MaxBackoff < InitialBackoff)
        {
            yield return $"{section}:InitialBackoff/MaxBackoff must be non-negative with MaxBackoff ≥ InitialBackoff";
        }

        if (RequestTimeout <= TimeSpan.Zero)
        {
            yield return $"{section}:RequestTimeout must be positive";
        }

        if (!string.IsNullOrWhiteSpace(CredentialsFile) && string.IsNullOrWhiteSpace(EmulatorHost) && !File.Exists(CredentialsFile))
        {
            yield return $"{section}:CredentialsFile '{CredentialsFile}' does not exist";
        }
    }
}
