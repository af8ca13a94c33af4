using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Dataflow.Google.Core;

/// <summary>
/// Sends requests to one Google REST API: resolves paths against the endpoint, adds the bearer token, maps
/// error responses to <see cref="GoogleApiException"/> and retries transient failures with exponential
/// backoff and jitter. Thread-safe; one instance per API per process.
/// </summary>
public sealed class GoogleRestTransport
{
    private static readonly MediaTypeHeaderValue JsonContentType = MediaTypeHeaderValue.Parse("application/json; charset=utf-8");

    private readonly HttpClient _httpClient;
    private readonly IGoogleAccessTokenSource _tokens;
    private readonly TimeProvider _time;

    public GoogleRestTransport(HttpClient httpClient, GoogleEndpoint endpoint, IGoogleAccessTokenSource tokens, RetrySettings? retry = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(tokens);
        _httpClient = httpClient;
        Endpoint = endpoint;
        _tokens = tokens;
        Retry = retry ?? RetrySettings.Default;
        Retry.Validate("Retry:");
        _time = time ?? TimeProvider.System;
    }

    public GoogleEndpoint Endpoint { get; }

    public RetrySettings Retry { get; }

    public Uri Resolve(string relativePath) => new(Endpoint.BaseAddress, relativePath);

    /// <summary>
    /// Sends the request built by <paramref name="createRequest"/> (called again for each attempt, so content
    /// must be re-creatable) and returns the successful response, which the caller disposes.
    /// </summary>
    /// <param name="isExpected">Accepts a non-2xx status as a normal answer (e.g. 308 from resumable uploads).</param>
    public async Task<HttpResponseMessage> SendAsync(
        Func<HttpRequestMessage> createRequest,
        CancellationToken cancellationToken,
        HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead,
        RetrySettings? retry = null,
        Func<HttpStatusCode, bool>? isExpected = null)
    {
        ArgumentNullException.ThrowIfNull(createRequest);
        var policy = retry ?? Retry;
        for (var attempt = 1; ; attempt++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var request = createRequest();
            HttpResponseMessage? response = null;
            GoogleApiException failure;
            TimeSpan? retryAfter = null;
            try
            {
                var token = await _tokens.GetAccessTokenAsync(cancellationToken);
                if (token is not null)
                {
                    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
                }

                response = await _httpClient.SendAsync(request, completion, cancellationToken);
                if (response.IsSuccessStatusCode || (isExpected?.Invoke(response.StatusCode) ?? false))
                {
                    return response;
                }

                failure = await GoogleApiException.FromResponseAsync(response, cancellationToken);
                retryAfter = RetryAfter(response);
            }
            catch (HttpRequestException ex)
            {
                failure = GoogleApiException.Transport("UNAVAILABLE", ex.Message, request, ex);
            }
            catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
            {
                // HttpClient.Timeout expired: Google's DEADLINE_EXCEEDED.
                failure = GoogleApiException.Transport("DEADLINE_EXCEEDED", "the request timed out", request, ex);
            }
            finally
            {
                if (response is not null && !(response.IsSuccessStatusCode || (isExpected?.Invoke(response.StatusCode) ?? false)))
                {
                    response.Dispose();
                }

                request.Dispose();
            }

            if (!failure.IsTransient || attempt >= policy.MaxAttempts)
            {
                throw failure;
            }

            var delay = policy.GetDelay(attempt, Random.Shared.NextDouble());
            if (retryAfter is { } hint && hint > delay && hint <= policy.MaxBackoff)
            {
                delay = hint;
            }

            await Task.Delay(delay, _time, cancellationToken);
        }
    }

    /// <summary>Sends a JSON body (or none) and deserializes the JSON answer.</summary>
    public async Task<TResponse> SendJsonAsync<TRequest, TResponse>(
        HttpMethod method, string relativePath, TRequest body, JsonTypeInfo<TRequest> requestType, JsonTypeInfo<TResponse> responseType,
        CancellationToken cancellationToken, RetrySettings? retry = null)
    {
        using var payload = PooledJsonBody.Serialize(body, requestType);
        using var response = await SendAsync(() => JsonRequest(method, relativePath, payload.Memory), cancellationToken, retry: retry);
        return await ReadJsonAsync(response, responseType, cancellationToken);
    }

    /// <summary>Sends a bodiless request and deserializes the JSON answer.</summary>
    public async Task<TResponse> SendJsonAsync<TResponse>(
        HttpMethod method, string relativePath, JsonTypeInfo<TResponse> responseType, CancellationToken cancellationToken, RetrySettings? retry = null)
    {
        using var response = await SendAsync(() => new HttpRequestMessage(method, Resolve(relativePath)), cancellationToken, retry: retry);
        return await ReadJsonAsync(response, responseType, cancellationToken);
    }

    /// <summary>Sends a JSON body and ignores the answer's body.</summary>
    public async Task SendJsonAsync<TRequest>(
        HttpMethod method, string relativePath, TRequest body, JsonTypeInfo<TRequest> requestType, CancellationToken cancellationToken, RetrySettings? retry = null)
    {
        using var payload = PooledJsonBody.Serialize(body, requestType);
        using var response = await SendAsync(() => JsonRequest(method, relativePath, payload.Memory), cancellationToken, retry: retry);
    }

    /// <summary>Sends a bodiless request (typically DELETE) and ignores the answer's body.</summary>
    public async Task SendAsync(HttpMethod method, string relativePath, CancellationToken cancellationToken, RetrySettings? retry = null)
    {
        using var response = await SendAsync(() => new HttpRequestMessage(method, Resolve(relativePath)), cancellationToken, retry: retry);
    }

    public HttpRequestMessage JsonRequest(HttpMethod method, string relativePath, ReadOnlyMemory<byte> payload)
    {
        var content = new ReadOnlyMemoryContent(payload);
        content.Headers.ContentType = JsonContentType;
        return new HttpRequestMessage(method, Resolve(relativePath)) { Content = content };
    }

    public static async Task<T> ReadJsonAsync<T>(HttpResponseMessage response, JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(response);
        var content = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        if (content.Length == 0)
        {
            // Some emulators answer 200 with an empty body where the API documents "{}".
            content = "{}"u8.ToArray();
        }

        try
        {
            return JsonSerializer.Deserialize(content, type)
                ?? throw new GoogleApiException($"the response to {response.RequestMessage?.RequestUri} was JSON null");
        }
        catch (JsonException ex)
        {
            throw new GoogleApiException($"the response to {response.RequestMessage?.Method} {response.RequestMessage?.RequestUri} is not the expected JSON: {ex.Message}", ex);
        }
    }

    private TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta)
        {
            return delta;
        }

        return header?.Date is { } date ? date - _time.GetUtcNow() : null;
    }
}
