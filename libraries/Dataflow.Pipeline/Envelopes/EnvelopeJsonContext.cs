using System.Text.Json.Serialization;

namespace Dataflow.Pipeline.Envelopes;

[JsonSerializable(typeof(string))]
internal sealed partial class EnvelopeJsonContext : JsonSerializerContext;
