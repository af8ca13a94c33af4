using System.Text.Json;
using System.Text.Json.Serialization;

namespace Dataflow.Accounts.Api;

/// <summary>
/// Serialization of the API's responses generated at build time: no reflection or run-time code generation per
/// type, which the trimmed build (docs/deployment) requires and which the service uses in every build, so the tests
/// exercise the same serializers as the deployed binary.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(AccountResponse))]
[JsonSerializable(typeof(AccountEventResponse[]))]
internal sealed partial class AccountsJsonContext : JsonSerializerContext;
