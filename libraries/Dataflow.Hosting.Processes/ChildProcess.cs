using System.Collections.Concurrent;
using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Dataflow.Hosting.Processes;

/// <summary>
/// A child process that cannot outlive this process, even when this one is killed with SIGKILL.
/// </summary>
/// <remarks>
/// The child is exec'd through <c>setpriv --pdeathsig KILL</c>, so the kernel kills it when its parent
/// thread dies. The parent-death signal is tied to the spawning <em>thread</em>, not the process, so every
/// child is spawned from one dedicated thread that lives as long as the process.
/// </remarks>
public sealed partial class ChildProcess : IAsyncDisposable
{
    private const string SetprivPath = "/usr/bin/setpriv";
    private static readonly BlockingCollection<Action> SpawnQueue = StartSpawnerThread();

    private readonly Process _process;
    private readonly TaskCompletionSource<int> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ChildProcess(Process process, string displayName, LogBuffer logs)
    {
        _process = process;
        DisplayName = displayName;
        Logs = logs;
    }

    public string DisplayName { get; }

    public int Id => _process.Id;

    public LogBuffer Logs { get; }

    public bool HasExited => _exited.Task.IsCompleted;

    /// <summary>Completes with the exit code when the process has exited and its output is drained.</summary>
    public Task<int> Exited => _exited.Task;

    public static Task<ChildProcess> StartAsync(ChildProcessOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        cancellationToken.ThrowIfCancellationRequested();
        if (!File.Exists(SetprivPath))
        {
            throw new InvalidOperationException($"{SetprivPath} is missing: install the Debian package 'util-linux'.");
        }

        var started = new TaskCompletionSource<ChildProcess>(TaskCreationOptions.RunContinuationsAsynchronously);
        SpawnQueue.Add(() =>
        {
            try
            {
                started.SetResult(Spawn(options));
            }
            catch (Exception ex) when (ex is Win32Exception or InvalidOperationException or IOException)
            {
                started.SetException(ex);
            }
        }, cancellationToken);
        return started.Task;
    }

    /// <summary>Asks the process to stop (SIGTERM), then kills it when it has not exited within <paramref name="grace"/>.</summary>
    public async Task StopAsync(TimeSpan grace, CancellationToken cancellationToken = default)
    {
        if (HasExited)
        {
            return;
        }
        Signal(SigTerm);
        try
        {
            await _exited.Task.WaitAsync(grace, cancellationToken);
        }
        catch (TimeoutException)
        {
            Kill();
            await _exited.Task.WaitAsync(cancellationToken);
        }
    }

    /// <summary>Kills the process immediately (SIGKILL), as a crash would.</summary>
    public void Kill()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
    }

    public void Signal(int signal)
    {
        if (!HasExited && NativeMethods.Kill(_process.Id, signal) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno != NativeMethods.Esrch)
            {
                throw new Win32Exception(errno, $"kill({_process.Id}, {signal}) failed");
            }
        }
    }

    public const int SigTerm = 15;
    public const int SigKill = 9;

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(5));
        _process.Dispose();
    }

    private static ChildProcess Spawn(ChildProcessOptions options)
    {
        var startInfo = new ProcessStartInfo(SetprivPath)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = options.WorkingDirectory ?? Environment.CurrentDirectory,
        };
        if (options.RunAsUser is { } user)
        {
            startInfo.ArgumentList.Add($"--reuid={user}");
            startInfo.ArgumentList.Add($"--regid={user}");
            startInfo.ArgumentList.Add("--init-groups");
        }
        startInfo.ArgumentList.Add("--pdeathsig");
        startInfo.ArgumentList.Add("KILL");
        startInfo.ArgumentList.Add("--");
        startInfo.ArgumentList.Add(options.FileName);
        foreach (var argument in options.Arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }
        foreach (var (name, value) in options.Environment)
        {
            if (value is null)
            {
                startInfo.Environment.Remove(name);
            }
            else
            {
                startInfo.Environment[name] = value;
            }
        }

        var logs = options.Logs ?? new LogBuffer(options.LogCapacity);
        var process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
        var child = new ChildProcess(process, options.DisplayName ?? Path.GetFileName(options.FileName), logs);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                logs.Write(LogStream.StandardOutput, e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                logs.Write(LogStream.StandardError, e.Data);
            }
        };
        process.Exited += (_, _) => _ = child.CompleteWhenDrainedAsync();
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    private async Task CompleteWhenDrainedAsync()
    {
        // WaitForExitAsync also waits for the redirected streams to reach end-of-file.
        await _process.WaitForExitAsync();
        _exited.TrySetResult(_process.ExitCode);
    }

    private static BlockingCollection<Action> StartSpawnerThread()
    {
        var queue = new BlockingCollection<Action>();
        var thread = new Thread(() =>
        {
            foreach (var spawn in queue.GetConsumingEnumerable())
            {
                spawn();
            }
        })
        {
            IsBackground = true,
            Name = "child-process-spawner",
        };
        thread.Start();
        return queue;
    }

    private static partial class NativeMethods
    {
        public const int Esrch = 3;

        [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static partial int Kill(int pid, int signal);
    }
}
