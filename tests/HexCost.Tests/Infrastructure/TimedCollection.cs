using Xunit;

namespace HexCost.Tests.Infrastructure
{
    /// <summary>Tests whose figures are times (a makespan against the bound the limits allow): they run alone, not beside other
    /// test classes competing for the machine's two cores.</summary>
    [CollectionDefinition(Name, DisableParallelization = true)]
    public sealed class TimedCollection
    {
        public const string Name = "Timed (not in parallel)";
    }
}
