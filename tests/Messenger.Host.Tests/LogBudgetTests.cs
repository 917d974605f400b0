using Messenger.Shared.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Messenger.Host.Tests;

public sealed class LogBudgetTests
{
    [Fact]
    public void TenLinesPerWindow_TheRestCounted_AndReportedWithTheNextLineWritten()
    {
        var clock = new FakeTimeProvider();
        var budget = new LogBudget(clock, perWindow: 10, window: TimeSpan.FromSeconds(10));
        for (var i = 0; i < 10; i++)
        {
            Assert.True(budget.TryTake(out var none));
            Assert.Equal(0, none);
        }

        for (var i = 0; i < 1000; i++)
        {
            Assert.False(budget.TryTake(out _));
        }

        clock.Advance(TimeSpan.FromSeconds(9.9));
        Assert.False(budget.TryTake(out _));
        clock.Advance(TimeSpan.FromSeconds(0.1));
        Assert.True(budget.TryTake(out var leftOut));
        Assert.Equal(1001, leftOut);
        Assert.True(budget.TryTake(out var again));
        Assert.Equal(0, again);
        Assert.Equal(1001, budget.Suppressed);
    }
}
