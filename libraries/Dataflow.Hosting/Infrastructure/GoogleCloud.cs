using System.Globalization;
using Dataflow.Hosting.ApplicationModel;

namespace Dataflow.Hosting;

/// <summary>The Google Cloud project id every GCP resource of this application uses (run-id suffixed in tests).</summary>
public sealed class GcpProjectIdProvider(string projectId) : IValueProvider, IManifestExpressionProvider
{
    public string ProjectId { get; } = projectId;

    public string ValueExpression => ProjectId;

    public ValueTask<string?> GetValueAsync(CancellationToken cancellationToken = default) => ValueTask.FromResult<string?>(ProjectId);
}

/// <summary>One of Google's emulators shipped with the Google Cloud CLI, run directly on the bundled Java runtime.</summary>
public class GcpEmulatorResource : ExecutableResource, IResourceWithReferenceEnvironment
{
    internal GcpEmulatorResource(string name, string variable, string package, string jar, IReadOnlyList<string> javaArguments,
        GcpProjectIdProvider projectId)
        : base(name, "java")
    {
        HostVariable = variable;
        Package = package;
        Jar = jar;
        JavaArguments = javaArguments;
        ProjectId = projectId;
    }

    /// <summary><c>PUBSUB_EMULATOR_HOST</c> or <c>FIRESTORE_EMULATOR_HOST</c>.</summary>
    public string HostVariable { get; }

    public string Jar { get; }

    public IReadOnlyList<string> JavaArguments { get; }

    public GcpProjectIdProvider ProjectId { get; }

    public EndpointReference PrimaryEndpoint => new(this, "http");

    public override ResourceBacking ResolveBacking()
    {
        if (!File.Exists(Jar))
        {
            return ResourceBacking.Missing($"{Path.GetFileName(Jar)} is not installed: apt-get install {Package}");
        }
        return BinaryLocator.Find("java") is { } java
            ? new ResourceBacking(ResourceBackingKind.LocalProcess, $"local process {Jar}", java)
            : ResourceBacking.Missing("'java' is not installed: apt-get install default-jre-headless");
    }

    public override ValueTask<(string FileName, IReadOnlyList<string> Arguments)> GetStartCommandAsync(
        ResourceRunContext context, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var port = context.Port("http").ToString(CultureInfo.InvariantCulture);
        return ValueTask.FromResult<(string, IReadOnlyList<string>)>((context.Backing.Path!,
            [.. JavaArguments.Select(a => a.Replace("{port}", port, StringComparison.Ordinal)), .. arguments]));
    }

    public void ApplyReferenceEnvironment(EnvironmentCallbackContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.EnvironmentVariables[HostVariable] = PrimaryEndpoint.Property(EndpointProperty.HostAndPort);
        context.EnvironmentVariables["GOOGLE_CLOUD_PROJECT"] = ProjectId;
    }

    /// <summary>The emulator's REST API root (<c>http://127.0.0.1:{port}/v1/projects/{project}/</c>), once the application runs.</summary>
    public Uri ProjectApiRoot => new($"{PrimaryEndpoint.Url}/v1/projects/{ProjectId.ProjectId}/");
}

/// <summary>Google's Pub/Sub emulator; topics and subscriptions declared on it are created by its provisioning job.</summary>
public sealed class PubSubEmulatorResource : GcpEmulatorResource
{
    private readonly List<PubSubTopicResource> _topics = [];

    internal PubSubEmulatorResource(string name, string jar, IReadOnlyList<string> javaArguments, GcpProjectIdProvider projectId)
        : base(name, "PUBSUB_EMULATOR_HOST", "google-cloud-cli-pubsub-emulator", jar, javaArguments, projectId)
    {
    }

    public IReadOnlyList<PubSubTopicResource> Topics => _topics;

    /// <summary>The one-shot job creating <see cref="Topics"/> and their subscriptions (added with the first topic).</summary>
    public PubSubProvisioningResource? Provisioning { get; internal set; }

    internal void AddTopic(PubSubTopicResource topic) => _topics.Add(topic);
}

/// <summary>Google's Firestore emulator (native mode); documents declared with <c>AddDocuments</c> are seeded into it.</summary>
public sealed class FirestoreEmulatorResource : GcpEmulatorResource
{
    internal FirestoreEmulatorResource(string name, string jar, IReadOnlyList<string> javaArguments, GcpProjectIdProvider projectId)
        : base(name, "FIRESTORE_EMULATOR_HOST", "google-cloud-cli-firestore-emulator", jar, javaArguments, projectId)
    {
    }
}

/// <summary>Cloud Storage or BigQuery served by the repository's stand-in (libraries/Dataflow.Emulators), a project resource.</summary>
public sealed class GcpStandInResource(string name, string hostVariable, ProjectResource standIn, GcpProjectIdProvider projectId)
    : Resource(name), IResourceWithParent, IResourceWithReferenceEnvironment
{
    /// <summary><c>STORAGE_EMULATOR_HOST</c> or <c>BIGQUERY_EMULATOR_HOST</c>.</summary>
    public string HostVariable { get; } = hostVariable;

    public ProjectResource StandIn { get; } = standIn;

    public GcpProjectIdProvider ProjectId { get; } = projectId;

    IResource IResourceWithParent.Parent => StandIn;

    public void ApplyReferenceEnvironment(EnvironmentCallbackContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.EnvironmentVariables[HostVariable] = new EndpointReference(StandIn, "http");
        context.EnvironmentVariables["GOOGLE_CLOUD_PROJECT"] = ProjectId;
    }
}

public static class GoogleCloudBuilderExtensions
{
    private const string SdkPlatform = "/usr/lib/google-cloud-sdk/platform";
    private const string EmulatorImage = "gcr.io/google.com/cloudsdktool/google-cloud-cli";

    /// <summary>The project id of this run: <c>AppHost:GcpProjectId</c>, suffixed with the run id when asked.</summary>
    public static GcpProjectIdProvider GetGcpProjectId(this IDistributedApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var id = builder.Options.SuffixCloudNamesWithRunId ? $"{builder.Options.GcpProjectId}-{builder.RunId}" : builder.Options.GcpProjectId;
        return new GcpProjectIdProvider(id);
    }

    public static IResourceBuilder<PubSubEmulatorResource> AddPubSubEmulator(this IDistributedApplicationBuilder builder, string name)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var folder = Path.Combine(SdkPlatform, "pubsub-emulator", "lib");
        var jar = Directory.Exists(folder)
            ? Directory.GetFiles(folder, "cloud-pubsub-emulator-*.jar").OrderDescending(StringComparer.Ordinal).FirstOrDefault() ?? Path.Combine(folder, "cloud-pubsub-emulator.jar")
            : Path.Combine(folder, "cloud-pubsub-emulator.jar");
        var emulator = new PubSubEmulatorResource(name, jar, ["-jar", jar, "--host=127.0.0.1", "--port={port}"], builder.GetGcpProjectId());
        return builder.AddEmulator(emulator, 8085, ["gcloud", "beta", "emulators", "pubsub", "start", "--host-port=0.0.0.0:8085"]);
    }

    public static IResourceBuilder<FirestoreEmulatorResource> AddFirestoreEmulator(this IDistributedApplicationBuilder builder, string name)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var jar = Path.Combine(SdkPlatform, "cloud-firestore-emulator", "cloud-firestore-emulator.jar");
        var emulator = new FirestoreEmulatorResource(name, jar,
            ["-Duser.language=en", "-cp", jar, "com.google.cloud.datastore.emulator.firestore.CloudFirestore", "start", "--host=127.0.0.1", "--port={port}"],
            builder.GetGcpProjectId());
        return builder.AddEmulator(emulator, 8080, ["gcloud", "emulators", "firestore", "start", "--host-port=0.0.0.0:8080"]);
    }

    /// <summary>Cloud Storage served by the stand-in project (references get <c>STORAGE_EMULATOR_HOST</c>).</summary>
    public static IResourceBuilder<GcpStandInResource> AddCloudStorage(this IDistributedApplicationBuilder builder, string name,
        IResourceBuilder<ProjectResource> standIn)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(standIn);
        return builder.AddResource(new GcpStandInResource(name, "STORAGE_EMULATOR_HOST", standIn.Resource, builder.GetGcpProjectId()));
    }

    /// <summary>BigQuery served by the stand-in project (references get <c>BIGQUERY_EMULATOR_HOST</c>).</summary>
    public static IResourceBuilder<GcpStandInResource> AddBigQuery(this IDistributedApplicationBuilder builder, string name,
        IResourceBuilder<ProjectResource> standIn)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(standIn);
        return builder.AddResource(new GcpStandInResource(name, "BIGQUERY_EMULATOR_HOST", standIn.Resource, builder.GetGcpProjectId()));
    }

    private static IResourceBuilder<T> AddEmulator<T>(this IDistributedApplicationBuilder builder, T emulator,
        int targetPort, IReadOnlyList<string> containerArgs) where T : GcpEmulatorResource
    {
        emulator.Annotations.Add(new EndpointAnnotation("http", "http", "http2", targetPort, isExternal: false));
        emulator.Annotations.Add(new HealthProbeAnnotation("HTTP GET /", (c, ct) => HealthProbes.HttpOkAsync(c.Port, "/", ct)));
        emulator.Annotations.Add(new ContainerImageAnnotation(EmulatorImage, "emulators") { Args = containerArgs });
        return builder.AddResource(emulator);
    }
}
