using System;
using System.Globalization;
using System.Management.Automation;
using HexCost.Credits;

namespace HexCost.Commands.Infrastructure
{
    /// <summary>
    /// Binds a credit or money amount (a decimal parameter): numbers as they are, text with a dot or a comma for decimals
    /// as <see cref="AmountText"/> reads it ("1,5" is 1.5, never 15 as PowerShell's own conversion makes it; "1,500" is
    /// refused as ambiguous), and NaN or Infinity refused with a message that says what to give.
    /// </summary>
    [AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
    public sealed class AmountTransformationAttribute : ArgumentTransformationAttribute
    {
        public override object? Transform(EngineIntrinsics engineIntrinsics, object? inputData)
        {
            var value = inputData is PSObject wrapped ? wrapped.BaseObject : inputData;
            switch (value)
            {
                case null:
                case decimal _:
                    return value;
                case double number:
                    return FromDouble(number);
                case float number:
                    return FromDouble(number);
                case int _:
                case long _:
                case short _:
                case byte _:
                case uint _:
                case ulong _:
                case ushort _:
                case sbyte _:
                    return Convert.ToDecimal(value, CultureInfo.InvariantCulture);
                case string text:
                    var convention = CultureInfo.CurrentCulture.NumberFormat.NumberDecimalSeparator == ","
                        ? DecimalConvention.UnknownCommaCulture : DecimalConvention.Unknown;
                    if (AmountText.TryParse(text, convention, out var amount, out var problem)) return amount;
                    throw new ArgumentTransformationMetadataException($"The amount {problem}. Give a number such as 500 or 12.5.");
                default:
                    // Anything else PowerShell converts to decimal as usual, or refuses with its own binding error.
                    return inputData;
            }
        }

        private static decimal FromDouble(double number)
        {
            if (double.IsNaN(number) || double.IsInfinity(number))
            {
                throw new ArgumentTransformationMetadataException(
                    $"{number.ToString(CultureInfo.InvariantCulture)} is not an amount. Give a number such as 500 or 12.5.");
            }
            if (Math.Abs(number) >= 7.9e28)
            {
                throw new ArgumentTransformationMetadataException(
                    $"{number.ToString("R", CultureInfo.InvariantCulture)} is too large an amount. Give a number such as 500 or 12.5.");
            }
            return (decimal)number;
        }
    }

    /// <summary>The range of a decimal amount parameter (ValidateRange cannot hold decimal limits and refuses decimals
    /// against its Int32 ones). $null passes: whether a parameter allows it is the cmdlet's to say.</summary>
    [AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
    public sealed class ValidateAmountAttribute : ValidateArgumentsAttribute
    {
        private readonly decimal _minimum;
        private readonly decimal _maximum;

        /// <param name="what">What the amount is, for the message, e.g. "an amount in your billing currency".</param>
        public ValidateAmountAttribute(double minimum, double maximum, string what)
        {
            _minimum = (decimal)minimum;
            _maximum = (decimal)maximum;
            What = what;
        }

        public string What { get; }

        protected override void Validate(object arguments, EngineIntrinsics engineIntrinsics)
        {
            var value = arguments is PSObject wrapped ? wrapped.BaseObject : arguments;
            if (!(value is decimal amount) || (amount >= _minimum && amount <= _maximum)) return;
            var limits = $"from {_minimum.ToString(CultureInfo.InvariantCulture)} to {_maximum.ToString(CultureInfo.InvariantCulture)}";
            throw new ValidationMetadataException(
                $"{amount.ToString(CultureInfo.InvariantCulture)} is {(amount < _minimum ? "below" : "above")} what HexCost accepts here. Give {What} {limits}.");
        }
    }
}
