using Dataflow.Google.Core;

namespace Dataflow.Google.Firestore;

/// <summary>Connection settings for Firestore, bound from <c>Google:Firestore</c> by default.</summary>
public sealed class FirestoreOptions : GoogleClientOptions
{
    /// <summary>The database id; <c>(default)</c> unless a named database is used.</summary>
    public string DatabaseId { get; set; } = "(default)";

    public override IEnumerable<string> Validate(string section)
    {
        foreach (var problem in base.Validate(section))
        {
            yield return problem;
        }

        if (string.IsNullOrWhiteSpace(DatabaseId))
        {
            yield return $"{section}:DatabaseId must not be empty";
        }
    }
}
