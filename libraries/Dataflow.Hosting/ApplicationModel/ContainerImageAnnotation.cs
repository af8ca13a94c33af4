namespace Dataflow.Hosting.ApplicationModel;

/// <summary>
/// The container image that stands for a locally run server in the deployment manifest (<c>container.v0</c>).
/// Locally the server runs as a process; in a deployment the platform runs this image.
/// </summary>
public sealed class ContainerImageAnnotation(string image, string tag) : IResourceAnnotation
{
    public string Image { get; } = image;

    public string Tag { get; } = tag;

    public string? Entrypoint { get; init; }

    public IReadOnlyList<string> Args { get; init; } = [];

    /// <summary>Container environment: literal strings or manifest expression providers.</summary>
    public IReadOnlyDictionary<string, object> Environment { get; init; } = new Dictionary<string, object>();

    /// <summary>Named volumes: (name, target path in the container).</summary>
    public IReadOnlyList<(string Name, string Target)> Volumes { get; init; } = [];
}
