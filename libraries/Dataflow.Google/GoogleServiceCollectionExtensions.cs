using Dataflow.Google.BigQuery;
using Dataflow.Google.Core;
using Dataflow.Google.Firestore;
using Dataflow.Google.PubSub;
using Dataflow.Google.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the Google Cloud REST clients with options bound from configuration and validated at start.</summary>
public static class GoogleServiceCollectionExtensions
{
    /// <summary>
    /// Registers a singleton <see cref="PubSubClient"/> configured from <paramref name="sectionName"/>
    /// (ProjectId, EmulatorHost, Endpoint, CredentialsFile, MaxAttempts, InitialBackoff, MaxBackoff, RequestTimeout);
    /// <c>PUBSUB_EMULATOR_HOST</c> and <c>GOOGLE_CLOUD_PROJECT</c> fill in what the section leaves out.
    /// </summary>
    public static IServiceCollection AddPubSub(this IServiceCollection services, IConfiguration configuration, string sectionName = "Google:PubSub")
    {
        AddGoogleOptions<PubSubOptions>(services, configuration, sectionName, PubSubClient.EmulatorVariable);
        services.TryAddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<PubSubOptions>>().Value;
            return PubSubClient.Create(options, sp.GetRequiredKeyedService<HttpClient>(typeof(PubSubClient)), sp.GetService<ILoggerFactory>());
        });
        services.TryAddKeyedSingleton(typeof(PubSubClient), (sp, _) =>
            GoogleHttp.CreateHttpClient(sp.GetRequiredService<IOptions<PubSubOptions>>().Value.RequestTimeout));
        return services;
    }

    /// <summary>
    /// Registers a singleton <see cref="StorageClient"/> configured from <paramref name="sectionName"/>;
    /// <c>STORAGE_EMULATOR_HOST</c> selects the emulator (no credentials).
    /// </summary>
    public static IServiceCollection AddCloudStorage(this IServiceCollection services, IConfiguration configuration, string sectionName = "Google:Storage")
    {
        AddGoogleOptions<StorageOptions>(services, configuration, sectionName, StorageClient.EmulatorVariable);
        services.TryAddKeyedSingleton(typeof(StorageClient), (sp, _) =>
            GoogleHttp.CreateHttpClient(sp.GetRequiredService<IOptions<StorageOptions>>().Value.RequestTimeout));
        services.TryAddSingleton(sp => StorageClient.Create(
            sp.GetRequiredService<IOptions<StorageOptions>>().Value, sp.GetRequiredKeyedService<HttpClient>(typeof(StorageClient))));
        return services;
    }

    /// <summary>
    /// Registers a singleton <see cref="BigQueryClient"/> configured from <paramref name="sectionName"/>;
    /// <c>BIGQUERY_EMULATOR_HOST</c> selects the emulator (no credentials).
    /// </summary>
    public static IServiceCollection AddBigQuery(this IServiceCollection services, IConfiguration configuration, string sectionName = "Google:BigQuery")
    {
        AddGoogleOptions<BigQueryOptions>(services, configuration, sectionName, BigQueryClient.EmulatorVariable);
        services.TryAddKeyedSingleton(typeof(BigQueryClient), (sp, _) =>
            GoogleHttp.CreateHttpClient(sp.GetRequiredService<IOptions<BigQueryOptions>>().Value.RequestTimeout));
        services.TryAddSingleton(sp => BigQueryClient.Create(
            sp.GetRequiredService<IOptions<BigQueryOptions>>().Value, sp.GetRequiredKeyedService<HttpClient>(typeof(BigQueryClient))));
        return services;
    }

    /// <summary>
    /// Registers a singleton <see cref="FirestoreClient"/> configured from <paramref name="sectionName"/> (plus DatabaseId);
    /// <c>FIRESTORE_EMULATOR_HOST</c> selects the emulator (<c>Bearer owner</c>).
    /// </summary>
    public static IServiceCollection AddFirestore(this IServiceCollection services, IConfiguration configuration, string sectionName = "Google:Firestore")
    {
        AddGoogleOptions<FirestoreOptions>(services, configuration, sectionName, FirestoreClient.EmulatorVariable);
        services.TryAddKeyedSingleton(typeof(FirestoreClient), (sp, _) =>
            GoogleHttp.CreateHttpClient(sp.GetRequiredService<IOptions<FirestoreOptions>>().Value.RequestTimeout));
        services.TryAddSingleton(sp => FirestoreClient.Create(
            sp.GetRequiredService<IOptions<FirestoreOptions>>().Value, sp.GetRequiredKeyedService<HttpClient>(typeof(FirestoreClient))));
        return services;
    }

    internal static void AddGoogleOptions<TOptions>(IServiceCollection services, IConfiguration configuration, string sectionName, string emulatorVariable)
        where TOptions : GoogleClientOptions
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<TOptions>()
            .Bind(configuration.GetSection(sectionName))
            .PostConfigure(options =>
            {
                if (string.IsNullOrWhiteSpace(options.EmulatorHost))
                {
                    options.EmulatorHost = configuration[emulatorVariable] ?? Environment.GetEnvironmentVariable(emulatorVariable);
                }

                if (string.IsNullOrWhiteSpace(options.ProjectId))
                {
                    options.ProjectId = configuration["GOOGLE_CLOUD_PROJECT"] ?? Environment.GetEnvironmentVariable("GOOGLE_CLOUD_PROJECT") ?? "";
                }
            })
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TOptions>>(new GoogleOptionsValidator<TOptions>(sectionName)));
    }
}
