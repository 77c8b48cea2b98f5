# Pester 5.1+: Get-HexScheduleAudit meets bad input as an admin's script gives it, in real pwsh: each case is refused as it
# binds or before anything is sent to Hex (the emulator counts every request), with an error that names the parameter and
# says what to type instead; nothing is silently ignored.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $null = Import-HexCostUnderTest

    function Get-HexErrorMessage {
        param([Parameter(Mandatory = $true)] [System.Management.Automation.ErrorRecord] $Record)
        if ($Record.ErrorDetails -and $Record.ErrorDetails.Message) { return $Record.ErrorDetails.Message }
        return $Record.Exception.Message
    }

    function Assert-RefusedBeforeSending {
        # $Block fails with one error whose id starts with $Id and whose message matches every $Says, and sends nothing to Hex.
        param([Parameter(Mandatory = $true)] [scriptblock] $Block, [string] $Id, [string[]] $Says)
        $before = Get-HexRequestCount -Emulator $emulator
        $captured = Invoke-HexCapture $Block
        $after = Get-HexRequestCount -Emulator $emulator
        @($captured.Errors).Count | Should -Be 1 -Because 'the bad value is one error'
        @($captured.Output).Count | Should -Be 0 -Because 'nothing is audited'
        $captured.Errors[0].FullyQualifiedErrorId | Should -BeLike "$Id*"
        $message = Get-HexErrorMessage $captured.Errors[0]
        foreach ($text in $Says) { $message | Should -Match ([regex]::Escape($text)) }
        $after | Should -Be $before -Because 'nothing is sent to Hex'
        return $captured.Errors[0]
    }
}

Describe 'Get-HexScheduleAudit with bad input' -Tag 'CI' {
    BeforeAll {
        $emulator = Start-HexEmulator
        $session = Connect-HexTest -Emulator $emulator -StatePath $TestDrive
        $projects = @(Get-HexProject -ErrorAction Stop)
        $hourly = @($projects | Where-Object { $_.Cadences -like '*HOURLY*' -and $null -ne $_.LastPublishedAt -and $null -eq $_.ArchivedAt -and $null -eq $_.TrashedAt })[0]
        $ruleNames = @([HexCost.Audit.AuditRules]::All | ForEach-Object { $_.Name })
    }
    AfterAll {
        Disconnect-Hex -ErrorAction SilentlyContinue
        Stop-HexEmulator -Emulator $emulator
    }

    Context '-Rule comes from the rule registry' {
        It 'the registry holds the nine documented rules' {
            $ruleNames | Should -Be @('OverScheduled', 'RunBudgetOverrun', 'Abandoned', 'ScheduledButArchived', 'FailingSchedule',
                'ScheduleCollision', 'DuplicateProject', 'IdleEditorSeat', 'DisabledSchedule')
        }

        It 'an unknown rule is refused as it binds, with every rule listed' {
            $record = Assert-RefusedBeforeSending { Get-HexScheduleAudit -Rule Nope } -Id 'ParameterArgumentValidationError,' -Says @("'Nope' is not an audit rule", 'Rule', 'Tab')
            foreach ($name in $ruleNames) { (Get-HexErrorMessage $record) | Should -Match "\b$name\b" }
            $record.CategoryInfo.Category | Should -Be 'InvalidData'
        }

        It 'a blank rule is refused, and a rule pasted with spaces or in another case is the rule' {
            $null = Assert-RefusedBeforeSending { Get-HexScheduleAudit -Rule '  ' } -Id 'ParameterArgumentValidationError,' -Says @('is not an audit rule')
            $null = Assert-RefusedBeforeSending { Get-HexScheduleAudit -Rule @() } -Id 'ParameterArgumentValidationError,' -Says @('Rule')
            $findings = @(Get-HexScheduleAudit -ProjectId $hourly.ProjectId -Rule ' overscheduled ' -ErrorAction Stop)
            $findings.Rule | Should -Be @('OverScheduled')
        }

        It 'TabExpansion2 completes every rule, each with what it finds' {
            $line = 'Get-HexScheduleAudit -Rule '
            $completions = @((TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches)
            @($completions | ForEach-Object CompletionText) | Should -Be $ruleNames
            foreach ($match in $completions) {
                $rule = [HexCost.Audit.AuditRules]::Find($match.CompletionText)
                $match.ToolTip | Should -Be "$($rule.Name): $($rule.Finds)"
            }
            $line = 'Get-HexScheduleAudit -Rule OverScheduled, dup'
            @((TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches | ForEach-Object CompletionText) | Should -Be @('DuplicateProject')
        }
    }

    Context '-ProjectId is checked before it is sent' {
        It 'a non-UUID id is a HexCost error naming -ProjectId with what an id looks like, and nothing is sent' {
            $record = Assert-RefusedBeforeSending { Get-HexScheduleAudit -ProjectId 'Revenue dashboard' } -Id 'HexProjectNotFound,' -Says @('-ProjectId', "'Revenue dashboard'", '5a8591dd-4039-49df-9202-96385ba3eff8')
            $record.TargetObject | Should -Be 'Revenue dashboard'
        }

        It 'a bad id among good ones is one error; the good ones are audited, and no workspace audit happens instead' {
            $captured = Invoke-HexCapture { 'not-an-id', $hourly.ProjectId | Get-HexScheduleAudit -Rule OverScheduled }
            @($captured.Errors | ForEach-Object FullyQualifiedErrorId) | Should -Be @('HexProjectNotFound,HexCost.Commands.GetHexScheduleAuditCommand')
            @($captured.Output | ForEach-Object ProjectId) | Should -Be @($hourly.ProjectId)
            $null = Assert-RefusedBeforeSending { 'x' * 100000 | Get-HexScheduleAudit } -Id 'HexProjectNotFound,' -Says @('(100000 characters)')
        }

        It 'an id read with a line break, or piped twice, is audited once' {
            $findings = @("$($hourly.ProjectId)`n", $hourly.ProjectId.ToUpperInvariant() | Get-HexScheduleAudit -Rule OverScheduled -ErrorAction Stop)
            @($findings | ForEach-Object ProjectId) | Should -Be @($hourly.ProjectId)
        }
    }

    Context 'numbers out of range are refused as they bind' {
        It '-Days <Days> is refused' -TestCases @(@{ Days = 0 }, @{ Days = -1 }, @{ Days = 100000 }) {
            $null = Assert-RefusedBeforeSending { Get-HexScheduleAudit -Days $Days } -Id 'ParameterArgumentValidationError,' -Says @("'Days'")
        }

        It '-<Name> <Value> says the range, not a type mismatch' -TestCases @(
            @{ Name = 'EditorSeatPrice'; Value = [decimal]3000000000; Says = '100000' }
            @{ Name = 'EditorSeatPrice'; Value = -1; Says = '0' }
            @{ Name = 'MaxRunsPerWeek'; Value = 1e10; Says = '100000' }
            @{ Name = 'MaxRunsPerWeek'; Value = [double]::NaN; Says = '0' }
            @{ Name = 'MaxRunsPerWeek'; Value = [double]::PositiveInfinity; Says = '100000' }
        ) {
            $arguments = @{ $Name = $Value }
            $record = Assert-RefusedBeforeSending { Get-HexScheduleAudit @arguments } -Id 'ParameterArgumentValidationError,' -Says @("'$Name'", $Says)
            (Get-HexErrorMessage $record) | Should -Not -Match 'is not the same type'
        }
    }

    Context '-DataRefreshInterval' {
        It '<What> is a HexInvalidDataRefreshInterval error that says <Says>' -TestCases @(
            @{ What = 'a negative time span'; Value = (New-TimeSpan -Hours -1); Says = 'longer than zero' }
            @{ What = 'a zero time span'; Value = [timespan]::Zero; Says = 'longer than zero' }
            @{ What = "'0d'"; Value = '0d'; Says = 'longer than zero' }
            @{ What = "'-2h'"; Value = '-2h'; Says = 'longer than zero' }
            @{ What = 'zero days'; Value = 0; Says = 'longer than zero' }
            @{ What = 'a second'; Value = (New-TimeSpan -Seconds 1); Says = 'between 1 minute and 10 years' }
            @{ What = '[timespan]::MaxValue'; Value = [timespan]::MaxValue; Says = 'between 1 minute and 10 years' }
            @{ What = 'NaN days'; Value = [double]::NaN; Says = 'is not an interval' }
            @{ What = "'sometimes'"; Value = 'sometimes'; Says = "'1d'" }
            @{ What = 'an empty string'; Value = ''; Says = 'is not an interval' }
            @{ What = 'a list'; Value = @('1d', '6h'); Says = 'not an interval' }
            @{ What = 'a project title as a key'; Value = @{ 'Revenue dashboard' = '6h' }; Says = "'Revenue dashboard' is not a project id" }
            @{ What = 'an empty interval of a project'; Value = @{ '5a8591dd-4039-49df-9202-96385ba3eff8' = $null }; Says = 'empty' }
            @{ What = 'a nested hashtable'; Value = @{ Default = @{ x = 1 } }; Says = 'Hashtable, not an interval' }
        ) {
            $record = Assert-RefusedBeforeSending { Get-HexScheduleAudit -DataRefreshInterval $Value } -Id 'HexInvalidDataRefreshInterval,' -Says @('-DataRefreshInterval', $Says)
            $record.CategoryInfo.Category | Should -Be 'InvalidArgument'
        }

        It '$null is refused as it binds' {
            $null = Assert-RefusedBeforeSending { Get-HexScheduleAudit -DataRefreshInterval $null } -Id 'ParameterArgumentValidationError,' -Says @('DataRefreshInterval')
        }

        It 'an id no audited project has is a warning naming it' {
            $unknown = [guid]::NewGuid().ToString()
            $captured = Invoke-HexCapture { Get-HexScheduleAudit -ProjectId $hourly.ProjectId -Rule OverScheduled -DataRefreshInterval @{ $unknown = '6h'; $hourly.ProjectId = '30m' } }
            @($captured.Errors).Count | Should -Be 0
            @($captured.Warnings).Count | Should -Be 1
            $captured.Warnings[0] | Should -Match ([regex]::Escape($unknown))
            $captured.Warnings[0] | Should -Not -Match ([regex]::Escape($hourly.ProjectId))
            @($captured.Output).Count | Should -Be 0 -Because 'the hourly project is set to refresh hourly'
        }

        It 'the map ConvertFrom-Json reads from a settings file works like a hashtable' {
            $json = '{ "Default": "1h", "' + $hourly.ProjectId + '": "1d" }' | ConvertFrom-Json
            $finding = @(Get-HexScheduleAudit -ProjectId $hourly.ProjectId -Rule OverScheduled -DataRefreshInterval $json -ErrorAction Stop)
            $finding.Count | Should -Be 1
            $finding[0].RecommendedCadence | Should -Be 'DAILY'
        }

        It 'plain numbers are days, like 1d' {
            $days = @(Get-HexScheduleAudit -ProjectId $hourly.ProjectId -Rule OverScheduled -DataRefreshInterval 2 -ErrorAction Stop)
            $quoted = @(Get-HexScheduleAudit -ProjectId $hourly.ProjectId -Rule OverScheduled -DataRefreshInterval '2d' -ErrorAction Stop)
            $days[0].EstimatedRunsSavedPerWeek | Should -Be $quoted[0].EstimatedRunsSavedPerWeek
            $half = @(Get-HexScheduleAudit -ProjectId $hourly.ProjectId -Rule OverScheduled -DataRefreshInterval ([double]0.5) -ErrorAction Stop)
            $half[0].RecommendedCadence | Should -Be 'CUSTOM (0 */12 * * *)'
        }
    }

    Context 'savings add up' {
        It 'the sum of EstimatedRunsSavedPerWeek over each project never exceeds its scheduled runs a week' {
            $findings = @(Get-HexScheduleAudit -ErrorAction Stop | Where-Object ProjectId)
            $findings.Count | Should -BeGreaterThan 0
            foreach ($group in ($findings | Where-Object Rule -ne 'ScheduleCollision' | Group-Object ProjectId)) {
                $sum = ($group.Group | Measure-Object -Property EstimatedRunsSavedPerWeek -Sum).Sum
                $sum | Should -BeLessOrEqual ($group.Group[0].RunsPerWeek + 1e-9) -Because "$($group.Name) runs $($group.Group[0].RunsPerWeek) a week"
            }
        }
    }
}
