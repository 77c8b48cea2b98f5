# Pester 5.1+: every type HexCost writes goes through Export-Csv and back through Import-Csv without losing anything.
BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $typeCases = @($HexCostOutputTypes | ForEach-Object { @{ TypeName = $_ } })
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $null = Import-HexCostUnderTest
}

Describe 'Export-Csv and Import-Csv' -Tag 'CI' {
    BeforeAll {
        $emulator = Start-HexEmulator -RunMilliseconds 200 -PendingMilliseconds 20

        # One sample of each output type, from the cmdlet that writes it.
        $samples = @{}
        $samples['HexCost.Session'] = @(Connect-HexTest -Emulator $emulator -StatePath $TestDrive)
        $samples['HexCost.Project'] = @(Get-HexProject -ErrorAction Stop)
        $project = Get-PublishedHexProject
        $samples['HexCost.Run'] = @(Invoke-HexRun -ProjectId $project.ProjectId -InputParameters @{ region = 'EU' } -Wait -ErrorAction Stop) +
            @(Get-HexRun -ProjectId $project.ProjectId -First 5 -ErrorAction Stop)
        $samples['HexCost.ScheduleFinding'] = @(Get-HexScheduleAudit -ErrorAction Stop)
        $samples['HexCost.CreditBalance'] = @(Get-HexCreditBalance -Plan Team -ErrorAction Stop)
        $samples['HexCost.CreditSummary'] = @(Get-HexCreditBalance -Plan Team -Workspace -ErrorAction Stop)
        $usage = Join-Path $TestDrive 'usage.csv'
        "Date,Email,Credits`n$(Get-HexUsageTimeThisCycle),someone@example.com,3.5`n" | Set-Content -Path $usage -Encoding UTF8
        $samples['HexCost.CreditUsageImport'] = @(Import-HexCreditUsage -Path $usage -ErrorAction Stop)
        $samples['HexCost.SpendPolicy'] = @(Set-HexSpendLimit -MonthlyAddOnLimit 250 -AlertThreshold 50, 100 -WeeklyRunBudget 100 -PassThru -Confirm:$false -ErrorAction Stop)
        $samples['HexCost.SpendPolicyChange'] = @(Get-HexSpendLimit -History -ErrorAction Stop)
        $samples['HexCost.RunReport'] = @(Get-HexRunReport -ErrorAction Stop)
        $samples['HexCost.CostReport'] = @(Export-HexCostReport -Path (Join-Path $TestDrive 'report.html') -PassThru -Confirm:$false -ErrorAction Stop)
        $samples['HexCost.StateCopy'] = @(Copy-HexState -Destination (Join-Path $TestDrive 'copy') -PassThru -Confirm:$false -ErrorAction Stop)
    }

    AfterAll {
        Disconnect-Hex -ErrorAction SilentlyContinue
        Stop-HexEmulator -Emulator $emulator
    }

    It 'round-trips <TypeName>' -TestCases $typeCases {
        param($TypeName)
        $objects = @($samples[$TypeName])
        $objects.Count | Should -BeGreaterThan 0 -Because "the emulator's workspace yields at least one $TypeName"
        Assert-HexCsvRoundTrip -InputObject $objects -TypeName $TypeName -Path (Join-Path $TestDrive "$TypeName.csv")
    }
}
