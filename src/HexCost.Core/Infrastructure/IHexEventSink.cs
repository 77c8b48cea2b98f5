using System;

namespace HexCost.Infrastructure
{
    /// <summary>What the core tells its host while it works. Implementations must be thread-safe:
    /// the core calls them from background threads; the cmdlet layer marshals to the pipeline thread.</summary>
    public interface IHexEventSink
    {
        void Verbose(string message);
        void Warning(string message);
        void Progress(HexProgress progress);
    }

    public sealed class HexProgress
    {
        public HexProgress(int activityId, string activity, string status, int percentComplete = -1, int secondsRemaining = -1, bool completed = false)
        {
            ActivityId = activityId;
            Activity = activity;
            Status = status;
            PercentComplete = percentComplete;
            SecondsRemaining = secondsRemaining;
            Completed = completed;
        }

        public int ActivityId { get; }
        public string Activity { get; }
        public string Status { get; }
        public int PercentComplete { get; }
        public int SecondsRemaining { get; }
        public bool Completed { get; }
    }

    public sealed class NullEventSink : IHexEventSink
    {
        public static readonly NullEventSink Instance = new NullEventSink();
        public void Verbose(string message) { }
        public void Warning(string message) { }
        public void Progress(HexProgress progress) { }
    }

    public static class ProgressIds
    {
        public const int RateLimitWait = 0x4845;
        public const int Runs = 0x4846;
        public const int Paging = 0x4847;
        public const int Polling = 0x4848;
    }
}
