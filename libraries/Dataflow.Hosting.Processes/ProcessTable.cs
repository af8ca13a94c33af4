using System.Globalization;

namespace Dataflow.Hosting.Processes;

/// <summary>
/// What Linux's /proc tells about other processes: their descendants, whether they still run, and the CPU time they
/// used. Tests use it to find a host's children; benchmarks to attribute CPU time to a server (and its wrapper's child).
/// </summary>
public static class ProcessTable
{
    private const double TicksPerSecond = 100; // USER_HZ on Linux

    /// <summary>Every process below <paramref name="pid"/> (children, grandchildren, …) as (pid, command name).</summary>
    public static IReadOnlyList<(int Pid, string Name)> Descendants(int pid)
    {
        var parents = new Dictionary<int, int>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(directory), out var candidate) && ReadStat(candidate) is { } fields)
            {
                parents[candidate] = int.Parse(fields[1], CultureInfo.InvariantCulture);
            }
        }

        var result = new List<(int, string)>();
        var frontier = new Queue<int>([pid]);
        while (frontier.TryDequeue(out var parent))
        {
            foreach (var (child, _) in parents.Where(p => p.Value == parent))
            {
                result.Add((child, Name(child)));
                frontier.Enqueue(child);
            }
        }

        return result;
    }

    /// <summary>Whether the process exists and has not exited (a zombie has exited; only its status is left to collect).</summary>
    public static bool IsAlive(int pid) => ReadStat(pid) is { } fields && fields[0] != "Z";

    /// <summary>User plus system CPU time the process has used so far, with its descendants' when asked; zero once it is gone.</summary>
    public static TimeSpan CpuTime(int pid, bool includeDescendants = false)
    {
        var ticks = Ticks(pid);
        if (includeDescendants)
        {
            foreach (var (child, _) in Descendants(pid))
            {
                ticks += Ticks(child);
            }
        }

        return TimeSpan.FromSeconds(ticks / TicksPerSecond);
    }

    private static long Ticks(int pid) =>
        ReadStat(pid) is { } fields
            ? long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)
            : 0;

    /// <summary>The fields of /proc/&lt;pid&gt;/stat after the command name (state first), or null when the process is gone.</summary>
    private static string[]? ReadStat(int pid)
    {
        try
        {
            // "pid (comm) state ppid …": comm may hold spaces and parentheses, so the fields start after the last ')'.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string Name(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/comm").Trim();
        }
        catch (IOException)
        {
            return "?";
        }
    }
}
