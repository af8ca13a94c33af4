using System.Globalization;
using System.Text;
using Dataflow.Hosting.Processes;

namespace Dataflow.Testing.Servers;

/// <summary>A throwaway nginx load balancer in front of HTTP upstreams.</summary>
public sealed class NginxServer : ServerProcess
{
    private readonly IReadOnlyList<(string Host, int Port)> _upstreams;

    private NginxServer(IReadOnlyList<(string Host, int Port)> upstreams)
        : base("nginx") => _upstreams = upstreams;

    public Uri BaseUri => new($"http://{Host}:{Port}/");

    public string ConfigPath => Path.Combine(DataDirectory, "nginx.conf");

    /// <summary>
    /// Starts nginx balancing round-robin over <paramref name="upstreams"/>. A failed upstream (connection
    /// refused, 502/503/504) is retried on the next one, also for PUT/POST/DELETE: the services behind it
    /// are idempotent per transaction id, which is what makes failover under load safe.
    /// </summary>
    public static Task<NginxServer> StartAsync(IEnumerable<(string Host, int Port)> upstreams, CancellationToken cancellationToken = default) =>
        StartAsync(new NginxServer([.. upstreams]), prepare: null, cancellationToken);

    protected override ChildProcessOptions CreateProcessOptions()
    {
        var config = new StringBuilder();
        var dir = DataDirectory;
        config.AppendLine(CultureInfo.InvariantCulture, $$"""
            daemon off;
            master_process off;
            worker_processes 1;
            pid {{dir}}/nginx.pid;
            error_log stderr warn;
            events { worker_connections 4096; }
            http {
              access_log off;
              client_body_temp_path {{dir}}/client_body;
              proxy_temp_path {{dir}}/proxy;
              fastcgi_temp_path {{dir}}/fastcgi;
              uwsgi_temp_path {{dir}}/uwsgi;
              scgi_temp_path {{dir}}/scgi;
              upstream backend {
            """);
        foreach (var (host, port) in _upstreams)
        {
            config.AppendLine(CultureInfo.InvariantCulture, $"    server {host}:{port} max_fails=1 fail_timeout=2s;");
        }
        config.AppendLine(CultureInfo.InvariantCulture, $$"""
                keepalive 64;
              }
              server {
                listen {{Host}}:{{Port}};
                location / {
                  proxy_pass http://backend;
                  proxy_http_version 1.1;
                  proxy_set_header Connection "";
                  proxy_set_header Host $host;
                  proxy_connect_timeout 1s;
                  proxy_next_upstream error timeout http_502 http_503 http_504 non_idempotent;
                  proxy_next_upstream_tries 3;
                }
              }
            }
            """);
        File.WriteAllText(ConfigPath, config.ToString());
        return new ChildProcessOptions(ServerBinaries.Nginx, ["-e", "stderr", "-p", DataDirectory, "-c", ConfigPath]) { DisplayName = "nginx" };
    }

    protected override Task<bool> IsReadyAsync(CancellationToken cancellationToken) =>
        Probes.TcpAcceptsAsync(Host, Port, cancellationToken);
}
