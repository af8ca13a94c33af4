using System.Text.Json;
using Dataflow.Hosting.ApplicationModel;

namespace Dataflow.Hosting.Publishing;

/// <summary>Handed to <see cref="ManifestPublishingCallbackAnnotation"/> callbacks to write one resource.</summary>
public sealed class ManifestWriterContext(Utf8JsonWriter writer, string manifestDirectory)
{
    public Utf8JsonWriter Writer { get; } = writer;

    public string ManifestDirectory { get; } = manifestDirectory;
}

/// <summary>Writes the Aspire 8.0 deployment manifest (what azd and aspirate consume).</summary>
public static class ManifestPublisher
{
    public const string SchemaUrl = "https://json.schemastore.org/aspire-8.0.json";

    public static async Task WriteAsync(DistributedApplicationModel model, string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory);
        await using var stream = File.Create(path);
        await using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions
        {
            Indented = true,
            // Manifests are read by people too: keep quotes and '+' readable.
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        });
        Write(model, writer, directory);
        await writer.FlushAsync(cancellationToken);
    }

    public static void Write(DistributedApplicationModel model, Utf8JsonWriter writer, string manifestDirectory)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(writer);
        var context = new ManifestWriterContext(writer, manifestDirectory);
        writer.WriteStartObject();
        writer.WriteString("$schema", SchemaUrl);
        writer.WriteStartObject("resources");
        foreach (var resource in model.Resources.Where(r => !r.Annotations.OfType<ExcludeFromManifestAnnotation>().Any()))
        {
            writer.WriteStartObject(resource.Name);
            if (resource.Annotations.OfType<ManifestPublishingCallbackAnnotation>().FirstOrDefault() is { } custom)
            {
                custom.Callback(context);
            }
            else
            {
                WriteResource(resource, context);
            }
            writer.WriteEndObject();
        }
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    private static void WriteResource(IResource resource, ManifestWriterContext context)
    {
        var writer = context.Writer;
        switch (resource)
        {
            case ParameterResource parameter:
                writer.WriteString("type", "parameter.v0");
                writer.WriteString("value", $"{{{parameter.Name}.inputs.value}}");
                WriteInputs(writer, parameter.Secret, parameter.Generate, parameter.Default);
                break;
            case ConnectionStringResource connectionString:
                writer.WriteString("type", "parameter.v0");
                writer.WriteString("connectionString", $"{{{connectionString.Name}.value}}");
                writer.WriteString("value", $"{{{connectionString.Name}.inputs.value}}");
                WriteInputs(writer, secret: true, generate: null, defaultValue: null);
                break;
            case ExecutableResource executable when executable.Annotations.OfType<ContainerImageAnnotation>().FirstOrDefault() is { } image:
                WriteContainer(executable, image, writer);
                break;
            case ProjectResource project:
                writer.WriteString("type", "project.v0");
                writer.WriteString("path", Path.GetRelativePath(context.ManifestDirectory, project.Metadata.ProjectPath).Replace('\\', '/'));
                WriteArgs(project, writer);
                WriteEnvironment(project, writer, isProject: true);
                WriteBindings(project, writer);
                break;
            case ExecutableResource executable:
                writer.WriteString("type", "executable.v0");
                writer.WriteString("workingDirectory", Path.GetRelativePath(context.ManifestDirectory,
                    executable.WorkingDirectory ?? context.ManifestDirectory).Replace('\\', '/'));
                writer.WriteString("command", executable.Command);
                WriteArgs(executable, writer);
                WriteEnvironment(executable, writer, isProject: false);
                WriteBindings(executable, writer);
                break;
            case IResourceWithConnectionString withConnectionString:
                writer.WriteString("type", "value.v0");
                writer.WriteString("connectionString", withConnectionString.ConnectionStringExpression.ValueExpression);
                break;
            case GcpStandInResource standIn:
                writer.WriteString("type", "value.v0");
                writer.WriteString("connectionString", new EndpointReference(standIn.StandIn, "http").ValueExpression);
                break;
            default:
                throw new InvalidOperationException($"Resource '{resource.Name}' ({resource.GetType().Name}) has no manifest representation; add a ManifestPublishingCallbackAnnotation or ExcludeFromManifestAnnotation.");
        }
    }

    private static void WriteContainer(ExecutableResource resource, ContainerImageAnnotation image, Utf8JsonWriter writer)
    {
        writer.WriteString("type", "container.v0");
        if (resource is IResourceWithConnectionString withConnectionString)
        {
            writer.WriteString("connectionString", withConnectionString.ConnectionStringExpression.ValueExpression);
        }
        writer.WriteString("image", $"{image.Image}:{image.Tag}");
        if (image.Entrypoint is not null)
        {
            writer.WriteString("entrypoint", image.Entrypoint);
        }
        if (image.Args.Count > 0)
        {
            writer.WriteStartArray("args");
            foreach (var arg in image.Args)
            {
                writer.WriteStringValue(arg);
            }
            writer.WriteEndArray();
        }
        if (image.Volumes.Count > 0)
        {
            writer.WriteStartArray("volumes");
            foreach (var (name, target) in image.Volumes)
            {
                writer.WriteStartObject();
                writer.WriteString("name", name);
                writer.WriteString("target", target);
                writer.WriteBoolean("readOnly", false);
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
        }
        var environment = new Dictionary<string, object>(image.Environment);
        var context = new EnvironmentCallbackContext(ExecutionMode.Publish);
        foreach (var callback in resource.Annotations.OfType<EnvironmentCallbackAnnotation>())
        {
            callback.Callback(context);
        }
        foreach (var (name, value) in context.EnvironmentVariables)
        {
            environment[name] = value;
        }
        WriteEnvironmentObject(writer, environment);
        WriteBindings(resource, writer);
    }

    private static void WriteInputs(Utf8JsonWriter writer, bool secret, GenerateParameterDefault? generate, string? defaultValue)
    {
        writer.WriteStartObject("inputs");
        writer.WriteStartObject("value");
        writer.WriteString("type", "string");
        if (secret)
        {
            writer.WriteBoolean("secret", true);
        }
        if (generate is not null)
        {
            writer.WriteStartObject("default");
            writer.WriteStartObject("generate");
            writer.WriteNumber("minLength", generate.MinLength);
            if (!generate.Lower)
            {
                writer.WriteBoolean("lower", false);
            }
            if (!generate.Upper)
            {
                writer.WriteBoolean("upper", false);
            }
            if (!generate.Numeric)
            {
                writer.WriteBoolean("numeric", false);
            }
            if (!generate.Special)
            {
                writer.WriteBoolean("special", false);
            }
            writer.WriteEndObject();
            writer.WriteEndObject();
        }
        else if (defaultValue is not null)
        {
            writer.WriteStartObject("default");
            writer.WriteString("value", defaultValue);
            writer.WriteEndObject();
        }
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    private static void WriteArgs(ExecutableResource resource, Utf8JsonWriter writer)
    {
        var context = new CommandLineArgsCallbackContext(ExecutionMode.Publish);
        foreach (var callback in resource.Annotations.OfType<CommandLineArgsCallbackAnnotation>())
        {
            callback.Callback(context);
        }
        if (context.Args.Count == 0)
        {
            return;
        }
        writer.WriteStartArray("args");
        foreach (var arg in context.Args)
        {
            writer.WriteStringValue(arg is IManifestExpressionProvider expression ? expression.ValueExpression : arg.ToString());
        }
        writer.WriteEndArray();
    }

    private static void WriteEnvironment(ExecutableResource resource, Utf8JsonWriter writer, bool isProject)
    {
        var environment = new Dictionary<string, object>(StringComparer.Ordinal);
        if (isProject)
        {
            // Aspire's defaults for .NET projects in a deployment.
            environment["OTEL_DOTNET_EXPERIMENTAL_OTLP_EMIT_EXCEPTION_LOG_ATTRIBUTES"] = "true";
            environment["OTEL_DOTNET_EXPERIMENTAL_OTLP_EMIT_EVENT_LOG_ATTRIBUTES"] = "true";
            environment["OTEL_DOTNET_EXPERIMENTAL_OTLP_RETRY"] = "in_memory";
        }
        var context = new EnvironmentCallbackContext(ExecutionMode.Publish);
        foreach (var callback in resource.Annotations.OfType<EnvironmentCallbackAnnotation>())
        {
            callback.Callback(context);
        }
        foreach (var (name, value) in context.EnvironmentVariables)
        {
            environment[name] = value;
        }
        WriteEnvironmentObject(writer, environment);
    }

    private static void WriteEnvironmentObject(Utf8JsonWriter writer, Dictionary<string, object> environment)
    {
        if (environment.Count == 0)
        {
            return;
        }
        writer.WriteStartObject("env");
        foreach (var (name, value) in environment)
        {
            writer.WriteString(name, value switch
            {
                string s => s,
                IManifestExpressionProvider expression => expression.ValueExpression,
                _ => throw new InvalidOperationException($"Environment variable '{name}' has no manifest form ({value.GetType().Name})."),
            });
        }
        writer.WriteEndObject();
    }

    private static void WriteBindings(IResource resource, Utf8JsonWriter writer)
    {
        var endpoints = resource.Annotations.OfType<EndpointAnnotation>().ToList();
        if (endpoints.Count == 0)
        {
            return;
        }
        writer.WriteStartObject("bindings");
        foreach (var endpoint in endpoints)
        {
            writer.WriteStartObject(endpoint.Name);
            writer.WriteString("scheme", endpoint.Scheme);
            writer.WriteString("protocol", "tcp");
            writer.WriteString("transport", endpoint.Transport);
            if (endpoint.IsExternal)
            {
                writer.WriteBoolean("external", true);
            }
            if (endpoint.TargetPort is { } targetPort)
            {
                writer.WriteNumber("targetPort", targetPort);
            }
            writer.WriteEndObject();
        }
        writer.WriteEndObject();
    }
}
