using System;
using System.Linq;
using HexCost.Api;
using HexCost.Audit;
using HexCost.Model;
using Xunit;

namespace HexCost.Tests.Audit
{
    public class ScheduleMathTests
    {
        private static HexSchedule Schedule(string cadence, bool enabled = true, string tz = "+00:00", int? minute = 0, int? hour = 9, string? day = "MONDAY", int? dom = 1, string? cron = null) =>
            new HexSchedule("p", new ScheduleResource
            {
                Cadence = cadence, Enabled = enabled,
                Hourly = cadence == "HOURLY" ? new ScheduleDetail { Timezone = tz, Minute = minute } : null,
                Daily = cadence == "DAILY" ? new ScheduleDetail { Timezone = tz, Minute = minute, Hour = hour } : null,
                Weekly = cadence == "WEEKLY" ? new ScheduleDetail { Timezone = tz, Minute = minute, Hour = hour, DayOfWeek = day } : null,
                Monthly = cadence == "MONTHLY" ? new ScheduleDetail { Timezone = tz, Minute = minute, Hour = hour, Day = dom } : null,
                Custom = cadence == "CUSTOM" ? new ScheduleDetail { Timezone = tz, Cron = cron } : null,
            });

        [Theory]
        [InlineData("HOURLY", null, 168)]
        [InlineData("DAILY", null, 7)]
        [InlineData("WEEKLY", null, 1)]
        [InlineData("MONTHLY", null, 48 * 7 / 1461d)]
        [InlineData("CUSTOM", "0 */6 * * *", 28)]
        [InlineData("CUSTOM", "*/15 9-17 * * 1-5", 4 * 9 * 5)]
        [InlineData("CUSTOM", "0 12 * * 0", 1)]
        [InlineData("CUSTOM", "30 2 1 * *", 48 * 7 / 1461d)]
        [InlineData("CUSTOM", "0 0 29 2 *", 7 / 1461d)]
        [InlineData("CUSTOM", "* * * * *", 10080)]
        public void Runs_per_week_are_exact(string cadence, string? cron, double expected)
        {
            Assert.Equal(expected, ScheduleMath.RunsPerWeek(Schedule(cadence, cron: cron)), 9);
            Assert.Equal(expected, ScheduleMath.RunsPerWeek(Schedule(cadence, tz: "+08:00", cron: cron)), 9);
        }

        [Fact]
        public void Disabled_schedules_count_zero()
        {
            Assert.Equal(0, ScheduleMath.RunsPerWeek(Schedule("HOURLY", enabled: false)));
            Assert.Empty(ScheduleMath.FireMinutes(Schedule("HOURLY", enabled: false)));
        }

        [Fact]
        public void Fire_minutes_honour_the_offset()
        {
            var utc = ScheduleMath.FireMinutes(Schedule("DAILY", hour: 9, minute: 0)).ToArray();
            var plus8 = ScheduleMath.FireMinutes(Schedule("DAILY", tz: "+08:00", hour: 9, minute: 0)).ToArray();
            Assert.Equal(30, utc.Length);
            Assert.All(utc, m => Assert.Equal(9 * 60, m % 1440));
            Assert.All(plus8, m => Assert.Equal(1 * 60, m % 1440)); // 09:00 at +08:00 is 01:00 UTC
            Assert.Single(ScheduleMath.FireMinutes(Schedule("MONTHLY", dom: 15)));
        }

        [Theory]
        [InlineData("1d", 24 * 60)]
        [InlineData("6h", 6 * 60)]
        [InlineData("30m", 30)]
        [InlineData("1w", 7 * 24 * 60)]
        [InlineData("1.5h", 90)]
        [InlineData("02:00:00", 120)]
        public void Intervals_parse(string text, double minutes) => Assert.Equal(TimeSpan.FromMinutes(minutes), ScheduleMath.ParseInterval(text));

        [Theory]
        [InlineData("")]
        [InlineData("daily")]
        [InlineData("0d")]
        [InlineData("-1h")]
        [InlineData("5y")]
        [InlineData("10675200d")]
        [InlineData("1e300m")]
        [InlineData("Infinityh")]
        [InlineData("1e-12m")]
        public void Bad_intervals_say_how_to_write_one(string text) =>
            Assert.Contains("'1d'", Assert.Throws<FormatException>(() => ScheduleMath.ParseInterval(text)).Message);

        [Theory]
        [InlineData("30m", "HOURLY")]
        [InlineData("6h", "CUSTOM (0 */6 * * *)")]
        [InlineData("1d", "DAILY")]
        [InlineData("2d", "CUSTOM (0 0 */2 * *)")]
        [InlineData("7d", "WEEKLY")]
        [InlineData("30d", "MONTHLY")]
        public void The_recommended_cadence_matches_the_interval(string interval, string cadence) =>
            Assert.Equal(cadence, ScheduleMath.CadenceFor(ScheduleMath.ParseInterval(interval)));

        [Theory]
        [InlineData("Sales Report", "sales report")]
        [InlineData("Copy of Sales report", "sales report")]
        [InlineData("Sales report (copy)", "sales report")]
        [InlineData("Sales-Report 2", "sales report")]
        [InlineData("  SALES   report!! ", "sales report")]
        public void Titles_normalise(string title, string normal) => Assert.Equal(normal, ScheduleAuditor.NormalizeTitle(title));
    }
}
