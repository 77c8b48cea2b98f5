using System;
using System.Collections;
using System.Collections.Generic;
using HexCost.Limits;
using HexCost.Runs;
using Xunit;

namespace HexCost.Tests.Core
{
    public class ParsingTests
    {
        [Fact]
        public void Defaults_are_Hex_documented_limits()
        {
            var d = RateLimitSettings.Default;
            Assert.Equal("20/1m,60/1h", string.Join(",", d[RateLimitGroup.RunProject]));
            Assert.Equal("60/1m", string.Join(",", d[RateLimitGroup.Request]));
            Assert.Equal("30/1m,1800/1h", string.Join(",", d[RateLimitGroup.Read]));
        }

        [Theory]
        [InlineData("20/1m", 20, 60)]
        [InlineData("60/1h", 60, 3600)]
        [InlineData("5/30s", 5, 30)]
        [InlineData(" 7 / 2m ", 7, 120)]
        [InlineData("3/m", 3, 60)]
        [InlineData("10/0.5s", 10, 0.5)]
        public void Windows_parse(string text, int limit, double seconds)
        {
            var w = RateLimitSettings.ParseWindow(text);
            Assert.Equal(limit, w.Limit);
            Assert.Equal(TimeSpan.FromSeconds(seconds), w.Window);
        }

        [Theory]
        [InlineData("")]
        [InlineData("20")]
        [InlineData("0/1m")]
        [InlineData("-1/1m")]
        [InlineData("20/1d")]
        [InlineData("20/1x")]
        [InlineData("twenty/1m")]
        [InlineData("20/0s")]
        [InlineData("20/99999h")]
        [InlineData("27/\u0660s")]
        public void Bad_windows_say_how_to_write_one(string text)
        {
            var error = Assert.Throws<FormatException>(() => RateLimitSettings.ParseWindow(text));
            Assert.Contains("'20/1m'", error.Message);
        }

        [Fact]
        public void Overrides_replace_only_their_group_and_unknown_groups_are_refused()
        {
            var s = RateLimitSettings.Parse(new Hashtable { ["runproject"] = new object[] { "2/1s", "4/1m" } });
            Assert.Equal("2/1s,4/1m", string.Join(",", s[RateLimitGroup.RunProject]));
            Assert.Equal("60/1m", string.Join(",", s[RateLimitGroup.Request]));
            var error = Assert.Throws<FormatException>(() => RateLimitSettings.Parse(new Hashtable { ["Runs"] = "1/1m" }));
            Assert.Contains("RunProject, Request or Read", error.Message);
            Assert.Throws<FormatException>(() => RateLimitSettings.Parse(new Hashtable { ["0"] = "1/1m" }));
            Assert.Throws<FormatException>(() => RateLimitSettings.Parse(new Hashtable { ["Read"] = new object[0] }));
        }

        [Fact]
        public void Equal_inputs_canonicalise_to_the_same_text_whatever_the_order_or_culture()
        {
            var a = new Hashtable { ["region"] = "EU", ["limit"] = 10, ["ratio"] = 0.5, ["nested"] = new Hashtable { ["b"] = 2, ["a"] = 1 } };
            var b = new Dictionary<string, object?> { ["ratio"] = 0.5d, ["nested"] = new Dictionary<string, object?> { ["a"] = 1L, ["b"] = 2.0 }, ["limit"] = 10L, ["region"] = "EU" };
            var previous = System.Globalization.CultureInfo.CurrentCulture;
            try
            {
                System.Globalization.CultureInfo.CurrentCulture = new System.Globalization.CultureInfo("de-DE");
                Assert.Equal("{\"limit\":10,\"nested\":{\"a\":1,\"b\":2},\"ratio\":0.5,\"region\":\"EU\"}", InputCanonicalizer.Canonicalize(a));
                Assert.Equal(InputCanonicalizer.Canonicalize(a), InputCanonicalizer.Canonicalize(b));
            }
            finally
            {
                System.Globalization.CultureInfo.CurrentCulture = previous;
            }
            Assert.Equal("{}", InputCanonicalizer.Canonicalize(null));
            Assert.Equal("{\"d\":\"2026-01-02T03:04:05.0000000Z\",\"l\":[1,\"x\",true,null]}",
                InputCanonicalizer.Canonicalize(new Hashtable { ["l"] = new object?[] { 1, "x", true, null }, ["d"] = new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc) }));
        }

        [Fact]
        public void Inputs_without_a_JSON_form_are_refused_by_name()
        {
            var error = Assert.Throws<ArgumentException>(() => InputCanonicalizer.Canonicalize(new Hashtable { ["when"] = new object() }));
            Assert.Contains("'when'", error.Message);
            Assert.Throws<ArgumentException>(() => InputCanonicalizer.Canonicalize(new Hashtable { ["x"] = double.NaN }));
        }

        [Fact]
        public void Cache_keys_differ_by_project_inputs_version_and_flags()
        {
            var k = InputCanonicalizer.CacheKey("p", "{}", "v1", false, false);
            Assert.Equal(k, InputCanonicalizer.CacheKey("p", "{}", "v1", false, false));
            Assert.NotEqual(k, InputCanonicalizer.CacheKey("q", "{}", "v1", false, false));
            Assert.NotEqual(k, InputCanonicalizer.CacheKey("p", "{\"a\":1}", "v1", false, false));
            Assert.NotEqual(k, InputCanonicalizer.CacheKey("p", "{}", "v2", false, false));
            Assert.NotEqual(k, InputCanonicalizer.CacheKey("p", "{}", "v1", true, false));
            Assert.NotEqual(k, InputCanonicalizer.CacheKey("p", "{}", "v1", false, true));
        }
    }
}
