# Pester 5.1+: credit balances, usage import, spend policy and the run report against the Hex emulator.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $null = Import-HexCostUnderTest
}

Describe 'Credits and the spend guard' -Tag 'CI' {
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

    It 'writes one flat balance row per user that round-trips through Export-Csv' {
        $rows = @(Get-HexCreditBalance -Plan Team -ErrorAction Stop)
        $rows.Count | Should -BeGreaterThan 0
        $rows[0].PSObject.TypeNames | Should -Contain 'HexCost.CreditBalance'
        $csv = Join-Path $TestDrive 'credits.csv'
        $rows | Export-Csv -Path $csv -NoTypeInformation
        @(Import-Csv -Path $csv).Count | Should -Be $rows.Count
        foreach ($row in $rows) { $row.SeatType | Should -BeIn 'Editor', 'Explorer', 'None' }
    }

    It 'summarises the workspace in one row' {
        $summary = @(Get-HexCreditBalance -Plan Enterprise -Workspace -ErrorAction Stop)
        $summary.Count | Should -Be 1
        $summary[0].PSObject.TypeNames | Should -Contain 'HexCost.CreditSummary'
        $summary[0].Evidence | Should -Match 'estimate'
    }

    It 'imports usage once however often the file is imported' {
        $csv = Join-Path $TestDrive 'usage.csv'
        "Date,Email,Credits`n$(Get-HexUsageTimeThisCycle),someone@example.com,3`n" | Set-Content -Path $csv -Encoding utf8
        (Import-HexCreditUsage -Path $csv).Imported | Should -Be 1
        (Import-HexCreditUsage -Path $csv).Duplicates | Should -Be 1
    }

    It 'keeps the spend policy, changes nothing with -WhatIf, and keeps the history' {
        Set-HexSpendLimit -MonthlyAddOnLimit 500 -AlertThreshold 80, 90, 100 -WeeklyRunBudget 500 -MaxRunsPerProjectPerWeek 20 -WhatIf
        (Get-HexSpendLimit).MonthlyAddOnLimit | Should -BeNullOrEmpty
        $policy = Set-HexSpendLimit -MonthlyAddOnLimit 500 -WeeklyRunBudget 500 -PassThru
        $policy.PSObject.TypeNames | Should -Contain 'HexCost.SpendPolicy'
        $policy.SetInHex | Should -Match '500'
        @(Get-HexSpendLimit -History).Count | Should -Be 2
    }

    It 'refuses runs over the budget with HexRunBudgetExceeded, and -IgnoreRunBudget overrides' {
        Set-HexSpendLimit -MaxRunsPerProjectPerWeek 1
        $project = Get-HexProject | Where-Object { $_.LastPublishedAt -and $_.Title -notlike 'Failing*' } | Select-Object -First 1
        $null = $project | Invoke-HexRun -ErrorAction Stop
        $null = $project | Invoke-HexRun -ErrorAction SilentlyContinue -ErrorVariable refused
        $refused[0].FullyQualifiedErrorId | Should -BeLike 'HexRunBudgetExceeded*'
        ($project | Invoke-HexRun -IgnoreRunBudget -WarningAction SilentlyContinue).RunId | Should -Not -BeNullOrEmpty
        (Get-HexRunReport | Where-Object ProjectId -eq $project.ProjectId).Forced | Should -Be 1
    }
}
