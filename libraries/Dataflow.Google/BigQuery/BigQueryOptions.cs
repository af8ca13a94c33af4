using Dataflow.Google.Core;

namespace Dataflow.Google.BigQuery;

/// <summary>Connection settings for BigQuery, bound from <c>Google:BigQuery</c> by default.</summary>
public sealed class BigQueryOptions : GoogleClientOptions;
