using System;
using System.Management.Automation;
using Xunit;

namespace HexCost.Tests.Infrastructure
{
    internal static class Shape
    {
        /// <summary>What Export-Csv writes well: every property a scalar, nothing nested.</summary>
        public static void AssertFlat(PSObject obj)
        {
            foreach (var property in obj.Properties)
            {
                var value = property.Value is PSObject wrapped ? wrapped.BaseObject : property.Value;
                if (value == null) continue;
                var type = value.GetType();
                Assert.True(type.IsPrimitive || type.IsEnum || value is string || value is DateTime || value is DateTimeOffset || value is decimal || value is Guid || value is TimeSpan,
                    $"{property.Name} is a {type.Name}, which Export-Csv cannot write as one cell.");
            }
        }
    }
}
