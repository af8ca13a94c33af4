using System.Globalization;
using System.Net;
using Dataflow.Hosting.ApplicationModel;
using Dataflow.Hosting.Processes;

namespace Dataflow.Hosting;

/// <summary>
/// Requests of the provisioning and seeding jobs. An emulator that just turned healthy can still be slow (a JVM
/// compiling its first write on a busy machine), so a timeout, a refused connection or a 5xx is retried with backoff
/// until <see cref="Deadline"/>; anything else is the answer.
/// </summary>
internal static class EmulatorRequests
{
    public static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(30);

    public static readonly TimeSpan Deadline = TimeSpan.FromMinutes(3);

    /// <summary>An HttpClient for <paramref name="baseAddress"/> whose attempts are bounded by <see cref="SendAsync"/>.</summary>
    public static HttpClient CreateClient(Uri baseAddress) => new() { BaseAddress = baseAddress, Timeout = Timeout.InfiniteTimeSpan };

    public static async Task<HttpResponseMessage> SendAsync(HttpClient http, Func<HttpRequestMessage> createRequest, LogBuffer log,
        CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(Deadline);
        var delay = TimeSpan.FromMilliseconds(250);
        for (var attempt = 1; ; attempt++)
        {
            using var request = createRequest();
            string failure;
            using (var attemptTimeout = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token))
            {
                attemptTimeout.CancelAfter(AttemptTimeout);
                try
                {
                    var response = await http.SendAsync(request, attemptTimeout.Token);
                    if ((int)response.StatusCode < 500)
                    {
                        return response;
                    }
                    failure = $"{(int)response.StatusCode} {response.ReasonPhrase}";
                    response.Dispose();
                }
                catch (HttpRequestException ex)
                {
                    failure = ex.Message;
                }
                catch (OperationCanceledException) when (attemptTimeout.IsCancellationRequested && !deadline.IsCancellationRequested)
                {
                    failure = $"no answer within {AttemptTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s";
                }
                catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                {
                    throw new ResourceStartException(
                        $"{request.Method} {request.RequestUri} got no answer within {Deadline.TotalMinutes.ToString(CultureInfo.InvariantCulture)} min ({attempt} attempts)");
                }
            }

            log.Write(LogStream.StandardError, $"{request.Method} {request.RequestUri}: {failure}; retrying (attempt {attempt + 1})");
            try
            {
                await Task.Delay(delay, deadline.Token);
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                throw new ResourceStartException($"{request.Method} {request.RequestUri} failed for {Deadline.TotalMinutes.ToString(CultureInfo.InvariantCulture)} min: {failure}");
            }
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
        }
    }
}
