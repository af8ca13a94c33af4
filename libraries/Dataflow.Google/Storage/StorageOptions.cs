using Dataflow.Google.Core;

namespace Dataflow.Google.Storage;

/// <summary>Connection settings for Cloud Storage, bound from <c>Google:Storage</c> by default.
/// The project id is needed only to create and list buckets.</summary>
public sealed class StorageOptions : GoogleClientOptions
{
    public override IEnumerable<string> Validate(string section) =>
        base.Validate(section).Where(problem => !problem.StartsWith(section + ":ProjectId", StringComparison.Ordinal));
}
