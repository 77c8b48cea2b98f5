using System;
using System.Collections;
using System.Linq;
using System.Threading.Tasks;
using HexCost.Session;
using HexCost.Tests.Infrastructure;
using Xunit;

namespace HexCost.Tests.Module
{
    public class SessionTests
    {
        [Fact]
        public async Task Connect_checks_the_token_and_scopes_state_by_org()
        {
            await using var world = await HexWorld.StartAsync();
            using var host = new PsHost();
            var result = host.Run("Connect-Hex -Token $args[0] -BaseUri $args[1] -StatePath $args[2] -PassThru -Verbose",
                HexWorld.Secure(world.Emulator.Token), world.Emulator.BaseUri, world.State.Path).ThrowIfErrors();
            var session = result.Output.Single();
            Assert.Contains("HexCost.Session", session.TypeNames);
            Assert.Equal(world.Workspace.OrgId, session.Prop<string>("OrgId"));
            Assert.StartsWith(world.State.Path, session.Prop<string>("StatePath"));
            Assert.Contains(world.Workspace.OrgId, session.Prop<string>("StatePath"));
            Assert.Equal(1, world.Stats.RequestsFor("Me"));
            var everything = string.Join("\n", result.Verbose) + string.Join("\n", session.Properties.Select(p => p.Value?.ToString()));
            Assert.DoesNotContain(world.Emulator.Token, everything);
        }

        [Fact]
        public async Task A_rejected_token_fails_at_once_with_HexAuthFailed()
        {
            await using var world = await HexWorld.StartAsync();
            using var host = new PsHost();
            var result = host.Run("Connect-Hex -Token $args[0] -BaseUri $args[1] -StatePath $args[2]",
                HexWorld.Secure("hxtw_wrong"), world.Emulator.BaseUri, world.State.Path);
            Assert.NotNull(result.Terminating);
            Assert.StartsWith("HexAuthFailed,", result.Terminating!.FullyQualifiedErrorId);
            Assert.Equal(System.Management.Automation.ErrorCategory.AuthenticationError, result.Terminating.CategoryInfo.Category);
            Assert.Equal(1, world.Stats.TotalRequests);
            Assert.DoesNotContain("hxtw_wrong", result.Terminating.ToString());
        }

        [Theory]
        [InlineData("http://app.hex.tech/api/v1")]
        [InlineData("http://10.1.2.3:5080/api/v1")]
        public void Plain_http_is_refused_except_to_loopback(string uri)
        {
            using var host = new PsHost();
            var result = host.Run("Connect-Hex -Token $args[0] -BaseUri $args[1]", HexWorld.Secure("hxtw_x"), uri);
            Assert.StartsWith("HexInsecureBaseUri,", result.Terminating?.FullyQualifiedErrorId);
            Assert.Contains("https://", result.Terminating!.Exception.Message);
        }

        [Fact]
        public void Cmdlets_before_Connect_say_to_connect()
        {
            if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("HEX_API_TOKEN"))) return;
            using var host = new PsHost();
            var result = host.Run("Get-HexProject");
            Assert.StartsWith("HexNotConnected,", result.Terminating?.FullyQualifiedErrorId);
            Assert.Contains("Connect-Hex", result.Terminating!.Exception.Message);
        }

        [Theory]
        [InlineData("Runs", "20/1m")]
        [InlineData("RunProject", "20 per minute")]
        [InlineData("Read", "0/1m")]
        public void A_bad_rate_limit_is_a_clear_parameter_error(string group, string value)
        {
            using var host = new PsHost();
            var result = host.Run("Connect-Hex -Token $args[0] -BaseUri 'http://127.0.0.1:1/api/v1' -RateLimit $args[1]",
                HexWorld.Secure("hxtw_x"), new Hashtable { [group] = value });
            Assert.StartsWith("HexInvalidRateLimit,", result.Terminating?.FullyQualifiedErrorId);
            Assert.Equal(System.Management.Automation.ErrorCategory.InvalidArgument, result.Terminating!.CategoryInfo.Category);
            Assert.Contains("20/1m", result.Terminating.Exception.Message);
        }

        [Fact]
        public async Task Two_runspaces_keep_their_own_default_session_over_one_shared_account()
        {
            await using var world = await HexWorld.StartAsync();
            using var first = world.Connected();
            using var second = world.Connected();
            var a = (HexSession)first.Run("Connect-Hex -Token $args[0] -BaseUri $args[1] -StatePath $args[2] -RateLimit $args[3] -PassThru",
                HexWorld.Secure(world.Emulator.Token), world.Emulator.BaseUri, world.State.Path, HexWorld.FastLimits).ThrowIfErrors().Output.Single().BaseObject;
            var b = (HexSession)second.Run("Connect-Hex -Token $args[0] -BaseUri $args[1] -StatePath $args[2] -RateLimit $args[3] -PassThru",
                HexWorld.Secure(world.Emulator.Token), world.Emulator.BaseUri, world.State.Path, HexWorld.FastLimits).ThrowIfErrors().Output.Single().BaseObject;
            Assert.NotSame(a, b);
            Assert.Same(a.GetAccount(), b.GetAccount());
            Assert.Same(a.GetAccount().Limiter, b.GetAccount().Limiter);

            first.Run("Disconnect-Hex").ThrowIfErrors();
            Assert.StartsWith("HexNotConnected,", first.Run("Get-HexProject").Terminating?.FullyQualifiedErrorId);
            Assert.NotEmpty(second.Run("Get-HexProject").ThrowIfErrors().Output);
            Assert.True(b.IsConnected);
        }
    }
}
