using System.Runtime.CompilerServices;

namespace Dataflow.Tests.Unit.Hosting;

/// <summary>Finds the repository (and the shared specs beside it) from this source file's location.</summary>
public static class HostingPaths
{
    public static string RepositoryRoot { get; } = FindRoot();

    /// <summary>The Aspire manifest schema in ../shared/reference (beside the repository, or above it).</summary>
    public static string ManifestSchema
    {
        get
        {
            for (var directory = new DirectoryInfo(RepositoryRoot); directory is not null; directory = directory.Parent)
            {
                var candidate = Path.Combine(directory.FullName, "shared", "reference", "aspire-manifest-8.0.schema.json");
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
            throw new FileNotFoundException($"aspire-manifest-8.0.schema.json not found in shared/reference above {RepositoryRoot}.");
        }
    }

    private static string FindRoot([CallerFilePath] string sourceFile = "")
    {
        for (var directory = new DirectoryInfo(Path.GetDirectoryName(sourceFile)!); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Dataflow.sln")))
            {
                return directory.FullName;
            }
        }
        throw new DirectoryNotFoundException($"Dataflow.sln not found above {sourceFile}.");
    }
}
