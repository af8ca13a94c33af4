using System.Text.Json;
using System.Text.Json.Serialization;

namespace Dataflow.Accounts.Api;

/// <summary>
/// Serialization of the API's responses generated at build time: no reflection or run-time code generation per
/// type. The trimmed publish (README, "Deploy") requires it; every build uses it (reflection-based JSON is off), so
/// the tests exercise the same serializers as the deployed executable.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(AccountResponse))]
[JsonSerializable(typeof(AccountEventResponse[]))]
internal sealed partial class AccountsJsonContext : JsonSerializerContext;
