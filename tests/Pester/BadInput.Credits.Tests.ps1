# Pester 5.1+: bad input to the credit, spend policy, session and report cmdlets (Import-HexCreditUsage, Get-HexCreditBalance,
# Set-HexSpendLimit, Connect-Hex, Export-HexCostReport) as an admin's script meets it in real pwsh: one clear HexCost error
# (or PowerShell's own binding error, with HexCost's message naming the parameter), a clear warning where HexCost goes on,
# nothing sent to Hex for what is refused locally, and nothing silently misread.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $null = Import-HexCostUnderTest

    function New-HexUsageFile {
        # A usage CSV under $TestDrive with the given text; returns its path.
        param([Parameter(Mandatory = $true)] [string] $Text, [string] $Name = ('usage-' + [guid]::NewGuid().ToString('N') + '.csv'), [string] $Folder = $TestDrive)
        $path = Join-Path $Folder $Name
        [System.IO.File]::WriteAllText($path, $Text, (New-Object System.Text.UTF8Encoding -ArgumentList $false))
        return $path
    }

    function Get-HexCreditsUsed {
        # What the balance counts as used this cycle by $Email (imported usage only).
        param([Parameter(Mandatory = $true)] [string] $Email)
        $row = @(Get-HexCreditBalance -Plan Team -UsageOnly -ErrorAction Stop | Where-Object { $_.Email -eq $Email })
        $row.Count | Should -Be 1 -Because "the balance has one row for $Email"
        return $row[0].CreditsUsed
    }

    function Invoke-HexInNewRunspace {
        <#
        Runs $Script (with -ArgumentList) in a new runspace of this process that imported the module under test, and
        returns its Output, Errors and Warnings. The runspace has no host, so a prompt (ShouldContinue) cannot be shown
        there and fails instead of waiting for a keypress.
        #>
        param([Parameter(Mandatory = $true)] [scriptblock] $Script, [object[]] $ArgumentList = @())
        $state = [System.Management.Automation.Runspaces.InitialSessionState]::CreateDefault2()
        if ([System.Environment]::OSVersion.Platform -eq [System.PlatformID]::Win32NT -and $state.PSObject.Properties['ExecutionPolicy']) {
            $state.ExecutionPolicy = [Microsoft.PowerShell.ExecutionPolicy]::Bypass
        }
        $runspace = [System.Management.Automation.Runspaces.RunspaceFactory]::CreateRunspace($state)
        $shell = [System.Management.Automation.PowerShell]::Create()
        try {
            $runspace.Open()
            $shell.Runspace = $runspace
            $null = $shell.AddCommand('Import-Module').AddParameter('Name', (Get-HexCostManifestPath)).AddParameter('ErrorAction', 'Stop')
            $null = $shell.Invoke()
            $shell.Commands.Clear()
            $null = $shell.AddScript($Script.ToString())
            foreach ($argument in $ArgumentList) { $null = $shell.AddArgument($argument) }
            $output = @($shell.Invoke())
            return [pscustomobject]@{
                Output   = $output
                Errors   = @($shell.Streams.Error)
                Warnings = @($shell.Streams.Warning | ForEach-Object { $_.Message })
            }
        }
        finally {
            $shell.Dispose()
            $runspace.Dispose()
        }
    }

    function Get-HexCycleStart {
        # The first instant (UTC) of the billing cycle (from the 1st) that holds Get-HexUsageTimeThisCycle.
        $inCycle = [datetime]::Parse((Get-HexUsageTimeThisCycle), [System.Globalization.CultureInfo]::InvariantCulture,
            [System.Globalization.DateTimeStyles]::AdjustToUniversal)
        return (New-Object -TypeName System.DateTime -ArgumentList @($inCycle.Year, $inCycle.Month, 1, 0, 0, 0, [System.DateTimeKind]::Utc))
    }

    function Set-HexCreditSnapshot {
        # Writes the cached credit reading (credit-snapshot.json) of $Session's workspace, as Get-HexCreditBalance -Workspace keeps it.
        param([Parameter(Mandatory = $true)] $Session, [datetime] $CycleStart, [datetime] $At, [decimal] $AddOnSpend, [decimal] $ProjectedAddOnSpend)
        $snapshot = [ordered]@{
            at                  = $At.ToString('yyyy-MM-ddTHH:mm:ssZ', [System.Globalization.CultureInfo]::InvariantCulture)
            cycleStart          = $CycleStart.ToString('yyyy-MM-ddTHH:mm:ssZ', [System.Globalization.CultureInfo]::InvariantCulture)
            cycleEnd            = $CycleStart.AddMonths(1).ToString('yyyy-MM-ddTHH:mm:ssZ', [System.Globalization.CultureInfo]::InvariantCulture)
            addOnSpend          = $AddOnSpend
            projectedAddOnSpend = $ProjectedAddOnSpend
        }
        $path = Join-Path $Session.StatePath 'credit-snapshot.json'
        [System.IO.File]::WriteAllText($path, ($snapshot | ConvertTo-Json), (New-Object System.Text.UTF8Encoding -ArgumentList $false))
        return $path
    }
}

Describe 'Import-HexCreditUsage: decimal commas and folders among the files' -Tag 'CI' {
    BeforeAll {
        $emulator = Start-HexEmulator -RunMilliseconds 200 -PendingMilliseconds 20
    }
    AfterAll {
        Disconnect-Hex -ErrorAction SilentlyContinue
        Stop-HexEmulator -Emulator $emulator
    }
    BeforeEach {
        $null = Connect-HexTest -Emulator $emulator -StatePath $TestDrive
        $at = Get-HexUsageTimeThisCycle
    }
    AfterEach {
        Disconnect-Hex -ErrorAction SilentlyContinue
    }

    It 'a credits cell "1,5" is recorded as 1.5 credits, not 15: quoted in a comma CSV and bare in a semicolon CSV' {
        $comma = New-HexUsageFile -Text "Date,Email,Credits`n$at,comma@example.com,`"1,5`"`n"
        $semicolon = New-HexUsageFile -Text "Date;Email;Credits`n$at;semicolon@example.com;1,5`n"

        $imports = @(Import-HexCreditUsage -Path $comma, $semicolon -ErrorAction Stop)

        $imports.Count | Should -Be 2
        foreach ($import in $imports) {
            $import.Imported | Should -Be 1
            $import.Rejected | Should -Be 0
            $import.CreditsImported | Should -Be 1.5
        }
        # What the ledger now holds, as the balance reads it.
        Get-HexCreditsUsed -Email 'comma@example.com' | Should -Be 1.5
        Get-HexCreditsUsed -Email 'semicolon@example.com' | Should -Be 1.5
    }

    It 'a column written with decimal commas reads "2,000" as 2 (its convention), and one that cannot tell "1,500" from 1500 is refused' {
        $european = New-HexUsageFile -Text "Date;Email;Credits`n$at;eu@example.com;0,5`n$at;eu@example.com;2,000`n"
        $import = Import-HexCreditUsage -Path $european -ErrorAction Stop
        $import.CreditsImported | Should -Be 2.5
        Get-HexCreditsUsed -Email 'eu@example.com' | Should -Be 2.5

        $unclear = New-HexUsageFile -Text "Date;Email;Credits`n$at;unclear@example.com;1,500`n"
        $captured = Invoke-HexCapture { Import-HexCreditUsage -Path $unclear }
        $record = Assert-OneHexError $captured 'HexInvalidUsageRow' 'InvalidData' @('1,500', 'ambiguous', '1\.5', '1500', 'line 2')
        $record.TargetObject | Should -Be "${unclear}:2"
        $captured.Output.Count | Should -Be 1
        $captured.Output[0].Rejected | Should -Be 1
        $captured.Output[0].Imported | Should -Be 0
    }

    It 'an unquoted 1,5 in a comma CSV is refused (one field too many), never read as 15 or as 1' {
        $csv = New-HexUsageFile -Text "Date,Email,Credits`n$at,bare@example.com,1,5`n"
        $captured = Invoke-HexCapture { Import-HexCreditUsage -Path $csv }
        $null = Assert-OneHexError $captured 'HexInvalidUsageRow' 'InvalidData' @('4 fields', 'header has 3', '"1,5"', '1\.5')
        $captured.Output[0].Imported | Should -Be 0
        @(Get-HexCreditBalance -Plan Team -UsageOnly -ErrorAction Stop | Where-Object { $_.Email -eq 'bare@example.com' }).Count | Should -Be 0
    }

    It 'a folder among the wildcard matches is skipped with a message naming it, and the files are imported' {
        $folder = Join-Path $TestDrive ('import-' + [guid]::NewGuid().ToString('N'))
        $null = New-Item -ItemType Directory -Path $folder
        $null = New-Item -ItemType Directory -Path (Join-Path $folder 'b-folder.csv')
        $null = New-HexUsageFile -Folder $folder -Name 'a.csv' -Text "Date,Email,Credits`n$at,wild-a@example.com,2`n"
        $null = New-HexUsageFile -Folder $folder -Name 'c.csv' -Text "Date,Email,Credits`n$at,wild-c@example.com,3`n"

        $captured = Invoke-HexCapture { Import-HexCreditUsage -Path (Join-Path $folder '*.csv') -Verbose }

        $captured.Errors.Count | Should -Be 0 -Because "a folder a wildcard happens to match is no error (got: $($captured.Errors -join '; '))"
        @($captured.Verbose | Where-Object { $_ -like '*b-folder.csv*is a folder*skipped*' }).Count | Should -Be 1
        $captured.Output.Count | Should -Be 2
        ($captured.Output | Measure-Object -Property Imported -Sum).Sum | Should -Be 2
        Get-HexCreditsUsed -Email 'wild-a@example.com' | Should -Be 2
        Get-HexCreditsUsed -Email 'wild-c@example.com' | Should -Be 3
    }

    It 'a folder named without a wildcard is HexUsageFileUnreadable naming it, and the other files are imported' {
        $folder = Join-Path $TestDrive ('named-' + [guid]::NewGuid().ToString('N'))
        $null = New-Item -ItemType Directory -Path $folder
        $file = New-HexUsageFile -Text "Date,Email,Credits`n$at,named@example.com,4`n"

        $captured = Invoke-HexCapture { Import-HexCreditUsage -Path $folder, $file }

        $record = Assert-OneHexError $captured 'HexUsageFileUnreadable' 'ReadError' @([regex]::Escape($folder), 'is a folder', '\*\.csv')
        $record.Exception | Should -Not -BeOfType [System.UnauthorizedAccessException]
        $captured.Output.Count | Should -Be 1
        $captured.Output[0].Imported | Should -Be 1
        Get-HexCreditsUsed -Email 'named@example.com' | Should -Be 4
    }

    It 'a wildcard that matches only folders is HexUsageFileNotFound naming the pattern' {
        $folder = Join-Path $TestDrive ('only-' + [guid]::NewGuid().ToString('N'))
        $null = New-Item -ItemType Directory -Path (Join-Path $folder 'x.csv') -Force
        $pattern = Join-Path $folder '*.csv'
        $captured = Invoke-HexCapture { Import-HexCreditUsage -Path $pattern }
        $null = Assert-OneHexError $captured 'HexUsageFileNotFound' 'ObjectNotFound' @([regex]::Escape($pattern), 'only folders')
        $captured.Output.Count | Should -Be 0
    }
}

Describe 'Get-HexCreditBalance and Set-HexSpendLimit: values HexCost cannot use' -Tag 'CI' {
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

    It 'Set-HexSpendLimit -AlertThreshold 0.8 is HexInvalidSpendPolicy showing 80, and the policy keeps its thresholds' {
        $before = (Get-HexSpendLimit -ErrorAction Stop).AlertThreshold
        $captured = Invoke-HexCapture { Set-HexSpendLimit -AlertThreshold 0.8 }
        $record = Assert-OneHexError $captured 'HexInvalidSpendPolicy' 'InvalidArgument' @('-AlertThreshold', '0\.8', 'fraction', '-AlertThreshold 80\b')
        $record.Exception.ParamName | Should -Be 'AlertThreshold'

        $captured = Invoke-HexCapture { Set-HexSpendLimit -AlertThreshold 0.8, 0.9, 1 }
        $null = Assert-OneHexError $captured 'HexInvalidSpendPolicy' 'InvalidArgument' @('-AlertThreshold 80,90,100')

        (Get-HexSpendLimit -ErrorAction Stop).AlertThreshold | Should -Be $before
        @(Get-HexSpendLimit -History -ErrorAction Stop).Count | Should -Be 0 -Because 'nothing was changed'
    }

    It '-SeatOverride for an email no user has is a warning naming it; one for a real user is applied' {
        $users = @(Get-HexCreditBalance -Plan Team -ErrorAction Stop)
        $editor = @($users | Where-Object { $_.SeatType -eq 'Editor' -and $_.Email })[0]
        $editor | Should -Not -BeNullOrEmpty

        $captured = Invoke-HexCapture { Get-HexCreditBalance -Plan Team -SeatOverride @{ 'nobody@example.com' = 'Editor'; $editor.Email = 'Explorer' } }

        $captured.Errors.Count | Should -Be 0
        $captured.Warnings.Count | Should -Be 1
        $captured.Warnings[0] | Should -Match "'nobody@example\.com'"
        $captured.Warnings[0] | Should -Match 'not applied'
        $captured.Output.Count | Should -Be $users.Count -Because 'no user is made up for the unknown email'
        @($captured.Output | Where-Object { $_.Email -eq 'nobody@example.com' }).Count | Should -Be 0
        @($captured.Output | Where-Object { $_.Email -eq $editor.Email })[0].SeatType | Should -Be 'Explorer'
    }

    It '-AsOf [datetime]::MinValue, MaxValue and 2099-01-01 are HexInvalidCreditParameter naming -AsOf, and no ListThreads is sent' {
        $threads = Get-HexRequestCount -Emulator $emulator -Operation 'ListThreads'
        $cases = @(
            @{ AsOf = [datetime]::MinValue; Pattern = 'before 2020-01-01' }
            @{ AsOf = [datetime]::MaxValue; Pattern = 'in the future' }
            @{ AsOf = (New-Object -TypeName System.DateTime -ArgumentList @(2099, 1, 1, 0, 0, 0, [System.DateTimeKind]::Utc)); Pattern = '2099-01-01.*in the future' }
        )
        foreach ($case in $cases) {
            foreach ($workspace in @($false, $true)) {
                $captured = Invoke-HexCapture { Get-HexCreditBalance -Plan Team -AsOf $case.AsOf -Workspace:$workspace }
                $record = Assert-OneHexError $captured 'HexInvalidCreditParameter' 'InvalidArgument' @('^-AsOf ', $case.Pattern, 'Leave -AsOf out')
                $record.Exception.Message | Should -Not -Match 'Parameter name: ticks|Ticks must be|un-representable'
                $captured.Output.Count | Should -Be 0
            }
        }
        (Get-HexRequestCount -Emulator $emulator -Operation 'ListThreads') | Should -Be $threads -Because 'a refused -AsOf sends no ListThreads (and so no negative numDays)'

        # A past -AsOf is read from Hex, with a numDays the emulator takes (it answers 400 to one below 1).
        $past = [datetime]::Parse((Get-HexUsageTimeThisCycle), [System.Globalization.CultureInfo]::InvariantCulture,
            [System.Globalization.DateTimeStyles]::AdjustToUniversal).AddDays(-40)
        $captured = Invoke-HexCapture { Get-HexCreditBalance -Plan Team -AsOf $past -Workspace }
        $captured.Errors.Count | Should -Be 0 -Because "a past -AsOf is fine (got: $($captured.Errors -join '; '))"
        $captured.Output.Count | Should -Be 1
        (Get-HexRequestCount -Emulator $emulator -Operation 'ListThreads') | Should -BeGreaterThan $threads
    }

    It 'money above the range (3000000000) is refused naming the parameter and its range, not a type mismatch; in range it is kept' {
        $cases = @(
            @{ Block = { Set-HexSpendLimit -MonthlyAddOnLimit 3000000000 }; Parameter = 'MonthlyAddOnLimit'; Range = 'from 0 to 100000000' }
            @{ Block = { Set-HexSpendLimit -MonthlyAddOnLimit ([long]3000000000) }; Parameter = 'MonthlyAddOnLimit'; Range = 'from 0 to 100000000' }
            @{ Block = { Get-HexCreditBalance -Plan Team -TopUpPackPrice 3000000000 }; Parameter = 'TopUpPackPrice'; Range = 'from 0 to 10000000' }
            @{ Block = { Get-HexCreditBalance -Plan Team -TopUpPackCredits 3000000000 }; Parameter = 'TopUpPackCredits'; Range = 'from 1 to 10000000' }
        )
        $sent = Get-HexRequestCount -Emulator $emulator
        foreach ($case in $cases) {
            $captured = Invoke-HexCapture $case.Block
            $ids = @($captured.Errors | ForEach-Object { $_.FullyQualifiedErrorId })
            $ids.Count | Should -Be 1
            $ids[0] | Should -BeLike 'ParameterArgumentValidationError,*'
            $message = $captured.Errors[0].Exception.Message
            $message | Should -Match "parameter '$($case.Parameter)'"
            $message | Should -Match '3000000000 is above what HexCost accepts'
            $message | Should -Match $case.Range
            $message | Should -Not -Match 'not the same type|Int32|Decimal'
        }
        (Get-HexRequestCount -Emulator $emulator) | Should -Be $sent -Because 'the binder refuses before anything is sent'
        (Get-HexSpendLimit -ErrorAction Stop).MonthlyAddOnLimit | Should -BeNullOrEmpty

        # A large amount within the range, and a decimal comma as text, are kept as given.
        (Set-HexSpendLimit -MonthlyAddOnLimit 30000000 -TopUpPackPrice '12,5' -Force -PassThru -ErrorAction Stop -WarningAction SilentlyContinue) |
            ForEach-Object { $_.MonthlyAddOnLimit | Should -Be 30000000; $_.TopUpPackPrice | Should -Be 12.5 }
    }

    It 'NaN and Infinity are refused naming the parameter: not an amount' {
        $cases = @(
            @{ Block = { Set-HexSpendLimit -MonthlyAddOnLimit ([double]::NaN) }; Parameter = 'MonthlyAddOnLimit'; Shown = 'NaN' }
            @{ Block = { Set-HexSpendLimit -TopUpPackPrice ([double]::PositiveInfinity) }; Parameter = 'TopUpPackPrice'; Shown = 'Infinity' }
            @{ Block = { Get-HexCreditBalance -Plan Team -TopUpPackPrice ([double]::NaN) }; Parameter = 'TopUpPackPrice'; Shown = 'NaN' }
            @{ Block = { Get-HexCreditBalance -Plan Team -PoolCredits ([double]::NaN) }; Parameter = 'PoolCredits'; Shown = 'NaN' }
        )
        foreach ($case in $cases) {
            $captured = Invoke-HexCapture $case.Block
            $ids = @($captured.Errors | ForEach-Object { $_.FullyQualifiedErrorId })
            $ids.Count | Should -Be 1
            $ids[0] | Should -BeLike 'ParameterArgumentTransformationError,*'
            $message = $captured.Errors[0].Exception.Message
            $message | Should -Match "parameter '$($case.Parameter)'"
            $message | Should -Match "$($case.Shown) is not an amount"
            $message | Should -Not -Match 'not the same type|Value was either too large|System\.'
        }
        $policy = Get-HexSpendLimit -ErrorAction Stop
        $policy.MonthlyAddOnLimit | Should -BeNullOrEmpty
    }
}

Describe 'Set-HexSpendLimit and the cached credit reading: a reading counts only in its own cycle' -Tag 'CI' {
    BeforeAll {
        $emulator = Start-HexEmulator -RunMilliseconds 200 -PendingMilliseconds 20
        # Set-HexSpendLimit asks before a limit below this cycle's spend; in a runspace without a host that question fails
        # (HexConfirmationRequired) instead of waiting for a key, which shows whether the spend was counted.
        $setLimit = {
            param($Session, $Limit)
            Set-HexSpendLimit -Session $Session -MonthlyAddOnLimit $Limit -PassThru
        }
    }
    AfterAll {
        Disconnect-Hex -ErrorAction SilentlyContinue
        Stop-HexEmulator -Emulator $emulator
    }
    BeforeEach {
        $session = Connect-HexTest -Emulator $emulator -StatePath $TestDrive
        $cycleStart = Get-HexCycleStart
    }
    AfterEach {
        Disconnect-Hex -ErrorAction SilentlyContinue
    }

    It 'the previous cycle''s spend is not this cycle''s: said with its date, not used, and no question asked' {
        $null = Set-HexCreditSnapshot -Session $session -CycleStart $cycleStart.AddMonths(-1) -At $cycleStart.AddMonths(-1).AddDays(20) -AddOnSpend 900 -ProjectedAddOnSpend 1200

        $result = Invoke-HexInNewRunspace -Script $setLimit -ArgumentList $session, 100

        $result.Errors.Count | Should -Be 0 -Because "the old spend does not count (got: $($result.Errors -join '; '))"
        $result.Output.Count | Should -Be 1
        $result.Output[0].MonthlyAddOnLimit | Should -Be 100
        $result.Warnings.Count | Should -Be 1
        $result.Warnings[0] | Should -Match ([regex]::Escape('taken ' + $cycleStart.AddMonths(-1).AddDays(20).ToString('yyyy-MM-dd', [System.Globalization.CultureInfo]::InvariantCulture)))
        $result.Warnings[0] | Should -Match 'not of this billing cycle'
        (Get-HexSpendLimit -ErrorAction Stop).MonthlyAddOnLimit | Should -Be 100
    }

    It 'a reading of this cycle does count: the same limit below its spend is a question (HexConfirmationRequired without a host)' {
        # The control for the test above: only the cycle of the reading differs.
        $null = Set-HexCreditSnapshot -Session $session -CycleStart $cycleStart -At ([datetime]::Parse((Get-HexUsageTimeThisCycle),
                [System.Globalization.CultureInfo]::InvariantCulture, [System.Globalization.DateTimeStyles]::AdjustToUniversal)) -AddOnSpend 900 -ProjectedAddOnSpend 1200

        $result = Invoke-HexInNewRunspace -Script $setLimit -ArgumentList $session, 100

        @($result.Errors | ForEach-Object { $_.FullyQualifiedErrorId }) | Should -BeLike 'HexConfirmationRequired,*'
        $result.Errors[0].Exception.Message | Should -Match 'below the 900 already spent this cycle'
        $result.Warnings.Count | Should -Be 0
        (Get-HexSpendLimit -ErrorAction Stop).MonthlyAddOnLimit | Should -BeNullOrEmpty
    }

    It 'a console whose input has ended answers the question No: the limit stays, and a warning says so' {
        # A runbook or CI job with its standard input closed: a plain ShouldContinue would take its default Yes.
        $null = Set-HexCreditSnapshot -Session $session -CycleStart $cycleStart -At ([datetime]::Parse((Get-HexUsageTimeThisCycle),
                [System.Globalization.CultureInfo]::InvariantCulture, [System.Globalization.DateTimeStyles]::AdjustToUniversal)) -AddOnSpend 900 -ProjectedAddOnSpend 1200
        $stateRoot = Split-Path -Parent (Split-Path -Parent $session.StatePath)

        $child = Start-HexPowerShell -Root $TestDrive -InputEnded -Script @"
Import-Module `$HexCostModule -ErrorAction Stop
`$token = ConvertTo-SecureString -String '$($emulator.Token)' -AsPlainText -Force
`$null = Connect-Hex -Token `$token -BaseUri '$($emulator.BaseUri)' -StatePath '$stateRoot' -ErrorAction Stop
`$changed = Set-HexSpendLimit -MonthlyAddOnLimit 100 -PassThru -WarningVariable warned 3>`$null
'changed: ' + @(`$changed).Count
'warned: ' + (`$warned -join ' | ')
"@
        $result = Wait-HexPowerShell -Child $child -TimeoutSeconds 120

        $result.Error | Should -BeNullOrEmpty
        $result.Output | Should -Contain 'changed: 0'
        ($result.Output -join [Environment]::NewLine) | Should -Match 'warned: The spend policy was not changed: the question was answered No\. Run again with -Force'
        (Get-HexSpendLimit -ErrorAction Stop).MonthlyAddOnLimit | Should -BeNullOrEmpty
    }

    It '-FromHistory refuses a projection of an older cycle: HexNoCreditHistory, and a warning naming its date' {
        $null = Set-HexCreditSnapshot -Session $session -CycleStart $cycleStart.AddMonths(-2) -At $cycleStart.AddMonths(-2).AddDays(3) -AddOnSpend 50 -ProjectedAddOnSpend 500

        $captured = Invoke-HexCapture { Set-HexSpendLimit -FromHistory -PassThru }

        $null = Assert-OneHexError $captured 'HexNoCreditHistory' 'InvalidOperation' @('-FromHistory', 'this billing cycle', 'Get-HexCreditBalance')
        $captured.Warnings.Count | Should -Be 1
        $captured.Warnings[0] | Should -Match ([regex]::Escape('for the cycle ' + $cycleStart.AddMonths(-2).ToString('yyyy-MM-dd', [System.Globalization.CultureInfo]::InvariantCulture)))
        $captured.Output.Count | Should -Be 0
        (Get-HexSpendLimit -ErrorAction Stop).MonthlyAddOnLimit | Should -BeNullOrEmpty -Because 'nothing is set from an old projection (450 would be 90 % of it)'
    }

    It 'Get-HexCreditBalance -Workspace keeps a reading of this cycle, which -FromHistory then uses; -AsOf keeps none' {
        $path = Join-Path $session.StatePath 'credit-snapshot.json'
        Test-Path -LiteralPath $path | Should -BeFalse

        $past = [datetime]::Parse((Get-HexUsageTimeThisCycle), [System.Globalization.CultureInfo]::InvariantCulture,
            [System.Globalization.DateTimeStyles]::AdjustToUniversal).AddDays(-35)
        $null = Get-HexCreditBalance -Plan Team -Workspace -AsOf $past -ErrorAction Stop -WarningAction SilentlyContinue
        Test-Path -LiteralPath $path | Should -BeFalse -Because 'a reading of another time is not this cycle''s'

        $summary = Get-HexCreditBalance -Plan Team -Workspace -ErrorAction Stop -WarningAction SilentlyContinue
        $kept = Get-Content -LiteralPath $path -Raw | ConvertFrom-Json
        ([datetime]$kept.cycleStart).ToUniversalTime().ToString('yyyy-MM-dd', [System.Globalization.CultureInfo]::InvariantCulture) |
            Should -Be $summary.CycleStart.ToString('yyyy-MM-dd', [System.Globalization.CultureInfo]::InvariantCulture)
        [decimal]$kept.projectedAddOnSpend | Should -Be $summary.ProjectedAddOnSpend

        $policy = Set-HexSpendLimit -FromHistory -Force -PassThru -ErrorAction Stop -WarningAction SilentlyContinue
        $policy.MonthlyAddOnLimit | Should -Be ([math]::Round($summary.ProjectedAddOnSpend * [decimal]'0.9', 2))
    }
}

Describe 'Connect-Hex: -StatePath as PowerShell reads it, the token, and -RateLimit on a shared account' -Tag 'CI' {
    BeforeAll {
        $emulator = Start-HexEmulator -RunMilliseconds 200 -PendingMilliseconds 20
        $token = ConvertTo-SecureString -String $emulator.Token -AsPlainText -Force
        $limits = Get-HexTestRateLimit
    }
    AfterAll {
        Disconnect-Hex -ErrorAction SilentlyContinue
        Stop-HexEmulator -Emulator $emulator
    }
    AfterEach {
        Disconnect-Hex -ErrorAction SilentlyContinue
    }

    It 'a relative -StatePath is under $PWD, not the process''s directory' {
        $work = New-HexTestStatePath -Root $TestDrive
        Push-Location -LiteralPath $work
        try {
            $session = Connect-Hex -Token $token -BaseUri $emulator.BaseUri -StatePath 'rel' -RateLimit $limits -PassThru -ErrorAction Stop
        }
        finally {
            Pop-Location
        }
        $expected = Join-Path $work 'rel'
        $session.StatePath | Should -BeLike ((Join-Path (Join-Path $expected 'workspaces') '*'))
        Test-Path -LiteralPath $session.StatePath -PathType Container | Should -BeTrue
        Test-Path -LiteralPath (Join-Path ([System.Environment]::CurrentDirectory) 'rel') | Should -BeFalse -Because 'the process''s directory is not $PWD'
    }

    It 'a -StatePath on a PSDrive is the drive''s folder' {
        $work = New-HexTestStatePath -Root $TestDrive
        $drive = 'HexCostState' + [guid]::NewGuid().ToString('N').Substring(0, 8)
        $null = New-PSDrive -Name $drive -PSProvider FileSystem -Root $work -Scope Global
        try {
            $session = Connect-Hex -Token $token -BaseUri $emulator.BaseUri -StatePath "${drive}:\viadrive" -RateLimit $limits -PassThru -ErrorAction Stop
        }
        finally {
            Remove-PSDrive -Name $drive -Scope Global -Force
        }
        $session.StatePath | Should -BeLike ((Join-Path (Join-Path (Join-Path $work 'viadrive') 'workspaces') '*'))
        Test-Path -LiteralPath $session.StatePath -PathType Container | Should -BeTrue
    }

    It 'a -StatePath of ~/x is under the home folder PowerShell uses for ~, not a folder named ~' {
        # PowerShell reads ~ as the FileSystem provider's Home: pointed at $TestDrive here, so nothing is made in the real home.
        $provider = Get-PSProvider -PSProvider FileSystem
        $savedHome = $provider.Home
        $fakeHome = New-HexTestStatePath -Root $TestDrive
        $work = New-HexTestStatePath -Root $TestDrive
        $name = 'hexcost-test-' + [guid]::NewGuid().ToString('N')
        $provider.Home = $fakeHome
        Push-Location -LiteralPath $work
        try {
            $session = Connect-Hex -Token $token -BaseUri $emulator.BaseUri -StatePath "~/$name" -RateLimit $limits -PassThru -ErrorAction Stop
        }
        finally {
            Pop-Location
            $provider.Home = $savedHome
        }
        $session.StatePath | Should -BeLike ((Join-Path (Join-Path (Join-Path $fakeHome $name) 'workspaces') '*'))
        Test-Path -LiteralPath (Join-Path $work '~') | Should -BeFalse -Because 'no literal folder named ~ is made under $PWD'
        Test-Path -LiteralPath (Join-Path ([System.Environment]::CurrentDirectory) '~') | Should -BeFalse
    }

    It 'a -StatePath that is a file, or under a file, is HexInvalidConfiguration naming -StatePath, not a raw IO error' {
        $work = New-HexTestStatePath -Root $TestDrive
        $file = Join-Path $work 'a-file'
        Set-Content -LiteralPath $file -Value 'not a folder'
        foreach ($path in @($file, (Join-Path $file 'below'))) {
            $captured = Invoke-HexCapture { Connect-Hex -Token $token -BaseUri $emulator.BaseUri -StatePath $path -RateLimit $limits }
            $record = Assert-OneHexError $captured 'HexInvalidConfiguration' 'InvalidArgument' @('^-StatePath ', [regex]::Escape($path), 'cannot hold HexCost''s state')
            $record.TargetObject | Should -Be $path
            $record.Exception | Should -BeOfType ([HexCost.Api.HexException])
        }
        Test-Path -LiteralPath $file -PathType Leaf | Should -BeTrue
    }

    It 'Connect-Hex -StatePath after an implicit connect from $env:HEX_API_TOKEN is applied, without a warning' {
        $names = @('HEX_API_TOKEN', 'HEX_API_BASE_URL', 'HEXCOST_HOME')
        $saved = @{}
        foreach ($name in $names) { $saved[$name] = [System.Environment]::GetEnvironmentVariable($name) }
        try {
            [System.Environment]::SetEnvironmentVariable('HEX_API_TOKEN', $emulator.Token)
            [System.Environment]::SetEnvironmentVariable('HEX_API_BASE_URL', $emulator.BaseUri)
            # The implicit connection keeps its state in $env:HEXCOST_HOME: not in the user's profile.
            $implicitHome = New-HexTestStatePath -Root $TestDrive
            [System.Environment]::SetEnvironmentVariable('HEXCOST_HOME', $implicitHome)
            $null = Get-HexProject -ErrorAction Stop

            $explicit = Join-Path (New-HexTestStatePath -Root $TestDrive) 'explicit'
            $captured = Invoke-HexCapture { Connect-Hex -StatePath $explicit -PassThru }

            $captured.Errors.Count | Should -Be 0
            $captured.Warnings.Count | Should -Be 0 -Because "the implicit session was the only holder of the account (got: $($captured.Warnings -join '; '))"
            $captured.Output[0].StatePath | Should -BeLike (Join-Path (Join-Path $explicit 'workspaces') '*')
            # What comes next keeps its ledger there.
            $csv = New-HexUsageFile -Text "Date,Email,Credits`n$(Get-HexUsageTimeThisCycle),moved@example.com,1`n"
            $null = Import-HexCreditUsage -Path $csv -ErrorAction Stop
            @(Get-ChildItem -LiteralPath $captured.Output[0].StatePath -Recurse -File).Count | Should -BeGreaterThan 0
            @(Get-ChildItem -LiteralPath $implicitHome -Recurse -File | Select-String -SimpleMatch 'moved@example.com').Count | Should -Be 0
            @(Get-ChildItem -LiteralPath $captured.Output[0].StatePath -Recurse -File | Select-String -SimpleMatch 'moved@example.com').Count | Should -BeGreaterThan 0
        }
        finally {
            Disconnect-Hex -ErrorAction SilentlyContinue
            foreach ($name in $names) { [System.Environment]::SetEnvironmentVariable($name, $saved[$name]) }
        }
    }

    It 'a token with a trailing newline (Get-Content -Raw) connects, and the token shows in no output, message or state file' {
        $root = New-HexTestStatePath -Root $TestDrive
        $file = Join-Path $TestDrive 'token.txt'
        Set-Content -LiteralPath $file -Value $emulator.Token
        $raw = Get-Content -LiteralPath $file -Raw
        $raw | Should -Match '\n$'
        $secure = ConvertTo-SecureString -String $raw -AsPlainText -Force

        $captured = Invoke-HexCapture { Connect-Hex -Token $secure -BaseUri $emulator.BaseUri -StatePath $root -RateLimit $limits -PassThru -Verbose }

        $captured.Errors.Count | Should -Be 0 -Because "the token is trimmed (got: $($captured.Errors -join '; '))"
        $captured.Output.Count | Should -Be 1
        $session = $captured.Output[0]
        $session.IsConnected | Should -BeTrue
        @(Get-HexProject -ErrorAction Stop).Count | Should -BeGreaterThan 0
        $shown = @(
            ($captured.Output | Format-List -Property * | Out-String)
            ($captured.Output | Format-Table | Out-String)
            ($captured.Output | ConvertTo-Json -Depth 3)
            [string]$session
            $captured.Verbose
            $captured.Warnings
        ) -join "`n"
        $shown | Should -Not -Match ([regex]::Escape($emulator.Token))
        foreach ($stateFile in @(Get-ChildItem -LiteralPath $root -Recurse -File)) {
            [System.IO.File]::ReadAllText($stateFile.FullName) | Should -Not -Match ([regex]::Escape($emulator.Token)) -Because "$($stateFile.FullName) holds no token"
        }
    }

    It '-RateLimit on an account another runspace holds: a stricter limit is kept by both, RateLimit shows it, and a third trigger waits' {
        $statePath = New-HexTestStatePath -Root $TestDrive
        $session = Connect-Hex -Token $token -BaseUri $emulator.BaseUri -StatePath $statePath -RateLimit $limits -PassThru -ErrorAction Stop
        $session.RateLimit | Should -Match 'RunProject = 10000/1m;'
        $projectId = (Get-PublishedHexProject).ProjectId

        # A second runspace of this process connects the same account, asking RunProject 2 in 3 s, and stays connected.
        $state = [System.Management.Automation.Runspaces.InitialSessionState]::CreateDefault2()
        if ([System.Environment]::OSVersion.Platform -eq [System.PlatformID]::Win32NT -and $state.PSObject.Properties['ExecutionPolicy']) {
            $state.ExecutionPolicy = [Microsoft.PowerShell.ExecutionPolicy]::Bypass
        }
        $runspace = [System.Management.Automation.Runspaces.RunspaceFactory]::CreateRunspace($state)
        $shell = [System.Management.Automation.PowerShell]::Create()
        try {
            $runspace.Open()
            $shell.Runspace = $runspace
            $null = $shell.AddScript({
                    param($Module, $Token, $BaseUri, $StatePath)
                    Import-Module $Module -ErrorAction Stop
                    $secure = ConvertTo-SecureString -String $Token -AsPlainText -Force
                    Connect-Hex -Token $secure -BaseUri $BaseUri -StatePath $StatePath -RateLimit @{ RunProject = '2/3s'; Request = '10000/1m'; Read = '10000/1m' } -PassThru -ErrorAction Stop
                }.ToString()).AddArgument((Get-HexCostManifestPath)).AddArgument($emulator.Token).AddArgument($emulator.BaseUri).AddArgument($statePath)
            $other = @($shell.Invoke())
            $shell.Streams.Error.Count | Should -Be 0
            $other.Count | Should -Be 1
            $other[0].RateLimit | Should -Match 'RunProject = [^;]*2/3s'
            $shell.Streams.Warning.Count | Should -Be 0 -Because "only a stricter limit was asked for, so no looser one 'stays in force' (got: $(@($shell.Streams.Warning) -join '; '))"

            # This runspace's session shows the limit now in force, and keeps to it.
            $session.RateLimit | Should -Match 'RunProject = [^;]*2/3s'
            $created = Get-HexRequestCount -Emulator $emulator -Operation 'RunProject'
            $runs = @(1..3 | ForEach-Object { Invoke-HexRun -ProjectId $projectId -DryRun -ErrorAction Stop })
            $runs.Count | Should -Be 3
            $runs[0].ThrottledSeconds | Should -Be 0
            $runs[1].ThrottledSeconds | Should -Be 0
            $runs[2].ThrottledSeconds | Should -BeGreaterThan 0 -Because 'the third trigger within 3 s waits for the window'
            (Get-HexRequestCount -Emulator $emulator -Operation 'RunProject') | Should -Be ($created + 3)
        }
        finally {
            $shell.Commands.Clear()
            $null = $shell.AddScript('Disconnect-Hex -ErrorAction SilentlyContinue')
            $null = $shell.Invoke()
            $shell.Dispose()
            $runspace.Dispose()
        }
    }

    It '-RateLimit in a second Connect-Hex of the same runspace is what the new session keeps to' {
        $statePath = New-HexTestStatePath -Root $TestDrive
        $first = Connect-Hex -Token $token -BaseUri $emulator.BaseUri -StatePath $statePath -RateLimit $limits -PassThru -ErrorAction Stop
        $captured = Invoke-HexCapture { Connect-Hex -Token $token -BaseUri $emulator.BaseUri -StatePath $statePath -RateLimit @{ RunProject = '2/3s'; Request = '10000/1m'; Read = '10000/1m' } -PassThru }
        $captured.Errors.Count | Should -Be 0
        $captured.Warnings.Count | Should -Be 0
        $captured.Output[0].RateLimit | Should -Match 'RunProject = 2/3s;'
        $first.IsConnected | Should -BeFalse -Because 'the new connect replaced it'
    }
}

Describe 'Export-HexCostReport: errors name the -Path given' -Tag 'CI' {
    BeforeAll {
        $emulator = Start-HexEmulator -RunMilliseconds 200 -PendingMilliseconds 20
    }
    AfterAll {
        Disconnect-Hex -ErrorAction SilentlyContinue
        Stop-HexEmulator -Emulator $emulator
    }
    BeforeEach {
        $null = Connect-HexTest -Emulator $emulator -StatePath $TestDrive
    }
    AfterEach {
        Disconnect-Hex -ErrorAction SilentlyContinue
    }

    It '-Path in a folder that does not exist is HexReportPathInvalid naming that -Path, and nothing is collected from Hex' {
        $work = New-HexTestStatePath -Root $TestDrive
        $sent = Get-HexRequestCount -Emulator $emulator
        $full = Join-Path (Join-Path $work 'no-such-folder') 'report.html'
        $relative = Join-Path 'missing-folder' 'report.html'
        foreach ($path in @($full, $relative)) {
            Push-Location -LiteralPath $work
            try {
                $captured = Invoke-HexCapture { Export-HexCostReport -Path $path }
            }
            finally {
                Pop-Location
            }
            $record = Assert-OneHexError $captured 'HexReportPathInvalid' 'ObjectNotFound' @(("-Path '" + [regex]::Escape($path) + "'"), 'does not exist')
            $record.TargetObject | Should -Be $path
            $record.Exception.Message | Should -Not -Match '\.tmp\b'
        }
        (Get-HexRequestCount -Emulator $emulator) | Should -Be $sent
        @(Get-ChildItem -LiteralPath $work -Recurse).Count | Should -Be 0
    }

    It '-Path under a file, or of a folder, is HexReportPathInvalid naming that -Path' {
        $work = New-HexTestStatePath -Root $TestDrive
        $file = Join-Path $work 'plain.txt'
        Set-Content -LiteralPath $file -Value 'x'
        $cases = @(
            @{ Path = (Join-Path $file 'report.html'); Pattern = 'is a file, not a folder' }
            @{ Path = $work; Pattern = 'is a directory' }
        )
        foreach ($case in $cases) {
            $captured = Invoke-HexCapture { Export-HexCostReport -Path $case.Path }
            $record = Assert-OneHexError $captured 'HexReportPathInvalid' '' @([regex]::Escape($case.Path), $case.Pattern)
            $record.TargetObject | Should -Be $case.Path
        }
        Get-Content -LiteralPath $file | Should -Be 'x'
    }
}
