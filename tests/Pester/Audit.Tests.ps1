# Pester 5.1+: Get-HexScheduleAudit against the Hex emulator's demo workspace.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $null = Import-HexCostUnderTest
}

Describe 'Get-HexScheduleAudit' -Tag 'CI' {
    BeforeAll {
        $emulator = Start-HexEmulator -RunMilliseconds 200 -PendingMilliseconds 20
    }

    AfterAll {
        Disconnect-Hex -ErrorAction SilentlyContinue
        Stop-HexEmulator -Emulator $emulator
    }

    BeforeEach {
        $session = Connect-HexTest -Emulator $emulator -StatePath $TestDrive
    }

    AfterEach {
        Disconnect-Hex -ErrorAction SilentlyContinue
    }

    It 'audits the whole workspace into flat rows that round-trip through Export-Csv' {
        $findings = @(Get-HexScheduleAudit -ErrorAction Stop)
        $findings.Count | Should -BeGreaterThan 0
        $findings[0].PSObject.TypeNames | Should -Contain 'HexCost.ScheduleFinding'
        $csv = Join-Path $TestDrive 'audit.csv'
        $findings | Export-Csv -Path $csv -NoTypeInformation
        $rows = @(Import-Csv -Path $csv)
        $rows.Count | Should -Be $findings.Count
        (@($rows[0].PSObject.Properties | ForEach-Object { $_.Name }) -join ',') | Should -Be ($HexScheduleFindingProperties -join ',')
        foreach ($row in $rows) { $row.Severity | Should -BeIn 'Info', 'Warning', 'Critical' }
    }

    It 'sorts by savings and filters with Where-Object and Sort-Object' {
        $findings = @(Get-HexScheduleAudit -DataRefreshInterval 1d -Days 28 -ErrorAction Stop)
        $saved = @($findings | ForEach-Object EstimatedRunsSavedPerWeek)
        $saved | Should -Be @($saved | Sort-Object -Descending)
        $warnings = @(Get-HexScheduleAudit | Where-Object Severity -ne 'Info' | Sort-Object EstimatedRunsSavedPerWeek -Descending)
        $warnings | ForEach-Object { $_.Severity | Should -Not -Be 'Info' }
    }

    It 'audits one piped project' {
        $project = Get-HexProject | Where-Object { $_.Cadences -like '*HOURLY*' } | Select-Object -First 1
        $findings = @($project | Get-HexScheduleAudit -Rule OverScheduled -ErrorAction Stop)
        $findings.Count | Should -Be 1
        $findings[0].ProjectId | Should -Be $project.ProjectId
        $findings[0].RecommendedCadence | Should -Be 'DAILY'
    }

    It 'rejects a bad -DataRefreshInterval with HexInvalidDataRefreshInterval' {
        { Get-HexScheduleAudit -DataRefreshInterval 'sometimes' -ErrorAction Stop } | Should -Throw -ErrorId 'HexInvalidDataRefreshInterval*'
    }
}
