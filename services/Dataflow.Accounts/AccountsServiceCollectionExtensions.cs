using System.Data.Common;
using Dataflow.Accounts.Api;
using Dataflow.Accounts.Application;
using Dataflow.Accounts.EventStore;
using Microsoft.Extensions.Options;
using MySql.Data.MySqlClient;
using Npgsql;

namespace Dataflow.Accounts;

/// <summary>The store chosen from configuration: explicit <c>Accounts:Provider</c>, else inferred from the connection string.</summary>
public sealed record EventStoreSelection(EventStoreProvider Provider, string? ConnectionString)
{
    public static EventStoreSelection From(IConfiguration configuration, AccountsOptions options)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(options);
        var connectionString = configuration.GetConnectionString(AccountsOptions.ConnectionStringName);
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            return new(options.Provider ?? EventStoreProvider.InMemory, null);
        }

        return new(options.Provider ?? Infer(connectionString), connectionString);
    }

    private static EventStoreProvider Infer(string connectionString)
    {
        var keys = connectionString.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(part => part.Split('=', 2)[0].Trim())
            .ToHashSet(StringComparer.OrdinalIgnoreCase);
        return keys.Contains("Host") ? EventStoreProvider.PostgreSql
            : keys.Contains("Server") || keys.Contains("Data Source") ? EventStoreProvider.MySql
            : throw new OptionsValidationException(
                AccountsOptions.SectionName,
                typeof(AccountsOptions),
                [$"Cannot tell the database from ConnectionStrings:{AccountsOptions.ConnectionStringName}; set {AccountsOptions.SectionName}:Provider to PostgreSql or MySql."]);
    }
}

public static class AccountsServiceCollectionExtensions
{
    /// <summary>Registers the account service, its event store (from configuration), schema start-up, health check and OpenAPI.</summary>
    public static IHostApplicationBuilder AddAccounts(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddOptions<AccountsOptions>()
            .BindConfiguration(AccountsOptions.SectionName)
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<AccountsOptions>, AccountsOptionsRangeValidator>();
        services.AddSingleton<IValidateOptions<AccountsOptions>, AccountsOptionsValidator>();
        services.ConfigureHttpJsonOptions(options => options.SerializerOptions.TypeInfoResolverChain.Insert(0, AccountsJsonContext.Default));

        services.AddSingleton(sp => EventStoreSelection.From(sp.GetRequiredService<IConfiguration>(), sp.GetRequiredService<IOptions<AccountsOptions>>().Value));
        services.AddSingleton(sp =>
        {
            var builder = CreateDataSourceBuilder(sp.GetRequiredService<EventStoreSelection>().ConnectionString!);
            builder.UseLoggerFactory(sp.GetRequiredService<ILoggerFactory>());
            return builder.Build();
        });
        services.AddSingleton<AccountsMetrics>();
        services.AddSingleton<NpgsqlPoolMetrics>();
        services.AddSingleton<IEventStore>(sp =>
        {
            var selection = sp.GetRequiredService<EventStoreSelection>();
            IEventStore store = selection.Provider switch
            {
                EventStoreProvider.PostgreSql => CreatePostgreSql(sp),
                EventStoreProvider.MySql => new MySqlEventStore(selection.ConnectionString!),
                _ => new InMemoryEventStore(),
            };
            return new InstrumentedEventStore(store, selection.Provider.ToString(), sp.GetRequiredService<AccountsMetrics>());
        });
        services.AddSingleton(sp =>
        {
            // The cache saves a database round trip; the in-memory store has none to save, and there a refused
            // speculative append (a repeated transaction) would cost more than the load it skips.
            var options = sp.GetRequiredService<IOptions<AccountsOptions>>();
            var cache = sp.GetRequiredService<EventStoreSelection>().Provider != EventStoreProvider.InMemory && options.Value.StateCacheCapacity > 0
                ? new AccountStateCache(options.Value.StateCacheCapacity)
                : null;
            return new AccountService(sp.GetRequiredService<IEventStore>(), options, sp.GetRequiredService<AccountsMetrics>(), cache);
        });
        services.AddHostedService<EventStoreInitializer>();

        services.AddHealthChecks().AddCheck<EventStoreHealthCheck>("accounts-event-store", tags: ["ready"]);
        services.AddProblemDetails(options =>
        {
            var previous = options.CustomizeProblemDetails;
            options.CustomizeProblemDetails = context =>
            {
                previous?.Invoke(context);
                var problem = context.ProblemDetails;
                problem.Detail ??= problem.Status switch
                {
                    StatusCodes.Status404NotFound => $"No resource matches {context.HttpContext.Request.Method} {context.HttpContext.Request.Path}.",
                    StatusCodes.Status405MethodNotAllowed => $"Method {context.HttpContext.Request.Method} is not allowed on {context.HttpContext.Request.Path}.",
                    _ => problem.Title,
                };
                problem.Extensions.TryAdd("message", problem.Detail);
            };
        });
        services.AddOpenApi();
        return builder;
    }

    /// <summary>The PostgreSQL data source's settings: the connection string's, with this store's defaults where it is silent.</summary>
    internal static NpgsqlDataSourceBuilder CreateDataSourceBuilder(string connectionString)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        if (builder.ConnectionStringBuilder.MaxAutoPrepare == 0)
        {
            // Prepared statements: every statement of this store is reused on every request.
            builder.ConnectionStringBuilder.MaxAutoPrepare = 16;
            builder.ConnectionStringBuilder.AutoPrepareMinUsages = 2;
        }

        // NpgsqlConnectionStringBuilder answers ContainsKey for every keyword it knows; the generic builder only for those set.
        if (!new DbConnectionStringBuilder { ConnectionString = connectionString }.ContainsKey(nameof(NpgsqlConnectionStringBuilder.Multiplexing)))
        {
            // Concurrent requests' statements share connections and socket reads/writes: about 30 % less service CPU
            // per request on 2 cores (docs/benchmarks.md "## Accounts"). Every statement here is a single command or
            // batch (implicit transaction), which multiplexing supports; `Multiplexing=false` opts out.
            builder.ConnectionStringBuilder.Multiplexing = true;
        }

        return builder;
    }

    private static PostgreSqlEventStore CreatePostgreSql(IServiceProvider services)
    {
        services.GetRequiredService<NpgsqlPoolMetrics>();
        return new PostgreSqlEventStore(services.GetRequiredService<NpgsqlDataSource>());
    }

    /// <summary>Start-up validation that names the configuration key at fault.</summary>
    private sealed class AccountsOptionsValidator(IConfiguration configuration) : IValidateOptions<AccountsOptions>
    {
        public ValidateOptionsResult Validate(string? name, AccountsOptions options)
        {
            var connectionString = configuration.GetConnectionString(AccountsOptions.ConnectionStringName);
            var key = $"ConnectionStrings:{AccountsOptions.ConnectionStringName}";
            if (string.IsNullOrWhiteSpace(connectionString))
            {
                return options.Provider is EventStoreProvider.PostgreSql or EventStoreProvider.MySql
                    ? ValidateOptionsResult.Fail($"{key} is required when {AccountsOptions.SectionName}:Provider is {options.Provider}.")
                    : ValidateOptionsResult.Success;
            }

            EventStoreSelection selection;
            try
            {
                selection = EventStoreSelection.From(configuration, options);
            }
            catch (OptionsValidationException ex)
            {
                return ValidateOptionsResult.Fail(ex.Failures);
            }

            try
            {
                _ = selection.Provider switch
                {
                    EventStoreProvider.PostgreSql => new NpgsqlConnectionStringBuilder(connectionString).ConnectionString,
                    EventStoreProvider.MySql => new MySqlConnectionStringBuilder(connectionString).ConnectionString,
                    _ => connectionString,
                };
            }
            catch (ArgumentException ex)
            {
                return ValidateOptionsResult.Fail($"{key} is not a valid {selection.Provider} connection string: {ex.Message}");
            }

            return ValidateOptionsResult.Success;
        }
    }
}
