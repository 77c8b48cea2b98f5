using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;

namespace HexCost.Reports
{
    /// <summary>One bar of a horizontal bar chart; <see cref="Reference"/> (e.g. a grant) is drawn behind it.</summary>
    public sealed class BarRow
    {
        public BarRow(string label, double value, string valueText, double? reference = null)
        {
            Label = label;
            Value = value;
            ValueText = valueText;
            Reference = reference;
        }

        public string Label { get; }
        public double Value { get; }
        public string ValueText { get; }
        public double? Reference { get; }
    }

    /// <summary>One series of a chart over categories (e.g. triggers per day).</summary>
    public sealed class ChartSeries
    {
        public ChartSeries(string name, string color, IReadOnlyList<double> values)
        {
            Name = name;
            Color = color;
            Values = values;
        }

        public string Name { get; }
        public string Color { get; }
        public IReadOnlyList<double> Values { get; }
    }

    /// <summary>Inline SVG charts: no script, no external font, every text HTML-encoded. They scale to the page width
    /// (viewBox) and print.</summary>
    public static class SvgCharts
    {
        public const string Accent = "#4338ca";
        public const string AccentLight = "#e0e7ff";
        public const string AccentLine = "#a5b4fc";
        public const string Good = "#059669";
        public const string Bad = "#dc2626";
        public const string Grid = "#e5e7eb";
        public const string Ink = "#1f2937";
        public const string Muted = "#6b7280";
        private const double Width = 960;
        private const string Font = "font-family=\"system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif\"";

        /// <summary>Horizontal bars, one row each. With references, a light bar shows the reference and the part of a value
        /// beyond it is drawn in red (e.g. credits used beyond the grant).</summary>
        public static string HorizontalBars(string title, IReadOnlyList<BarRow> rows, string? valueName = null, string? referenceName = null, string? overName = null)
        {
            const double labelWidth = 220, valueWidth = 110, rowHeight = 26, barHeight = 14, axisHeight = 24;
            var hasReference = rows.Any(r => r.Reference.HasValue);
            var legendHeight = hasReference ? 26d : 6d;
            var plot = Width - labelWidth - valueWidth;
            var height = legendHeight + Math.Max(1, rows.Count) * rowHeight + axisHeight;
            var max = rows.Count == 0 ? 0 : rows.Max(r => Math.Max(r.Value, r.Reference ?? 0));
            var (top, step) = NiceScale(max, 5);
            double X(double v) => labelWidth + plot * Math.Max(0, v) / top;

            var svg = Open(title, height);
            if (hasReference)
            {
                var x = labelWidth;
                x = Legend(svg, x, 8, Accent, valueName ?? "Value");
                x = Legend(svg, x, 8, AccentLight, referenceName ?? "Reference", AccentLine);
                if (overName != null) Legend(svg, x, 8, Bad, overName);
            }
            var plotTop = legendHeight;
            var plotBottom = legendHeight + Math.Max(1, rows.Count) * rowHeight;
            for (var t = 0d; t <= top + step / 2; t += step)
            {
                svg.Append("<line x1=\"").Append(Html.Coord(X(t))).Append("\" y1=\"").Append(Html.Coord(plotTop)).Append("\" x2=\"").Append(Html.Coord(X(t)))
                    .Append("\" y2=\"").Append(Html.Coord(plotBottom)).Append("\" stroke=\"").Append(Grid).Append("\"/>");
                Text(svg, X(t), plotBottom + 16, Html.Number(t), "middle", Muted, 11);
            }
            if (rows.Count == 0) Text(svg, labelWidth + plot / 2, plotTop + rowHeight / 2 + 4, "Nothing to show", "middle", Muted, 12);
            for (var i = 0; i < rows.Count; i++)
            {
                var row = rows[i];
                var y = plotTop + i * rowHeight + (rowHeight - barHeight) / 2;
                svg.Append("<g><title>").Append(Html.Encode(row.Label + ": " + row.ValueText)).Append("</title>");
                Text(svg, labelWidth - 8, y + barHeight - 3, Html.Truncate(row.Label, 30), "end", Ink, 12);
                if (row.Reference is double reference && reference > 0)
                    Rect(svg, X(0), y - 2, X(reference) - X(0), barHeight + 4, AccentLight, AccentLine);
                var within = row.Reference is double cap && row.Value > cap ? cap : row.Value;
                if (within > 0) Rect(svg, X(0), y, X(within) - X(0), barHeight, Accent);
                if (row.Value > within) Rect(svg, X(within), y, X(row.Value) - X(within), barHeight, Bad);
                Text(svg, X(Math.Max(row.Value, row.Reference ?? 0)) + 6, y + barHeight - 3, row.ValueText, "start", Ink, 11);
                svg.Append("</g>");
            }
            return svg.Append("</svg>").ToString();
        }

        /// <summary>Series over categories: grouped columns for up to 31 categories, lines beyond.</summary>
        public static string Columns(string title, IReadOnlyList<string> categories, IReadOnlyList<ChartSeries> series, string emptyText = "Nothing to show")
        {
            const double height = 270, left = 46, right = 14, top = 34, bottom = 40;
            var plot = Width - left - right;
            var plotHeight = height - top - bottom;
            var n = Math.Max(1, categories.Count);
            var max = series.SelectMany(s => s.Values).DefaultIfEmpty(0).Max();
            var (yMax, step) = NiceScale(max, 5, integers: true);
            double Y(double v) => top + plotHeight - plotHeight * Math.Max(0, v) / yMax;
            var band = plot / n;

            var svg = Open(title, height);
            var lx = left;
            foreach (var s in series) lx = Legend(svg, lx, 8, s.Color, s.Name);
            for (var t = 0d; t <= yMax + step / 2; t += step)
            {
                svg.Append("<line x1=\"").Append(Html.Coord(left)).Append("\" y1=\"").Append(Html.Coord(Y(t))).Append("\" x2=\"").Append(Html.Coord(left + plot))
                    .Append("\" y2=\"").Append(Html.Coord(Y(t))).Append("\" stroke=\"").Append(t == 0 ? Muted : Grid).Append("\"/>");
                Text(svg, left - 6, Y(t) + 4, Html.Number(t), "end", Muted, 11);
            }
            var labelEvery = Math.Max(1, (int)Math.Ceiling(n * 44 / plot));
            for (var i = 0; i < categories.Count; i++)
            {
                if (i % labelEvery != 0 && i != categories.Count - 1) continue;
                if (i == categories.Count - 1 && i % labelEvery != 0 && (i % labelEvery) * band < 44) continue;
                Text(svg, left + band * (i + 0.5), top + plotHeight + 18, categories[i], "middle", Muted, 11);
            }

            if (max <= 0)
            {
                Text(svg, left + plot / 2, top + plotHeight / 2, emptyText, "middle", Muted, 13);
            }
            else if (categories.Count <= 31)
            {
                var barWidth = Math.Min(22, band * 0.8 / Math.Max(1, series.Count));
                var groupWidth = barWidth * series.Count;
                var labels = categories.Count * series.Count <= 48;
                for (var i = 0; i < categories.Count; i++)
                {
                    var x0 = left + band * i + (band - groupWidth) / 2;
                    for (var s = 0; s < series.Count; s++)
                    {
                        var value = i < series[s].Values.Count ? series[s].Values[i] : 0;
                        if (value <= 0) continue;
                        var x = x0 + s * barWidth;
                        svg.Append("<g><title>").Append(Html.Encode(categories[i] + " " + series[s].Name + ": " + Html.Number(value))).Append("</title>");
                        Rect(svg, x + 1, Y(value), barWidth - 2, Y(0) - Y(value), series[s].Color);
                        if (labels) Text(svg, x + barWidth / 2, Y(value) - 4, Html.Number(value), "middle", Ink, 10);
                        svg.Append("</g>");
                    }
                }
            }
            else
            {
                foreach (var s in series)
                {
                    svg.Append("<polyline fill=\"none\" stroke-width=\"2\" stroke=\"").Append(Html.Encode(s.Color)).Append("\" points=\"");
                    for (var i = 0; i < categories.Count; i++)
                    {
                        var value = i < s.Values.Count ? s.Values[i] : 0;
                        svg.Append(Html.Coord(left + band * (i + 0.5))).Append(',').Append(Html.Coord(Y(value))).Append(' ');
                    }
                    svg.Append("\"><title>").Append(Html.Encode(s.Name)).Append("</title></polyline>");
                }
            }
            return svg.Append("</svg>").ToString();
        }

        /// <summary>A scale maximum at or above <paramref name="max"/> on a 1-2-5 step.</summary>
        internal static (double Max, double Step) NiceScale(double max, int ticks, bool integers = false)
        {
            if (!(max > 0) || double.IsInfinity(max)) return integers ? (5, 1) : (1, 0.2);
            var raw = max / ticks;
            var magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
            var normal = raw / magnitude;
            var step = (normal <= 1 ? 1 : normal <= 2 ? 2 : normal <= 5 ? 5 : 10) * magnitude;
            if (integers) step = Math.Max(1, Math.Round(step));
            return (Math.Ceiling(max / step - 1e-9) * step, step);
        }

        private static StringBuilder Open(string title, double height)
        {
            var svg = new StringBuilder(4096);
            svg.Append("<svg class=\"chart\" role=\"img\" viewBox=\"0 0 ").Append(Html.Coord(Width)).Append(' ').Append(Html.Coord(height))
                .Append("\" width=\"100%\" preserveAspectRatio=\"xMinYMin meet\" aria-label=\"").Append(Html.Encode(title)).Append("\" ").Append(Font).Append('>');
            svg.Append("<title>").Append(Html.Encode(title)).Append("</title>");
            return svg;
        }

        private static double Legend(StringBuilder svg, double x, double y, string color, string name, string? stroke = null)
        {
            Rect(svg, x, y, 12, 12, color, stroke);
            Text(svg, x + 17, y + 10, name, "start", Ink, 12);
            return x + 17 + 7.2 * name.Length + 18;
        }

        private static void Rect(StringBuilder svg, double x, double y, double width, double height, string fill, string? stroke = null)
        {
            svg.Append("<rect x=\"").Append(Html.Coord(x)).Append("\" y=\"").Append(Html.Coord(y)).Append("\" width=\"").Append(Html.Coord(Math.Max(0, width)))
                .Append("\" height=\"").Append(Html.Coord(Math.Max(0, height))).Append("\" rx=\"2\" fill=\"").Append(Html.Encode(fill)).Append('"');
            if (stroke != null) svg.Append(" stroke=\"").Append(Html.Encode(stroke)).Append('"');
            svg.Append("/>");
        }

        private static void Text(StringBuilder svg, double x, double y, string text, string anchor, string color, double size)
        {
            svg.Append("<text x=\"").Append(Html.Coord(x)).Append("\" y=\"").Append(Html.Coord(y)).Append("\" text-anchor=\"").Append(anchor)
                .Append("\" fill=\"").Append(Html.Encode(color)).Append("\" font-size=\"").Append(Html.Coord(size)).Append("\">").Append(Html.Encode(text)).Append("</text>");
        }
    }
}
