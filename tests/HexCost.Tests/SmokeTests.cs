using Xunit;
namespace HexCost.Tests { public class SmokeTests { [Fact] public void Builds() => Assert.True(true); } }
