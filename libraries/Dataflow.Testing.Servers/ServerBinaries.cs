namespace Dataflow.Testing.Servers;

/// <summary>Finds the server programs the fixtures run, failing with the Debian package to install.</summary>
public static class ServerBinaries
{
    public static string Postgres => FindPostgres("postgres");

    public static string InitDb => FindPostgres("initdb");

    public static string MariaDbServer => Find("mariadb-server", "/usr/sbin/mariadbd", "/usr/bin/mariadbd");

    public static string MariaDbInstall => Find("mariadb-server", "/usr/bin/mariadb-install-db", "/usr/bin/mysql_install_db");

    public static string RedisServer => Find("redis-server", "/usr/bin/redis-server");

    public static string RedisCli => Find("redis-tools", "/usr/bin/redis-cli");

    public static string RedisBenchmark => Find("redis-tools", "/usr/bin/redis-benchmark");

    /// <summary>GNU time, for the CPU time of a reference tool.</summary>
    public static string Time => Find("time", "/usr/bin/time");

    public static string Mosquitto => Find("mosquitto", "/usr/sbin/mosquitto", "/usr/bin/mosquitto");

    public static string MosquittoPub => Find("mosquitto-clients", "/usr/bin/mosquitto_pub");

    public static string MosquittoSub => Find("mosquitto-clients", "/usr/bin/mosquitto_sub");

    public static string Nginx => Find("nginx", "/usr/sbin/nginx");

    public static string Prometheus => Find("prometheus", "/usr/bin/prometheus");

    public static string Java => Find("default-jre-headless", "/usr/bin/java");

    public static string PubSubEmulator =>
        Find("google-cloud-cli-pubsub-emulator", Path.Combine(CloudSdkRoot, "platform/pubsub-emulator/bin/cloud-pubsub-emulator"));

    public static string FirestoreEmulatorJar =>
        Find("google-cloud-cli-firestore-emulator", Path.Combine(CloudSdkRoot, "platform/cloud-firestore-emulator/cloud-firestore-emulator.jar"));

    private static string CloudSdkRoot
    {
        get
        {
            var gcloud = Find("google-cloud-cli", "/usr/bin/gcloud", "/usr/lib/google-cloud-sdk/bin/gcloud");
            var resolved = new FileInfo(gcloud).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? gcloud;
            return Path.GetDirectoryName(Path.GetDirectoryName(resolved))!;
        }
    }

    private static string FindPostgres(string program)
    {
        var versioned = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").OrderDescending().Select(d => Path.Combine(d, "bin", program))
            : [];
        return Find("postgresql", [.. versioned]);
    }

    private static string Find(string package, params string[] candidates) =>
        candidates.FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException(
            $"'{Path.GetFileName(candidates[0])}' is not installed (looked in {string.Join(", ", candidates)}). " +
            $"Install the Debian package '{package}' (scripts/test.sh does this when run as root).");
}
