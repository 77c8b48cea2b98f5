# Pester 5.1+: what keeps HexCost safe to schedule: -WhatIf changes nothing, -IdempotencyKey starts one run, the token
# never leaks, state files are the owner's only.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $null = Import-HexCostUnderTest
}

Describe 'Safety' -Tag 'CI' {
    BeforeAll {
        # Runs take 3 s, so a run started without -Wait is still going when the test looks at it.
        $emulator = Start-HexEmulator -RunMilliseconds 3000 -PendingMilliseconds 20
    }

    AfterAll {
        Disconnect-Hex -ErrorAction SilentlyContinue
        Stop-HexEmulator -Emulator $emulator
    }

    BeforeEach {
        $session = Connect-HexTest -Emulator $emulator -StatePath $TestDrive
        $project = Get-PublishedHexProject
    }

    AfterEach {
        Disconnect-Hex -ErrorAction SilentlyContinue
    }

    It 'changes nothing with -WhatIf: no run started or stopped, no usage imported, no policy set, no report written' {
        $apiRuns = @(Get-HexRun -ProjectId $project.ProjectId -Trigger API -ErrorAction Stop).Count
        @(Invoke-HexRun -ProjectId $project.ProjectId -WhatIf).Count | Should -Be 0
        @(Get-HexRun -ProjectId $project.ProjectId -Trigger API -ErrorAction Stop).Count | Should -Be $apiRuns

        $run = Invoke-HexRun -ProjectId $project.ProjectId -ErrorAction Stop
        Stop-HexRun -ProjectId $project.ProjectId -RunId $run.RunId -WhatIf
        (Get-HexRun -ProjectId $project.ProjectId -RunId $run.RunId -ErrorAction Stop).Status | Should -BeIn @('PENDING', 'RUNNING')
        Stop-HexRun -ProjectId $project.ProjectId -RunId $run.RunId -Confirm:$false -ErrorAction Stop

        $usage = Join-Path $TestDrive 'usage-whatif.csv'
        "Date,Email,Credits`n$(Get-HexUsageTimeThisCycle),someone@example.com,3`n" | Set-Content -Path $usage -Encoding UTF8
        @(Import-HexCreditUsage -Path $usage -WhatIf).Count | Should -Be 0
        (Import-HexCreditUsage -Path $usage -Confirm:$false -ErrorAction Stop).Imported | Should -Be 1 -Because '-WhatIf imported nothing'

        Set-HexSpendLimit -MonthlyAddOnLimit 100 -WhatIf
        (Get-HexSpendLimit -ErrorAction Stop).MonthlyAddOnLimit | Should -BeNullOrEmpty

        $report = Join-Path $TestDrive 'whatif.html'
        Export-HexCostReport -Path $report -WhatIf
        Test-Path -LiteralPath $report | Should -BeFalse

        $copy = Join-Path $TestDrive 'copy-whatif'
        Copy-HexState -Destination $copy -WhatIf
        Test-Path -LiteralPath $copy | Should -BeFalse -Because '-WhatIf creates no state folder'
    }

    It 'starts one run for one -IdempotencyKey, however often it is called' {
        $apiRuns = @(Get-HexRun -ProjectId $project.ProjectId -Trigger API -ErrorAction Stop).Count
        $key = 'pester-' + [guid]::NewGuid().ToString('N')

        $first = Invoke-HexRun -ProjectId $project.ProjectId -IdempotencyKey $key -ErrorAction Stop
        $again = Invoke-HexRun -ProjectId $project.ProjectId -IdempotencyKey $key -ErrorAction Stop
        $waited = Invoke-HexRun -ProjectId $project.ProjectId -IdempotencyKey $key -Wait -ErrorAction Stop

        $first.RunId | Should -Not -BeNullOrEmpty
        $again.RunId | Should -Be $first.RunId
        $waited.RunId | Should -Be $first.RunId
        $waited.Status | Should -Be 'COMPLETED'
        @(Get-HexRun -ProjectId $project.ProjectId -Trigger API -ErrorAction Stop).Count | Should -Be ($apiRuns + 1)
    }

    It 'never writes the token to a stream, an error, a state file or the report' {
        $report = Join-Path $TestDrive 'secrets.html'
        # Errors are part of what is checked: they must not stop the block.
        $ErrorActionPreference = 'Continue'
        # Preference variables (local to this test) rather than -Debug: on Windows PowerShell 5.1 -Debug asks before each message.
        $VerbosePreference = 'Continue'
        $DebugPreference = 'Continue'
        $InformationPreference = 'Continue'
        $WarningPreference = 'Continue'
        $records = @(& {
            Get-HexProject
            Invoke-HexRun -ProjectId $project.ProjectId -Wait
            Invoke-HexRun -ProjectId ([guid]::NewGuid().ToString())
            Get-HexRun -ProjectId $project.ProjectId -First 3
            Get-HexScheduleAudit
            Get-HexCreditBalance -Plan Team
            Set-HexSpendLimit -WeeklyRunBudget 100 -PassThru -Confirm:$false
            Get-HexSpendLimit -History
            Get-HexRunReport
            Export-HexCostReport -Path $report -PassThru -Confirm:$false
            Copy-HexState -Destination (Join-Path $TestDrive 'copy-secrets') -PassThru -Confirm:$false -Verbose
            # A wrong token is a terminating error (HexAuthFailed): its record is checked like the others.
            try {
                Connect-Hex -Token (ConvertTo-SecureString -String ('hxtw_' + ('1' * 96)) -AsPlainText -Force) -BaseUri $emulator.BaseUri -StatePath (New-HexTestStatePath -Root $TestDrive)
            }
            catch {
                $_
            }
        } *>&1)

        @($records | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Count | Should -BeGreaterThan 0
        @($records | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] }).Count | Should -BeGreaterOrEqual 1 -Because 'an unknown project fails (and a wrong token)'
        $text = ($records | Out-String -Width 4096) + "`n" +
            (@($records | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] } | ForEach-Object { $_.Exception.ToString() }) -join "`n")
        # The whole token, and a piece of it (a truncated or partly masked token leaks too).
        $secrets = @($emulator.Token, $emulator.Token.Substring(5, 20))
        foreach ($secret in $secrets) {
            $text.Contains($secret) | Should -BeFalse -Because 'no stream or error may show the token'
            (Get-Content -LiteralPath $report -Raw).Contains($secret) | Should -BeFalse -Because 'the report must not hold the token'
        }
        $files = @(Get-ChildItem -LiteralPath $session.StatePath -Recurse -File)
        $files.Count | Should -BeGreaterThan 0
        foreach ($file in $files) {
            foreach ($secret in $secrets) {
                (Read-SharedFile -Path $file.FullName).Contains($secret) | Should -BeFalse -Because "$($file.FullName) must not hold the token"
            }
            # PowerShell 7 on Windows: only the current user is in the file's ACL.
            if ($PSVersionTable.PSEdition -eq 'Core' -and [System.Environment]::OSVersion.Platform -eq [System.PlatformID]::Win32NT -and
                $file.FullName -match '[\\/]workspaces[\\/]' -and $file.Extension -ne '.lock') {
                $me = [System.Security.Principal.WindowsIdentity]::GetCurrent().User
                $others = @((Get-Acl -LiteralPath $file.FullName).Access | Where-Object {
                        $_.IdentityReference.Translate([System.Security.Principal.SecurityIdentifier]) -ne $me })
                $others.Count | Should -Be 0 -Because "$($file.FullName) is the owner's only"
            }
            # PowerShell 7.3+ on Linux and macOS: no read or write for group or others (lock files hold nothing).
            if ($file.PSObject.Properties['UnixMode'] -and $file.UnixMode -and $file.FullName -match '[\\/]workspaces[\\/]' -and $file.Extension -ne '.lock') {
                $file.UnixMode.Substring(4, 2) + $file.UnixMode.Substring(7, 2) | Should -Be '----' -Because "$($file.FullName) ($($file.UnixMode)) is the owner's only"
            }
        }
    }
}
