using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Dataflow.Emulators;

// Cloud Storage stand-in throughput: uploads (uploadType=media) and downloads (alt=media) of 1 MiB and 64 MiB objects
// through HttpClient, next to the same bytes copied through a plain loopback TCP socket, measured in one run.
// Usage: dotnet run -c Release --project benchmarks/Dataflow.Emulators.Benchmarks [-- --small N --large N]
// (rounds of 1 MiB and 64 MiB transfers; defaults 41 and 7).
var smallIterations = Argument("--small", 41);
var largeIterations = Argument("--large", 7);
using var cancellation = new CancellationTokenSource(TimeSpan.FromMinutes(5));
var ct = cancellation.Token;

// Default settings (md5Hash and crc32c computed on upload), and a second stand-in with ComputeMd5Hash off.
await using var emulator = await EmulatorHost.StartAsync(new EmulatorOptions(), ct);
await using var crcOnlyEmulator = await EmulatorHost.StartAsync(new EmulatorOptions { ComputeMd5Hash = false }, ct);
using var http = new HttpClient { BaseAddress = emulator.BaseUri, Timeout = TimeSpan.FromMinutes(2) };
using var crcOnlyHttp = new HttpClient { BaseAddress = crcOnlyEmulator.BaseUri, Timeout = TimeSpan.FromMinutes(2) };
foreach (var client in new[] { http, crcOnlyHttp })
{
    (await client.PostAsync("/storage/v1/b?project=bench", new StringContent("""{"name":"bench"}""", System.Text.Encoding.UTF8, "application/json"), ct)).EnsureSuccessStatusCode();
}
using var loopback = await LoopbackSink.StartAsync(ct);

Console.WriteLine($"Machine: {Environment.ProcessorCount} cores, .NET {Environment.Version}, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}");
if (File.Exists("/proc/loadavg"))
{
    // The build machine is shared; the load average says how much of it this run had.
    Console.WriteLine($"Load average at start: {(await File.ReadAllTextAsync("/proc/loadavg", ct)).Trim()}");
}

Console.WriteLine($"{"case (median of rounds)",-30} {"MiB/s",10} {"loopback MiB/s",15} {"ratio",7}");
foreach (var (label, size, iterations) in new[] { ("1 MiB", 1 << 20, smallIterations), ("64 MiB", 64 << 20, largeIterations) })
{
    var data = new byte[size];
    Random.Shared.NextBytes(data);
    var name = $"object-{size}";

    // Warm-up: JIT, connection pool, first allocation of the object.
    await UploadAsync(data, name);
    await UploadAsync(data, name, crcOnlyHttp);
    await DownloadAsync(name, data.Length);
    await loopback.SendAsync(data, ct);
    await loopback.ReceiveAsync(data.Length, ct);

    // Rounds interleave the reference and the stand-in, and medians are reported, so load from other processes on
    // the shared machine hits both sides alike instead of skewing whichever phase it lands in.
    var (socketUpload, upload, crcOnlyUpload) = await MeasureRoundsAsync(iterations, size,
        () => loopback.SendAsync(data, ct), () => UploadAsync(data, name), () => UploadAsync(data, name, crcOnlyHttp));
    var (socketDownload, download, _) = await MeasureRoundsAsync(iterations, size,
        () => loopback.ReceiveAsync(data.Length, ct), () => DownloadAsync(name, data.Length), null);
    Report($"upload {label} x{iterations}", upload, socketUpload);
    Report($"upload {label} crc32c only", crcOnlyUpload, socketUpload);
    Report($"download {label} x{iterations}", download, socketDownload);
}

return;

async Task UploadAsync(byte[] data, string name, HttpClient? client = null)
{
    using var content = new ByteArrayContent(data);
    content.Headers.ContentType = new("application/octet-stream");
    using var response = await (client ?? http).PostAsync($"/upload/storage/v1/b/bench/o?uploadType=media&name={name}", content, ct);
    response.EnsureSuccessStatusCode();
}

async Task DownloadAsync(string name, int expected)
{
    using var response = await http.GetAsync($"/storage/v1/b/bench/o/{name}?alt=media", HttpCompletionOption.ResponseHeadersRead, ct);
    response.EnsureSuccessStatusCode();
    await using var body = await response.Content.ReadAsStreamAsync(ct);
    var received = await Drain(body, expected, ct);
    if (received != expected)
    {
        throw new InvalidOperationException($"Downloaded {received} bytes, expected {expected}.");
    }
}

static async Task<long> Drain(Stream stream, int expected, CancellationToken ct)
{
    // The client keeps the bytes, as a real download would, in one buffer of the object's size.
    var buffer = GC.AllocateUninitializedArray<byte>(expected);
    var total = 0;
    int read;
    while (total < expected && (read = await stream.ReadAsync(buffer.AsMemory(total), ct)) > 0)
    {
        total += read;
    }

    return total + await stream.ReadAsync(new byte[1], ct);
}

static async Task<(double Reference, double Subject, double Alternative)> MeasureRoundsAsync(
    int rounds, int size, Func<Task> reference, Func<Task> subject, Func<Task>? alternative)
{
    var times = new List<double>[] { [], [], [] };
    for (var i = 0; i < rounds; i++)
    {
        times[0].Add(await TimeAsync(reference));
        times[1].Add(await TimeAsync(subject));
        if (alternative is not null)
        {
            times[2].Add(await TimeAsync(alternative));
        }
    }

    return (Throughput(times[0]), Throughput(times[1]), alternative is null ? double.NaN : Throughput(times[2]));

    double Throughput(List<double> seconds) => (double)size / (1 << 20) / seconds.Order().ElementAt(seconds.Count / 2);

    static async Task<double> TimeAsync(Func<Task> operation)
    {
        var watch = Stopwatch.StartNew();
        await operation();
        return watch.Elapsed.TotalSeconds;
    }
}

static void Report(string label, double throughput, double reference) =>
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{label,-30} {throughput,10:F0} {reference,15:F0} {throughput / reference,7:F2}"));

int Argument(string name, int fallback)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
}

/// <summary>
/// The reference: a loopback TCP connection to a peer that stores what it receives in a buffer of the object's size
/// (upload direction) or sends a prepared buffer (download direction), each transfer acknowledged with one byte.
/// </summary>
internal sealed class LoopbackSink : IDisposable
{
    private readonly TcpListener _listener;
    private readonly Socket _client;
    private readonly Socket _server;

    private LoopbackSink(TcpListener listener, Socket client, Socket server)
    {
        _listener = listener;
        _client = client;
        _server = server;
    }

    public static async Task<LoopbackSink> StartAsync(CancellationToken ct)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var accept = listener.AcceptSocketAsync(ct);
        await client.ConnectAsync((IPEndPoint)listener.LocalEndpoint, ct);
        var server = await accept;
        server.NoDelay = true;
        return new LoopbackSink(listener, client, server);
    }

    /// <summary>Client → peer: the peer receives every byte into its buffer, then acknowledges.</summary>
    public async Task SendAsync(byte[] data, CancellationToken ct)
    {
        var receive = ReceiveExactlyAsync(_server, data.Length, ct);
        await _client.SendAsync(data, SocketFlags.None, ct);
        await receive;
        await _server.SendAsync(new byte[1], SocketFlags.None, ct);
        await _client.ReceiveAsync(new byte[1], SocketFlags.None, ct);
    }

    /// <summary>Peer → client: the peer sends its buffer, the client receives it into a buffer.</summary>
    public async Task ReceiveAsync(int length, CancellationToken ct)
    {
        var payload = new byte[length];
        var send = _server.SendAsync(payload, SocketFlags.None, ct).AsTask();
        await ReceiveExactlyAsync(_client, length, ct);
        await send;
    }

    private static async Task ReceiveExactlyAsync(Socket socket, int length, CancellationToken ct)
    {
        var buffer = GC.AllocateUninitializedArray<byte>(length);
        var total = 0;
        while (total < length)
        {
            var read = await socket.ReceiveAsync(buffer.AsMemory(total), SocketFlags.None, ct);
            if (read == 0)
            {
                throw new IOException("The loopback peer closed the connection.");
            }

            total += read;
        }
    }

    public void Dispose()
    {
        _client.Dispose();
        _server.Dispose();
        _listener.Stop();
    }
}
