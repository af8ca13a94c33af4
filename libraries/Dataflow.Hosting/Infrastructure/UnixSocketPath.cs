using System.Text;

namespace Dataflow.Hosting;

/// <summary>Servers listening on a Unix socket below a resource's data directory, whose path a socket address limits.</summary>
internal static class UnixSocketPath
{
    /// <summary>Bytes of <c>sockaddr_un.sun_path</c> on Linux, less its terminating NUL.</summary>
    public const int MaxLength = 107;

    /// <summary>Fails the resource's preparation with the fix, instead of letting the server exit with an obscure message.</summary>
    public static void EnsureFits(string socketPath)
    {
        var length = Encoding.UTF8.GetByteCount(socketPath);
        if (length > MaxLength)
        {
            throw new InvalidOperationException(
                $"The Unix socket path '{socketPath}' is {length} bytes, more than the {MaxLength} a socket address holds: "
                + "set AppHost:TemporaryRoot (or TMPDIR) to a shorter directory.");
        }
    }
}
