using System;
using System.Collections;
using System.Globalization;
using System.Management.Automation;

namespace HexCost.Commands.Infrastructure
{
    /// <summary>
    /// Refuses a fraction for a whole-number parameter. PowerShell's binder would round it (-Days 0.8 becomes 1, 2.5 becomes
    /// 2) and run with a number nobody typed; this makes it a binding error that names the parameter.
    /// </summary>
    [AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
    public sealed class WholeNumberAttribute : ArgumentTransformationAttribute
    {
        public override object? Transform(EngineIntrinsics engineIntrinsics, object? inputData)
        {
            var value = inputData is PSObject wrapped ? wrapped.BaseObject : inputData;
            if (value is IEnumerable items && !(value is string))
            {
                foreach (var item in items) Check(item is PSObject element ? element.BaseObject : item);
            }
            else
            {
                Check(value);
            }
            return inputData;
        }

        private static void Check(object? value)
        {
            double number;
            switch (value)
            {
                case double d: number = d; break;
                case float f: number = f; break;
                case decimal m:
                    if (m != decimal.Truncate(m)) throw Refuse(m.ToString(CultureInfo.InvariantCulture));
                    return;
                case string s when double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed): number = parsed; break;
                default: return;
            }
            if (double.IsNaN(number) || double.IsInfinity(number) || Math.Floor(number) != number)
            {
                throw Refuse(number.ToString("R", CultureInfo.InvariantCulture));
            }
        }

        private static ArgumentTransformationMetadataException Refuse(string value) =>
            new ArgumentTransformationMetadataException(
                $"{value} is not a whole number, and HexCost does not round it: give a whole number, e.g. {WholeExample(value)}.");

        private static string WholeExample(string value) =>
            double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && !double.IsNaN(number) && !double.IsInfinity(number)
                && Math.Abs(number) < int.MaxValue
                ? Math.Max(1, Math.Round(number, MidpointRounding.AwayFromZero)).ToString(CultureInfo.InvariantCulture)
                : "7";
    }
}
