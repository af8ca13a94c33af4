namespace Dataflow.Hosting.ApplicationModel;

/// <summary>Describes a .NET project of the solution (the AppHost build generates one class per referenced project).</summary>
public interface IProjectMetadata
{
    /// <summary>Absolute path of the .csproj.</summary>
    string ProjectPath { get; }

    /// <summary>The built assembly, when known at build time (null: the AppHost builds the project to find it).</summary>
    string? TargetPath => null;
}

/// <summary>A project given by path.</summary>
public sealed record ProjectPathMetadata(string ProjectPath, string? TargetPath = null) : IProjectMetadata;

/// <summary>A .NET project of this solution, built once and started as <c>dotnet &lt;dll&gt;</c>.</summary>
public sealed class ProjectResource(string name, IProjectMetadata metadata)
    : ExecutableResource(name, "dotnet", Path.GetDirectoryName(metadata.ProjectPath)), IResourceWithServiceDiscovery
{
    public IProjectMetadata Metadata { get; } = metadata;

    public override ResourceBacking ResolveBacking()
    {
        if (!File.Exists(Metadata.ProjectPath))
        {
            return ResourceBacking.Missing($"project file '{Metadata.ProjectPath}' does not exist");
        }
        var dotnet = DotnetHost.Path;
        return dotnet is null
            ? ResourceBacking.Missing("the 'dotnet' host is not on PATH: install the .NET SDK")
            : new ResourceBacking(ResourceBackingKind.LocalProcess, $"project {Path.GetFileName(Metadata.ProjectPath)}", dotnet);
    }

    public override async ValueTask<(string FileName, IReadOnlyList<string> Arguments)> GetStartCommandAsync(
        ResourceRunContext context, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var assembly = await context.Builds.GetAssemblyAsync(Metadata, context.Log, cancellationToken);
        return (context.Backing.Path!, [assembly, .. arguments]);
    }
}

internal static class DotnetHost
{
    public static string? Path { get; } = FindDotnet();

    private static string? FindDotnet()
    {
        // Prefer the host running the AppHost, so children use the same SDK and runtime.
        var root = Environment.GetEnvironmentVariable("DOTNET_ROOT");
        if (root is not null && File.Exists(System.IO.Path.Combine(root, "dotnet")))
        {
            return System.IO.Path.Combine(root, "dotnet");
        }
        var processPath = Environment.ProcessPath;
        if (processPath is not null && System.IO.Path.GetFileNameWithoutExtension(processPath) == "dotnet")
        {
            return processPath;
        }
        return BinaryLocator.Find("dotnet");
    }
}
