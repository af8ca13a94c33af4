using System.Globalization;
using Microsoft.Extensions.Logging;

namespace Dataflow.Tests.E2E.DataflowScenarios;

/// <summary>
/// Routes a service's logs into the output of the test that runs it, prefixed with the service name: Information
/// and above from the service, warnings and above from the framework.
/// </summary>
internal sealed class ServiceLogs(string service, ITestOutputHelper output) : ILoggerProvider
{
    private string Service { get; } = service;

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private void Write(string line)
    {
        try
        {
            output.WriteLine(line);
        }
        catch (InvalidOperationException)
        {
            // The test has finished (a late log line from shutdown): there is no output to write to.
        }
    }

    private sealed class Logger(ServiceLogs owner, string category) : ILogger
    {
        private readonly LogLevel _minimum = category.StartsWith("Microsoft.", StringComparison.Ordinal) || category.StartsWith("System.", StringComparison.Ordinal)
            ? LogLevel.Warning
            : LogLevel.Information;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= _minimum && logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            var time = DateTime.UtcNow.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture);
            var line = $"{time} [{owner.Service}] {logLevel} {category}: {formatter(state, exception)}";
            owner.Write(exception is null ? line : $"{line}{Environment.NewLine}{exception}");
        }
    }
}
