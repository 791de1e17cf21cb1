namespace Demos.Maas.Server;

/// <summary>
/// Closes a connection that has had nothing in flight and sent nothing for the idle timeout:
/// otherwise every client that wandered off would hold a descriptor and a connection slot forever.
/// </summary>
internal sealed class IdleWatch : IDisposable
{
    private readonly Func<bool> _isBusy;
    private readonly Action _onIdle;
    private readonly long _limitMs;
    private readonly Timer? _timer;
    private long _lastActivity = Environment.TickCount64;
    private int _fired;

    public IdleWatch(TimeSpan limit, Func<bool> isBusy, Action onIdle)
    {
        _isBusy = isBusy;
        _onIdle = onIdle;
        if (limit > TimeSpan.Zero && limit != Timeout.InfiniteTimeSpan)
        {
            _limitMs = (long)limit.TotalMilliseconds;
            var period = TimeSpan.FromMilliseconds(Math.Clamp(_limitMs / 4, 10, 60_000));
            _timer = new Timer(static state => ((IdleWatch)state!).Check(), this, period, period);
        }
    }

    /// <summary>Something happened on the connection (a frame read, a call ended).</summary>
    public void Touch() => Volatile.Write(ref _lastActivity, Environment.TickCount64);

    public void Dispose() => _timer?.Dispose();

    private void Check()
    {
        if (!_isBusy() && Environment.TickCount64 - Volatile.Read(ref _lastActivity) > _limitMs && Interlocked.Exchange(ref _fired, 1) == 0)
        {
            _onIdle();
        }
    }
}
