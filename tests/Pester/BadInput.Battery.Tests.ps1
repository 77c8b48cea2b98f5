# Pester 5.1+: the bad-input battery. Generated from the cmdlets' own parameter metadata (BadInputBattery.ps1): every
# parameter of every HexCost cmdlet gets the bad values of its type, and every output type HexCost writes is piped into
# every cmdlet that binds from the pipeline. For each invocation: the process survives; every error's
# FullyQualifiedErrorId starts with a HexCost id (or one of PowerShell's parameter-binding ids) in its category; the
# message names the parameter; no token shows; nothing is sent to Hex by a call the binder refused and no run is
# created by a call HexCost refused; and a bad value that is neither refused nor warned about is one this file accepts
# by name, with the reason (nothing is silently ignored).
BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    . (Join-Path $PSScriptRoot 'BadInputBattery.ps1')
    $null = Import-HexCostUnderTest
    $parameterCases = Get-HexBatteryCase
    $receivers = @(Get-Command -Module HexCost -CommandType Cmdlet | Where-Object {
            @($_.Parameters.Values | Where-Object { $_.ParameterSets.Values | Where-Object { $_.ValueFromPipeline -or $_.ValueFromPipelineByPropertyName } }).Count -gt 0
        } | ForEach-Object Name | Sort-Object)
    $outputTypes = @(Get-Command -Module HexCost -CommandType Cmdlet | ForEach-Object { $_.OutputType } | ForEach-Object Name |
        Where-Object { $_ -ne 'System.Void' } | Sort-Object -Unique)
    $pipeCases = foreach ($type in $outputTypes) { foreach ($receiver in $receivers) { @{ OutputType = $type; Receiver = $receiver } } }
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    . (Join-Path $PSScriptRoot 'BadInputBattery.ps1')
    $null = Import-HexCostUnderTest
    $emulator = Start-HexEmulator -RunMilliseconds 100 -PendingMilliseconds 10
    $null = Connect-HexTest -Emulator $emulator -StatePath $TestDrive
    $project = Get-PublishedHexProject
    $completedRun = @(Invoke-HexRun -ProjectId $project.ProjectId -Wait -ErrorAction Stop)[0]
    $usageFile = Join-Path $TestDrive 'usage.csv'
    [System.IO.File]::WriteAllText($usageFile, "Date,Email,Credits`n$(Get-HexUsageTimeThisCycle),a@example.com,3`n")
    $disconnected = Connect-HexTest -Emulator $emulator -StatePath $TestDrive
    Disconnect-Hex -Session $disconnected
    $context = [pscustomobject]@{ Token = $emulator.Token; DisconnectedSession = $disconnected }
    $errorIds = @{}
    foreach ($entry in [HexCost.Commands.Infrastructure.HexErrors]::All) { $errorIds[$entry.Id] = $entry.Category }
    # A HexCost id written in another category than its own, where the other one says more.
    $categoryOverrides = @('HexReportPathInvalid,ObjectNotFound', 'HexStateError,ReadError')
    Disconnect-Hex -ErrorAction Stop

    function Get-HexBatteryArguments {
        # Arguments that make a call of $Command succeed, so the one bad value is the only thing wrong.
        param([Parameter(Mandatory = $true)] [string] $Command, [string] $Parameter)
        $arguments = switch ($Command) {
            'Connect-Hex' {
                @{ Token = (ConvertTo-SecureString -String $emulator.Token -AsPlainText -Force); BaseUri = $emulator.BaseUri
                    StatePath = (New-HexTestStatePath -Root $TestDrive); RateLimit = (Get-HexTestRateLimit) }
            }
            'Disconnect-Hex' { @{ Session = $session } }
            'Export-HexCostReport' { @{ Path = (Join-Path $TestDrive ("report-$([guid]::NewGuid().ToString('N')).html")); Plan = 'Team'; Confirm = $false } }
            'Copy-HexState' { @{ Destination = (Join-Path $TestDrive ('copy-' + [guid]::NewGuid().ToString('N'))); Confirm = $false } }
            'Get-HexCreditBalance' { @{ Plan = 'Team' } }
            'Get-HexRun' { @{ ProjectId = $project.ProjectId } }
            'Get-HexScheduleAudit' { @{ ProjectId = $project.ProjectId } }
            'Import-HexCreditUsage' { @{ Path = $usageFile; Confirm = $false } }
            'Invoke-HexRun' { @{ ProjectId = $project.ProjectId; Confirm = $false } }
            'Set-HexSpendLimit' { @{ Confirm = $false; Force = $true } }
            'Stop-HexRun' { @{ ProjectId = $project.ProjectId; RunId = $completedRun.RunId; Confirm = $false } }
            default { @{} }
        }
        # Parameters that only mean something beside another one.
        $companions = @{
            'Invoke-HexRun -Timeout'                   = @{ Wait = $true }
            'Get-HexCreditBalance -PoolCredits'        = @{ Workspace = $true }
            'Get-HexCreditBalance -TopUpPackCredits'   = @{ Workspace = $true }
            'Get-HexCreditBalance -TopUpPackPrice'     = @{ Workspace = $true }
        }
        $companion = $companions["$Command -$Parameter"]
        if ($companion) { foreach ($key in $companion.Keys) { $arguments[$key] = $companion[$key] } }
        return $arguments
    }

    function Invoke-HexBatteryCall {
        # Runs $Block and sorts what it wrote: errors (written or thrown), warnings, output; and what reached the emulator.
        param([Parameter(Mandatory = $true)] [scriptblock] $Block)
        $before = Get-HexEmulatorStats -Emulator $emulator
        $ErrorActionPreference = 'Continue'
        $WarningPreference = 'Continue'
        $records = @(try { & $Block 2>&1 3>&1 } catch { $_ })
        $after = Get-HexEmulatorStats -Emulator $emulator
        return [pscustomobject]@{
            Errors      = @($records | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] })
            Warnings    = @($records | Where-Object { $_ -is [System.Management.Automation.WarningRecord] })
            Output      = @($records | Where-Object { $_ -isnot [System.Management.Automation.ErrorRecord] -and $_ -isnot [System.Management.Automation.WarningRecord] })
            RunsCreated = $after.RunsCreated - $before.RunsCreated
            Requests    = $after.TotalRequests - $before.TotalRequests
        }
    }

    function Disconnect-HexBattery {
        # Ends every session of this runspace, so that the next Connect-Hex makes a new account on its own state folder.
        param($Session)
        if ($Session) { Disconnect-Hex -Session $Session -ErrorAction SilentlyContinue }
        for ($i = 0; $i -lt 5; $i++) { Disconnect-Hex -ErrorAction SilentlyContinue }
    }

    function Get-HexMessage([System.Management.Automation.ErrorRecord] $Record) {
        if ($Record.ErrorDetails -and $Record.ErrorDetails.Message) { return $Record.ErrorDetails.Message }
        return $Record.Exception.Message
    }

    function Assert-HexBatteryOutcome {
        # What every call must do, whatever it was given. Returns 'refused', 'warned' or 'accepted'.
        param([Parameter(Mandatory = $true)] $Outcome, [string] $Parameter, [string] $Case)
        foreach ($record in $Outcome.Errors) {
            $id = $record.FullyQualifiedErrorId.Split(',')[0]
            $binding = Test-HexBindingErrorId -FullyQualifiedErrorId $record.FullyQualifiedErrorId
            $message = Get-HexMessage $record
            ($binding -or $errorIds.ContainsKey($id)) | Should -BeTrue -Because "$Case wrote '$($record.FullyQualifiedErrorId)' ($($record.Exception.GetType().FullName): $message): not a HexCost id"
            if ($errorIds.ContainsKey($id)) {
                $category = [string]$record.CategoryInfo.Category
                ($category -eq [string]$errorIds[$id] -or "$id,$category" -in $categoryOverrides) | Should -BeTrue -Because "$Case wrote $id in category $category, not $($errorIds[$id])"
            }
            else {
                $record.CategoryInfo.Category | Should -Not -Be 'NotSpecified' -Because "$Case's binding error has a category"
            }
            if ($Parameter) {
                $message | Should -Match ([regex]::Escape($Parameter)) -Because "$Case's error names -$Parameter"
            }
            $message.Contains($emulator.Token) | Should -BeFalse -Because "$Case shows no token"
            if ($binding) {
                $Outcome.Requests | Should -Be 0 -Because "$Case was refused by the binder: nothing is sent to Hex"
            }
        }
        foreach ($warning in $Outcome.Warnings) {
            $warning.Message.Contains($emulator.Token) | Should -BeFalse -Because "$Case shows no token"
        }
        if ($Outcome.Errors.Count -gt 0 -and $Outcome.Output.Count -eq 0) {
            $Outcome.RunsCreated | Should -Be 0 -Because "$Case was refused: no run is created"
        }
        if ($Outcome.Errors.Count -gt 0) { return 'refused' }
        if ($Outcome.Warnings.Count -gt 0) {
            if ($Parameter) {
                (@($Outcome.Warnings | Where-Object { $_.Message -match [regex]::Escape($Parameter) }).Count) | Should -BeGreaterThan 0 -Because "$Case's warning names -$Parameter"
            }
            return 'warned'
        }
        return 'accepted'
    }

    Push-Location -LiteralPath $TestDrive
}

AfterAll {
    Pop-Location
    Disconnect-Hex -ErrorAction SilentlyContinue
    Stop-HexEmulator -Emulator $emulator
}

Describe 'Bad values for every parameter of every cmdlet' -Tag 'CI' {
    BeforeEach {
        # A fresh account, state folder and working folder for every call: nothing of one case reaches the next.
        # (Connect-Hex makes its own account: a session of the same token would already hold one.)
        Push-Location -LiteralPath (New-Item -ItemType Directory -Path (Join-Path $TestDrive ([guid]::NewGuid().ToString('N')))).FullName
        $session = if ($Command -ne 'Connect-Hex') { Connect-HexTest -Emulator $emulator -StatePath $TestDrive } else { $null }
    }

    AfterEach {
        Disconnect-HexBattery -Session $session
        Pop-Location
    }

    It '<Command> -<Parameter> [<Type>] <Kind>' -ForEach $parameterCases {
        $arguments = Get-HexBatteryArguments -Command $Command -Parameter $Parameter
        $type = (Get-Command -Name $Command).Parameters[$Parameter].ParameterType
        $arguments[$Parameter] = New-HexBatteryValue -Kind $Kind -Type $type -Context $context
        $outcome = Invoke-HexBatteryCall { & $Command @arguments }
        $result = Assert-HexBatteryOutcome -Outcome $outcome -Parameter $Parameter -Case "$Command -$Parameter $Kind"
        if ($result -eq 'accepted') {
            $acceptance = Get-HexBatteryAcceptance -Command $Command -Parameter $Parameter -Kind $Kind
            $acceptance | Should -Not -BeNullOrEmpty -Because "$Command -$Parameter $Kind was neither refused nor warned about, and is not on the accepted list (output: $(@($outcome.Output | ForEach-Object { $_.GetType().Name }) -join ', '))"
            if ($acceptance.Means -eq 'AsIfAbsent') {
                $without = Get-HexBatteryArguments -Command $Command -Parameter $Parameter
                $baseline = Invoke-HexBatteryCall { & $Command @without }
                $shape = { param($o) (@($o.Output | ForEach-Object { $_.GetType().FullName }) -join ',') + " errors=$($o.Errors.Count) warnings=$($o.Warnings.Count)" }
                (& $shape $outcome) | Should -Be (& $shape $baseline) -Because "$Command -$Parameter $Kind is taken as leaving -$Parameter out ($($acceptance.Why))"
            }
        }
    }
}

Describe 'Every output type piped into every cmdlet that binds from the pipeline' -Tag 'CI' {
    BeforeAll {
        Disconnect-HexBattery
        $session = Connect-HexTest -Emulator $emulator -StatePath $TestDrive
        Set-HexSpendLimit -WeeklyRunBudget 1000 -Confirm:$false -ErrorAction Stop
        $null = Get-HexCreditBalance -Plan Team -Workspace -ErrorAction Stop
        $samples = @{
            'HexCost.Session.HexSession'       = $session
            'HexCost.Reports.CostReportFile'   = (Export-HexCostReport -Path (Join-Path $TestDrive 'sample.html') -Plan Team -PassThru -Confirm:$false -ErrorAction Stop)
            'HexCost.State.StateCopyResult'    = (Copy-HexState -Destination (Join-Path $TestDrive 'sample-copy') -PassThru -Confirm:$false -ErrorAction Stop)
            'HexCost.Model.CreditBalance'      = @(Get-HexCreditBalance -Plan Team -ErrorAction Stop)[0]
            'HexCost.Model.CreditSummary'      = (Get-HexCreditBalance -Plan Team -Workspace -ErrorAction Stop)
            'HexCost.Model.HexProject'         = $project
            'HexCost.Model.HexRun'             = $completedRun
            'HexCost.Model.RunReport'          = @(Get-HexRunReport -ErrorAction Stop)[0]
            'HexCost.Model.ScheduleFinding'    = @(Get-HexScheduleAudit -ErrorAction Stop)[0]
            'HexCost.Model.SpendPolicy'        = (Get-HexSpendLimit -ErrorAction Stop)
            'HexCost.Model.SpendPolicyChange'  = @(Get-HexSpendLimit -History -ErrorAction Stop)[0]
            'HexCost.Model.CreditUsageImport'  = @(Import-HexCreditUsage -Path $usageFile -Confirm:$false -ErrorAction Stop)[0]
        }
        # Pairs that do what the receiver is for (the property binding is the point of the pipeline).
        $meaningful = @(
            'HexCost.Model.HexProject | Get-HexProject', 'HexCost.Model.HexProject | Get-HexRun', 'HexCost.Model.HexProject | Get-HexScheduleAudit',
            'HexCost.Model.HexProject | Invoke-HexRun', 'HexCost.Model.HexRun | Get-HexProject', 'HexCost.Model.HexRun | Get-HexRun',
            'HexCost.Model.HexRun | Invoke-HexRun', 'HexCost.Model.HexRun | Get-HexScheduleAudit', 'HexCost.Model.ScheduleFinding | Get-HexProject',
            'HexCost.Model.ScheduleFinding | Get-HexRun', 'HexCost.Model.ScheduleFinding | Get-HexScheduleAudit', 'HexCost.Model.ScheduleFinding | Invoke-HexRun',
            'HexCost.Model.RunReport | Get-HexProject', 'HexCost.Model.RunReport | Get-HexRun', 'HexCost.Model.RunReport | Get-HexScheduleAudit',
            'HexCost.Model.RunReport | Invoke-HexRun', 'HexCost.Session.HexSession | Disconnect-Hex',
            'HexCost.Model.CreditUsageImport | Import-HexCreditUsage'
        )
    }

    BeforeEach {
        $session = Connect-HexTest -Emulator $emulator -StatePath $TestDrive
    }

    AfterEach {
        Disconnect-HexBattery -Session $session
    }

    It '<OutputType> | <Receiver>' -ForEach $pipeCases {
        $sample = $samples[$OutputType]
        if ($null -eq $sample) { Set-ItResult -Skipped -Because "the emulator's workspace gave no $OutputType"; return }
        $extra = if ($Receiver -in @('Invoke-HexRun', 'Stop-HexRun', 'Import-HexCreditUsage')) { @{ Confirm = $false } } else { @{} }
        $outcome = Invoke-HexBatteryCall { $sample | & $Receiver @extra }
        $result = Assert-HexBatteryOutcome -Outcome $outcome -Case "$OutputType | $Receiver"
        if ($result -eq 'accepted') {
            "$OutputType | $Receiver" | Should -BeIn $meaningful -Because "piping $OutputType into $Receiver did something without a word"
        }
    }
}
