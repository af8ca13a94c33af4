using System.Globalization;
using System.Text;
using Dataflow.Hosting.ApplicationModel;

namespace Dataflow.Hosting;

/// <summary>nginx (Debian package nginx) as an HTTP load balancer over every replica of a project.</summary>
public sealed class NginxLoadBalancerResource : ExecutableResource, IResourceWithServiceDiscovery
{
    public NginxLoadBalancerResource(string name, ProjectResource backend)
        : base(name, "nginx")
    {
        Backend = backend;
        Package = "nginx";
    }

    public ProjectResource Backend { get; }

    public override async Task PrepareAsync(ResourceRunContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var directory = context.DataDirectory;
        foreach (var temp in new[] { "client_body", "proxy", "fastcgi", "uwsgi", "scgi" })
        {
            Directory.CreateDirectory(Path.Combine(directory, temp));
            ProcessUser.OpenToAll(Path.Combine(directory, temp));
        }
        var upstreams = new StringBuilder();
        foreach (var port in Backend.Annotations.OfType<EndpointAnnotation>().First(e => e.Name == "http").AllocatedPorts)
        {
            upstreams.Append(CultureInfo.InvariantCulture, $"        server 127.0.0.1:{port} max_fails=1 fail_timeout=2s;\n");
        }
        // master_process off: one process, so it dies with the AppHost (workers would not get the parent-death signal).
        var config = $$"""
            daemon off;
            master_process off;
            pid {{directory}}/nginx.pid;
            error_log stderr warn;
            events { worker_connections 4096; }
            http {
                access_log off;
                client_body_temp_path {{directory}}/client_body;
                proxy_temp_path {{directory}}/proxy;
                fastcgi_temp_path {{directory}}/fastcgi;
                uwsgi_temp_path {{directory}}/uwsgi;
                scgi_temp_path {{directory}}/scgi;
                upstream backend {
            {{upstreams}}        keepalive 64;
                }
                server {
                    listen 127.0.0.1:{{context.Port("http").ToString(CultureInfo.InvariantCulture)}};
                    location / {
                        proxy_pass http://backend;
                        proxy_http_version 1.1;
                        proxy_set_header Connection "";
                        proxy_set_header Host $host;
                        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
                        proxy_next_upstream error timeout http_502 http_503 non_idempotent;
                    }
                }
            }
            """;
        await File.WriteAllTextAsync(Path.Combine(directory, "nginx.conf"), config, cancellationToken);
    }

    public override ValueTask<(string FileName, IReadOnlyList<string> Arguments)> GetStartCommandAsync(
        ResourceRunContext context, IReadOnlyList<string> arguments, CancellationToken cancellationToken) =>
        ValueTask.FromResult<(string, IReadOnlyList<string>)>((context.Backing.Path!,
            ["-e", "stderr", "-p", context.DataDirectory, "-c", Path.Combine(context.DataDirectory, "nginx.conf"), .. arguments]));
}

public static class NginxBuilderExtensions
{
    /// <summary>Puts nginx in front of every replica of <paramref name="backend"/>; it starts once the backend is healthy.</summary>
    public static IResourceBuilder<NginxLoadBalancerResource> AddNginxLoadBalancer(this IDistributedApplicationBuilder builder, string name,
        IResourceBuilder<ProjectResource> backend)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(backend);
        var nginx = new NginxLoadBalancerResource(name, backend.Resource);
        nginx.Annotations.Add(new EndpointAnnotation("http", "http", "http", 80, isExternal: false));
        nginx.Annotations.Add(new HealthProbeAnnotation("HTTP GET /readyz through the load balancer", (c, ct) => HealthProbes.HttpOkAsync(c.Port, "/readyz", ct)));
        nginx.Annotations.Add(new ResourceRelationshipAnnotation(backend.Resource, "Reference"));
        nginx.Annotations.Add(new ContainerImageAnnotation("docker.io/library/nginx", "1.22")
        {
            Environment = new Dictionary<string, object> { ["UPSTREAM_URL"] = new EndpointReference(backend.Resource, "http") },
        });
        return builder.AddResource(nginx).WaitFor(backend);
    }
}
