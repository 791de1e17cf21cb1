using Microsoft.Extensions.Logging;

namespace Demos.Maas.Tests;

/// <summary>A logger factory that completes <see cref="Seen"/> when a message containing <c>text</c> is logged: lets a test wait for a server-side event instead of for time.</summary>
internal sealed class LogSignal(string text) : ILoggerFactory, ILogger
{
    public TaskCompletionSource Seen { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ILogger CreateLogger(string categoryName) => this;

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (formatter(state, exception).Contains(text, StringComparison.Ordinal))
        {
            Seen.TrySetResult();
        }
    }

    public void Dispose()
    {
    }
}
