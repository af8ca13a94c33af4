using System.Runtime.InteropServices;

namespace Dataflow.Hosting;

/// <summary>Who the AppHost runs as, and handing directories to the service users servers drop to.</summary>
internal static partial class ProcessUser
{
    public static bool IsRoot { get; } = NativeMethods.GetEuid() == 0;

    /// <summary>Gives <paramref name="path"/> (recursively) to <paramref name="user"/>.</summary>
    public static void ChangeOwner(string path, string user)
    {
        var (uid, gid) = Lookup(user);
        foreach (var entry in Directory.EnumerateFileSystemEntries(path, "*", SearchOption.AllDirectories).Prepend(path))
        {
            if (NativeMethods.Chown(entry, uid, gid) != 0)
            {
                throw new IOException($"chown {user} {entry} failed (errno {Marshal.GetLastPInvokeError()}).");
            }
        }
    }

    /// <summary>Opens a directory to every user (for servers whose worker processes drop to an unknown user).</summary>
    public static void OpenToAll(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("The AppHost runs local servers on Linux only.");
        }
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
            | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute);
    }

    private static (int Uid, int Gid) Lookup(string user)
    {
        foreach (var line in File.ReadLines("/etc/passwd"))
        {
            var fields = line.Split(':');
            if (fields.Length > 3 && fields[0] == user)
            {
                return (int.Parse(fields[2], System.Globalization.CultureInfo.InvariantCulture), int.Parse(fields[3], System.Globalization.CultureInfo.InvariantCulture));
            }
        }
        throw new InvalidOperationException($"Local user '{user}' does not exist (it is created by the server's Debian package).");
    }

    private static partial class NativeMethods
    {
        [LibraryImport("libc", EntryPoint = "geteuid")]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static partial uint GetEuid();

        [LibraryImport("libc", EntryPoint = "chown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static partial int Chown(string path, int owner, int group);
    }
}
