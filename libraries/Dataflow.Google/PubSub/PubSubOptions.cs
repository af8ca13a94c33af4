using Dataflow.Google.Core;

namespace Dataflow.Google.PubSub;

/// <summary>Connection settings for Pub/Sub, bound from <c>Google:PubSub</c> by default.</summary>
public sealed class PubSubOptions : GoogleClientOptions;
