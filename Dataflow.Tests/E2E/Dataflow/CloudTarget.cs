using Dataflow.Google.BigQuery;
using Dataflow.Google.Core;
using Dataflow.Google.Firestore;
using Dataflow.Google.PubSub;
using Dataflow.Google.Storage;

namespace Dataflow.Tests.E2E.DataflowScenarios;

/// <summary>One Google API as the test and the services under test reach it: a project, and an emulator host unless real.</summary>
internal sealed record GoogleApiTarget(string ProjectId, string? EmulatorHost)
{
    /// <summary>Adds <c>&lt;section&gt;:ProjectId</c> (and <c>:EmulatorHost</c>) to a service's configuration.</summary>
    public void AddTo(IDictionary<string, string?> configuration, string section)
    {
        configuration[$"{section}:ProjectId"] = ProjectId;
        if (EmulatorHost is not null)
        {
            configuration[$"{section}:EmulatorHost"] = EmulatorHost;
        }
    }

    public TOptions Options<TOptions>()
        where TOptions : GoogleClientOptions, new() => new() { ProjectId = ProjectId, EmulatorHost = EmulatorHost };
}

/// <summary>
/// Where the end-to-end suite runs: the emulators and stand-ins of the test fixtures, or real Google Cloud when
/// <c>DATAFLOW_E2E_GCP_PROJECT</c> and <c>GOOGLE_APPLICATION_CREDENTIALS</c> are set. In real mode no emulator host is
/// configured anywhere, so every client resolves the production endpoint and authenticates with Application Default
/// Credentials (which read <c>GOOGLE_APPLICATION_CREDENTIALS</c>). Firestore is null when a run does not need it.
/// </summary>
internal sealed record CloudTarget(bool IsGoogleCloud, GoogleApiTarget PubSub, GoogleApiTarget Storage, GoogleApiTarget BigQuery, GoogleApiTarget? Firestore)
{
    public const string ProjectVariable = "DATAFLOW_E2E_GCP_PROJECT";
    public const string CredentialsVariable = "GOOGLE_APPLICATION_CREDENTIALS";

    private static readonly string[] EmulatorVariables =
        [PubSubClient.EmulatorVariable, StorageClient.EmulatorVariable, BigQueryClient.EmulatorVariable, FirestoreClient.EmulatorVariable];

    /// <summary>
    /// The Google Cloud project to run against, or null for the emulators (the variable is absent). A half-configured
    /// real mode fails with the variable to fix instead of silently running somewhere else.
    /// </summary>
    public static string? GoogleCloudProject(Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var project = environment(ProjectVariable)?.Trim();
        if (string.IsNullOrEmpty(project))
        {
            return null;
        }

        // The services fall back to these variables when their configuration names no emulator.
        var emulators = EmulatorVariables.Where(v => !string.IsNullOrWhiteSpace(environment(v))).ToList();
        if (emulators.Count > 0)
        {
            throw new InvalidOperationException(
                $"{ProjectVariable}={project} selects real Google Cloud, but {string.Join(", ", emulators)} would send the services to an emulator: unset them.");
        }

        var credentials = environment(CredentialsVariable);
        if (string.IsNullOrWhiteSpace(credentials))
        {
            throw new InvalidOperationException(
                $"{ProjectVariable}={project} selects real Google Cloud, but {CredentialsVariable} is not set: point it at a service-account key or workload identity configuration.");
        }

        if (!File.Exists(credentials))
        {
            throw new InvalidOperationException($"{CredentialsVariable} names '{credentials}', which does not exist.");
        }

        return project;
    }

    public static CloudTarget GoogleCloud(string project, bool firestore)
    {
        var api = new GoogleApiTarget(project, EmulatorHost: null);
        return new CloudTarget(true, api, api, api, firestore ? api : null);
    }

    public static CloudTarget Emulators(string project, string pubSubHost, string storageAndBigQueryHost, string? firestoreHost) =>
        new(false, new(project, pubSubHost), new(project, storageAndBigQueryHost), new(project, storageAndBigQueryHost),
            firestoreHost is null ? null : new(project, firestoreHost));

    /// <summary>The <c>Google:*</c> sections every service reads its clients from.</summary>
    public void AddTo(IDictionary<string, string?> configuration)
    {
        PubSub.AddTo(configuration, "Google:PubSub");
        Storage.AddTo(configuration, "Google:Storage");
        BigQuery.AddTo(configuration, "Google:BigQuery");
        Firestore?.AddTo(configuration, "Google:Firestore");
    }

    public override string ToString() => IsGoogleCloud ? $"Google Cloud project {PubSub.ProjectId}" : $"emulators (project {PubSub.ProjectId})";
}
