using Google.Apis.Auth.OAuth2;

namespace Dataflow.Google.Core;

/// <summary>Supplies the bearer token for a request; null means "send no Authorization header".</summary>
public interface IGoogleAccessTokenSource
{
    ValueTask<string?> GetAccessTokenAsync(CancellationToken cancellationToken);
}

/// <summary>Sends no credentials (Pub/Sub, Storage and BigQuery emulators).</summary>
public sealed class AnonymousTokenSource : IGoogleAccessTokenSource
{
    public static AnonymousTokenSource Instance { get; } = new();

    public ValueTask<string?> GetAccessTokenAsync(CancellationToken cancellationToken) => ValueTask.FromResult<string?>(null);
}

/// <summary>A fixed token, e.g. <c>owner</c> for the Firestore emulator (bypasses security rules).</summary>
public sealed class StaticTokenSource(string token) : IGoogleAccessTokenSource
{
    public ValueTask<string?> GetAccessTokenAsync(CancellationToken cancellationToken) => ValueTask.FromResult<string?>(token);
}

/// <summary>
/// Tokens from Google.Apis.Auth: a service-account key file when one is configured, otherwise Application
/// Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud user credentials, the GCE/GKE/Cloud Run
/// metadata server). The credential is created once, on first use, and refreshes its own tokens.
/// </summary>
public sealed class GoogleCredentialTokenSource : IGoogleAccessTokenSource
{
    private readonly Lazy<Task<ITokenAccess>> _credential;

    public GoogleCredentialTokenSource(string? credentialsFile, IReadOnlyList<string> scopes)
    {
        ArgumentNullException.ThrowIfNull(scopes);
        _credential = new Lazy<Task<ITokenAccess>>(() => CreateAsync(credentialsFile, scopes), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    public GoogleCredentialTokenSource(GoogleCredential credential)
    {
        ArgumentNullException.ThrowIfNull(credential);
        _credential = new Lazy<Task<ITokenAccess>>(Task.FromResult<ITokenAccess>(credential));
    }

    public async ValueTask<string?> GetAccessTokenAsync(CancellationToken cancellationToken)
    {
        var credential = await _credential.Value.WaitAsync(cancellationToken);
        return await credential.GetAccessTokenForRequestAsync(authUri: null, cancellationToken);
    }

    private static async Task<ITokenAccess> CreateAsync(string? credentialsFile, IReadOnlyList<string> scopes)
    {
        GoogleCredential credential;
        if (string.IsNullOrEmpty(credentialsFile))
        {
            credential = await GoogleCredential.GetApplicationDefaultAsync(CancellationToken.None);
        }
        else
        {
            // Only service-account keys are accepted from configuration: loading arbitrary credential
            // types from a file is what Google's security advisory warns against.
            credential = await CredentialFactory.FromFileAsync(
                credentialsFile, JsonCredentialParameters.ServiceAccountCredentialType, CancellationToken.None);
        }

        return credential.IsCreateScopedRequired ? credential.CreateScoped(scopes) : credential;
    }
}
