# Pester 5.1+: bad input to the run cmdlets (Invoke-HexRun, Get-HexRun, Stop-HexRun, Get-HexProject, Get-HexRunReport) as
# an admin's script meets it in real pwsh: one clear HexCost error (or PowerShell's own binding error), nothing sent to Hex
# for what is refused locally, nothing silently dropped, and their own output piped back in.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $null = Import-HexCostUnderTest

    function New-HexNestedInput {
        # Input parameters nested -Depth levels, the inputs object itself being level 1: @{ region = @{ x = @{ ... } } }.
        param([int] $Depth)
        $inner = 'EU'
        for ($level = $Depth; $level -ge 2; $level--) {
            $inner = @{ x = $inner }
        }
        return @{ region = $inner }
    }

    function ConvertTo-HexNestedJson {
        param([int] $Depth)
        return ('{"region":' + ('{"x":' * ($Depth - 2)) + '{"x":"EU"}' + ('}' * ($Depth - 2)) + '}')
    }
}

Describe 'Invoke-HexRun -InputParameters: what cannot be sent, and what HexCost writes' -Tag 'CI' {
    BeforeAll {
        $emulator = Start-HexEmulator -RunMilliseconds 200 -PendingMilliseconds 20
        $null = Connect-HexTest -Emulator $emulator -StatePath $TestDrive
        $id = (Get-PublishedHexProject).ProjectId
    }
    AfterAll {
        Disconnect-Hex -ErrorAction SilentlyContinue
        Stop-HexEmulator -Emulator $emulator
    }

    It 'a hashtable that contains itself: HexInvalidInputParameters naming the depth limit, and pwsh lives on' {
        # In a child pwsh: the stack overflow it once caused ends the process, which must not be this one.
        $statePath = New-HexTestStatePath -Root $TestDrive
        $result = Invoke-HexPowerShell -Root $TestDrive -Script @"
Import-Module `$HexCostModule -ErrorAction Stop
`$token = ConvertTo-SecureString -String '$($emulator.Token)' -AsPlainText -Force
Connect-Hex -Token `$token -BaseUri '$($emulator.BaseUri)' -StatePath '$statePath' -RateLimit @{ RunProject = '10000/1m'; Request = '10000/1m'; Read = '10000/1m' } -ErrorAction Stop
`$self = @{ region = 'EU' }; `$self.self = `$self
`$list = [System.Collections.ArrayList]::new(); `$null = `$list.Add(`$list)
foreach (`$inputs in @(`$self, @{ region = `$list })) {
    `$failed = `$null
    Invoke-HexRun -ProjectId '$id' -InputParameters `$inputs -DryRun -ErrorAction SilentlyContinue -ErrorVariable failed
    'ID=' + `$failed[0].FullyQualifiedErrorId
    'MESSAGE=' + `$failed[0].Exception.Message
}
'SURVIVED'
"@
        $result.ExitCode | Should -Be 0 -Because "pwsh survives (stderr: $($result.Error))"
        $result.Output | Should -Contain 'SURVIVED'
        $ids = @($result.Output | Where-Object { $_ -like 'ID=*' })
        $ids.Count | Should -Be 2
        foreach ($line in $ids) { $line | Should -BeLike 'ID=HexInvalidInputParameters,*' }
        foreach ($line in @($result.Output | Where-Object { $_ -like 'MESSAGE=*' })) { $line | Should -Match 'deeper than 32 levels' }
        (Get-HexRequestCount -Emulator $emulator -Operation 'RunProject') | Should -Be 0 -Because 'nothing is sent for inputs HexCost refuses'
    }

    It 'nesting: 32 levels are sent, 33 are refused with the limit, as a hashtable and as JSON text' {
        $sent = Get-HexRequestCount -Emulator $emulator -Operation 'RunProject'
        $deepest = Invoke-HexRun -ProjectId $id -InputParameters (New-HexNestedInput -Depth 32) -DryRun -ErrorAction Stop
        $deepest.InputParameters | Should -BeExactly (ConvertTo-HexNestedJson -Depth 32)
        $fromJson = Invoke-HexRun -ProjectId $id -InputParameters (ConvertTo-HexNestedJson -Depth 32) -DryRun -ErrorAction Stop
        $fromJson.InputParameters | Should -BeExactly $deepest.InputParameters
        (Get-HexRequestCount -Emulator $emulator -Operation 'RunProject') | Should -Be ($sent + 2)

        foreach ($tooDeep in @((New-HexNestedInput -Depth 33), (ConvertTo-HexNestedJson -Depth 33), (New-HexNestedInput -Depth 200))) {
            $captured = Invoke-HexCapture { Invoke-HexRun -ProjectId $id -InputParameters $tooDeep -DryRun }
            $null = Assert-OneHexError $captured 'HexInvalidInputParameters' 'InvalidArgument' @('deeper than 32 levels', 'nothing was sent')
        }
        (Get-HexRequestCount -Emulator $emulator -Operation 'RunProject') | Should -Be ($sent + 2)
    }

    It 'JSON text from a piped object or a CSV cell is sent as the parameters, and a blank cell is none' {
        $run = [pscustomobject]@{ ProjectId = $id; InputParameters = '{"region":"EU"}' } | Invoke-HexRun -ErrorAction Stop
        $run.InputParameters | Should -BeExactly '{"region":"EU"}'
        # Hex sees what was sent: an input the app does not have comes back named.
        $captured = Invoke-HexCapture { [pscustomobject]@{ ProjectId = $id; InputParameters = '{"no_such_input":"x"}' } | Invoke-HexRun }
        $null = Assert-OneHexError $captured 'HexInvalidInputParameters' 'InvalidArgument' @('no_such_input')
        # What ConvertFrom-Json and [ordered] give is taken as well.
        (Invoke-HexRun -ProjectId $id -InputParameters ('{"limit":5,"region":"EU"}' | ConvertFrom-Json) -DryRun -ErrorAction Stop).InputParameters | Should -BeExactly '{"limit":5,"region":"EU"}'
        (Invoke-HexRun -ProjectId $id -InputParameters ([ordered]@{ region = 'EU'; limit = 5 }) -DryRun -ErrorAction Stop).InputParameters | Should -BeExactly '{"limit":5,"region":"EU"}'

        $csv = Join-Path $TestDrive 'plan.csv'
        @([pscustomobject]@{ ProjectId = $id; InputParameters = '{"region":"US"}' }, [pscustomobject]@{ ProjectId = $id; InputParameters = '' }) |
            Export-Csv -Path $csv -NoTypeInformation
        $runs = @(Import-Csv -Path $csv | Invoke-HexRun -ErrorAction Stop)
        $runs.Count | Should -Be 2
        $runs[0].InputParameters | Should -BeExactly '{"region":"US"}'
        $runs[1].InputParameters | Should -BeExactly '{}'
    }

    It 'inputs that cannot be read are HexInvalidInputParameters, one per item, and nothing is sent' {
        $sent = Get-HexRequestCount -Emulator $emulator -Operation 'RunProject'
        $twice = @{}
        $twice[1] = 'a'
        $twice['1'] = 'b'
        $cases = @(
            @{ Inputs = '{"region":'; Pattern = 'not JSON' }
            @{ Inputs = '["EU"]'; Pattern = 'not an object' }
            @{ Inputs = 42; Pattern = 'Int32' }
            # Two names that are one once they are text: the second was silently dropped.
            @{ Inputs = $twice; Pattern = "'1' is given twice" }
            @{ Inputs = @{ region = [double]::NaN }; Pattern = 'NaN' }
            @{ Inputs = @{ region = 'E' + [char]0xD800 }; Pattern = 'lone UTF-16 surrogate' }
        )
        foreach ($case in $cases) {
            $captured = Invoke-HexCapture { Invoke-HexRun -ProjectId $id -InputParameters $case.Inputs -DryRun }
            $null = Assert-OneHexError $captured 'HexInvalidInputParameters' 'InvalidArgument' @($case.Pattern)
        }
        # From the pipeline, a bad item is that item's error; the next item still runs.
        $captured = Invoke-HexCapture {
            [pscustomobject]@{ ProjectId = $id; InputParameters = 'region=EU' }, [pscustomobject]@{ ProjectId = $id; InputParameters = '{"region":"EU"}' } |
                Invoke-HexRun -DryRun
        }
        $null = Assert-OneHexError $captured 'HexInvalidInputParameters' 'InvalidArgument' @('not JSON')
        $captured.Output.Count | Should -Be 1
        (Get-HexRequestCount -Emulator $emulator -Operation 'RunProject') | Should -Be ($sent + 1)
    }
}

Describe 'Invoke-HexRun: its own output and CSVs piped back in' -Tag 'CI' {
    BeforeAll {
        $emulator = Start-HexEmulator -RunMilliseconds 200 -PendingMilliseconds 20
        $id = $null
    }
    AfterAll {
        Disconnect-Hex -ErrorAction SilentlyContinue
        Stop-HexEmulator -Emulator $emulator
    }
    BeforeEach {
        $null = Connect-HexTest -Emulator $emulator -StatePath $TestDrive
        if (-not $id) { $id = (Get-PublishedHexProject).ProjectId }
    }
    AfterEach {
        Disconnect-Hex -ErrorAction SilentlyContinue
    }

    It 'a piped run is repeated: a new run with its inputs, not a cache hit or a replay of it' {
        $first = Invoke-HexRun -ProjectId $id -InputParameters @{ region = 'EU' } -SourceVersion 'v-pipe' -IdempotencyKey 'pipe-key' -Wait -ErrorAction Stop
        $created = (Get-HexEmulatorStats -Emulator $emulator).RunsCreated
        $csv = Join-Path $TestDrive 'runs.csv'
        $first | Export-Csv -Path $csv -NoTypeInformation

        $repeats = @(
            ($first | Invoke-HexRun -Wait -ErrorAction Stop)
            (Get-HexRun -ProjectId $id -RunId $first.RunId -ErrorAction Stop | Invoke-HexRun -Wait -ErrorAction Stop)
            (Import-Csv -Path $csv | Invoke-HexRun -Wait -ErrorAction Stop)
        )

        $repeats.Count | Should -Be 3
        foreach ($repeat in $repeats) {
            $repeat.RunId | Should -Not -Be $first.RunId
            $repeat.FromCache | Should -BeFalse
            $repeat.Status | Should -Be 'COMPLETED'
            $repeat.IdempotencyKey | Should -BeNullOrEmpty -Because 'the old run''s key is not the new run''s'
            $repeat.SourceVersion | Should -BeNullOrEmpty -Because 'the old run''s source version says nothing of the data now'
        }
        $repeats[0].InputParameters | Should -BeExactly '{"region":"EU"}'
        $repeats[2].InputParameters | Should -BeExactly '{"region":"EU"}'
        @($repeats | ForEach-Object { $_.RunId } | Sort-Object -Unique).Count | Should -Be 3
        (Get-HexEmulatorStats -Emulator $emulator).RunsCreated | Should -Be ($created + 3)
    }

    It 'the command line (or a script block over the piped run) still decides: the same key replays the run' {
        $first = Invoke-HexRun -ProjectId $id -IdempotencyKey 'replay-key' -Wait -ErrorAction Stop
        $created = (Get-HexEmulatorStats -Emulator $emulator).RunsCreated

        $replayed = $first | Invoke-HexRun -IdempotencyKey { $_.IdempotencyKey } -Wait -ErrorAction Stop
        $again = $first | Invoke-HexRun -IdempotencyKey 'replay-key' -ErrorAction Stop

        $replayed.RunId | Should -Be $first.RunId
        $replayed.FromCache | Should -BeTrue
        $again.RunId | Should -Be $first.RunId
        (Get-HexEmulatorStats -Emulator $emulator).RunsCreated | Should -Be $created
    }

    It 'a plan row (no RunId) keeps its key and version; a blank cell is none' {
        $csv = Join-Path $TestDrive 'plan.csv'
        @(
            [pscustomobject]@{ ProjectId = $id; SourceVersion = ''; IdempotencyKey = 'plan-key' }
            [pscustomobject]@{ ProjectId = $id; SourceVersion = ''; IdempotencyKey = 'plan-key' }
            [pscustomobject]@{ ProjectId = $id; SourceVersion = ''; IdempotencyKey = '' }
            [pscustomobject]@{ ProjectId = $id; SourceVersion = ' '; IdempotencyKey = ' ' }
        ) | Export-Csv -Path $csv -NoTypeInformation
        $created = (Get-HexEmulatorStats -Emulator $emulator).RunsCreated

        $runs = @(Import-Csv -Path $csv | Invoke-HexRun -Wait -ErrorAction Stop)

        # With -Wait, runs are written as they end, not in row order.
        $runs.Count | Should -Be 4
        $keyed = @($runs | Where-Object IdempotencyKey -eq 'plan-key')
        $keyed.Count | Should -Be 2
        $keyed[1].RunId | Should -Be $keyed[0].RunId -Because 'the plan''s key names one run'
        $blank = @($runs | Where-Object { -not $_.IdempotencyKey })
        $blank.Count | Should -Be 2
        $blank[1].RunId | Should -Not -Be $blank[0].RunId
        foreach ($run in $blank) {
            $run.SourceVersion | Should -BeNullOrEmpty
        }
        (Get-HexEmulatorStats -Emulator $emulator).RunsCreated | Should -Be ($created + 3)
    }

    It 'one -IdempotencyKey for several projects runs each project once' {
        $ids = @(Get-HexProject -ErrorAction Stop | Where-Object { $_.Type -eq 'PROJECT' -and $_.LastPublishedAt -and $_.Title -notlike 'Failing*' } |
                Select-Object -First 2 | ForEach-Object { $_.ProjectId })
        $ids.Count | Should -Be 2

        $first = @($ids | Invoke-HexRun -IdempotencyKey 'nightly' -ErrorAction Stop)
        $second = @(Invoke-HexRun -ProjectId $ids -IdempotencyKey 'nightly' -ErrorAction Stop)

        (@($first | ForEach-Object { $_.ProjectId }) -join ',') | Should -Be ($ids -join ',') -Because 'each project gets its own run, not the first project''s'
        @($first | ForEach-Object { $_.RunId } | Sort-Object -Unique).Count | Should -Be 2
        (@($second | ForEach-Object { $_.RunId }) -join ',') | Should -Be (@($first | ForEach-Object { $_.RunId }) -join ',')
    }

    It '-SourceVersion: blank or white space is none (it never caches), white space around it is not part of it' {
        $blank = @(1..2 | ForEach-Object { Invoke-HexRun -ProjectId $id -SourceVersion ' ' -Wait -ErrorAction Stop })
        $blank[1].FromCache | Should -BeFalse -Because 'a blank version is no version: a blank CSV cell must not stop a project from running again'
        $blank[1].RunId | Should -Not -Be $blank[0].RunId
        $blank[0].SourceVersion | Should -BeNullOrEmpty

        $read = Invoke-HexRun -ProjectId $id -SourceVersion "v-trim`n" -Wait -ErrorAction Stop
        $typed = Invoke-HexRun -ProjectId $id -SourceVersion 'v-trim' -Wait -ErrorAction Stop
        $read.SourceVersion | Should -BeExactly 'v-trim'
        $typed.FromCache | Should -BeTrue -Because 'a version read with Get-Content -Raw is the version typed'
        $typed.RunId | Should -Be $read.RunId
    }

    It '-SourceVersion and -IdempotencyKey the ledger cannot keep are refused before anything is sent' {
        $sent = Get-HexRequestCount -Emulator $emulator -Operation 'RunProject'
        foreach ($case in @(
                @{ Parameters = @{ IdempotencyKey = 'k' + [char]0xD800 }; Pattern = 'surrogate' }
                @{ Parameters = @{ SourceVersion = [string][char]0xDC00 + 'v' }; Pattern = 'surrogate' }
                @{ Parameters = @{ SourceVersion = 'x' * 5000 }; Pattern = 'Get-FileHash' }
                @{ Parameters = @{ IdempotencyKey = 'k' * 5000 }; Pattern = '1024' })) {
            $parameters = $case.Parameters
            $captured = Invoke-HexCapture { Invoke-HexRun -ProjectId $id @parameters }
            $record = Assert-OneHexError $captured 'ParameterArgumentValidationError' 'InvalidData' @($case.Pattern)
            $record.Exception.Message | Should -Match ([regex]::Escape("parameter '$(@($parameters.Keys)[0])'"))
        }
        (Get-HexRequestCount -Emulator $emulator -Operation 'RunProject') | Should -Be $sent
    }
}

Describe 'Invoke-HexRun -Timeout, -Force and -IgnoreRunBudget' -Tag 'CI' {
    BeforeAll {
        $emulator = Start-HexEmulator -RunMilliseconds 200 -PendingMilliseconds 20
        $id = $null
    }
    AfterAll {
        Disconnect-Hex -ErrorAction SilentlyContinue
        Stop-HexEmulator -Emulator $emulator
    }
    BeforeEach {
        $null = Connect-HexTest -Emulator $emulator -StatePath $TestDrive
        if (-not $id) { $id = (Get-PublishedHexProject).ProjectId }
    }
    AfterEach {
        Disconnect-Hex -ErrorAction SilentlyContinue
    }

    It '-Timeout HexCost cannot wait (over 49 days, a bare number, zero) is HexInvalidTimeout before anything is sent' {
        $before = Get-HexEmulatorStats -Emulator $emulator
        foreach ($case in @(
                @{ Timeout = [timespan]::MaxValue; Pattern = '49 days' }
                @{ Timeout = (New-TimeSpan -Days 50); Pattern = '49 days' }
                @{ Timeout = 30; Pattern = 'ticks' }
                @{ Timeout = [timespan]::Zero; Pattern = 'longer than zero' })) {
            $captured = Invoke-HexCapture { Invoke-HexRun -ProjectId $id -Wait -Timeout $case.Timeout }
            $null = Assert-OneHexError $captured 'HexInvalidTimeout' 'InvalidArgument' @($case.Pattern, 'New-TimeSpan')
        }
        $after = Get-HexEmulatorStats -Emulator $emulator
        $after.RunsCreated | Should -Be $before.RunsCreated -Because 'no run is created for a -Timeout that cannot be waited'
        $after.TotalRequests | Should -Be $before.TotalRequests

        (Invoke-HexRun -ProjectId $id -Wait -Timeout (New-TimeSpan -Days 49) -ErrorAction Stop).Status | Should -Be 'COMPLETED'
    }

    It '-Timeout or -NoCancelOnTimeout without -Wait is an error, -ThrottleLimit without -Wait a warning' {
        $before = Get-HexEmulatorStats -Emulator $emulator
        $captured = Invoke-HexCapture { Invoke-HexRun -ProjectId $id -Timeout (New-TimeSpan -Minutes 5) }
        $null = Assert-OneHexError $captured 'HexInvalidTimeout' 'InvalidArgument' @('-Timeout applies only while waiting', 'add -Wait')
        $captured = Invoke-HexCapture { Invoke-HexRun -ProjectId $id -NoCancelOnTimeout }
        $null = Assert-OneHexError $captured 'HexInvalidTimeout' 'InvalidArgument' @('-NoCancelOnTimeout applies only while waiting')
        (Get-HexEmulatorStats -Emulator $emulator).TotalRequests | Should -Be $before.TotalRequests

        $captured = Invoke-HexCapture { Invoke-HexRun -ProjectId $id -ThrottleLimit 3 }
        $captured.Errors.Count | Should -Be 0
        $captured.Output.Count | Should -Be 1
        @($captured.Warnings | Where-Object { $_ -match '-ThrottleLimit applies only with -Wait' }).Count | Should -Be 1
    }

    It '-Force only skips the cache; -IgnoreRunBudget overrides the run budget and is recorded as forced' {
        Set-HexSpendLimit -MaxRunsPerProjectPerWeek 1 -Confirm:$false -ErrorAction Stop
        $null = Invoke-HexRun -ProjectId $id -SourceVersion 'budget' -Wait -ErrorAction Stop
        $created = (Get-HexEmulatorStats -Emulator $emulator).RunsCreated

        $captured = Invoke-HexCapture { Invoke-HexRun -ProjectId $id -SourceVersion 'budget' -Force -Wait }
        $null = Assert-OneHexError $captured 'HexRunBudgetExceeded' 'QuotaExceeded' @('-IgnoreRunBudget')
        (Get-HexEmulatorStats -Emulator $emulator).RunsCreated | Should -Be $created -Because '-Force does not override the budget'

        $captured = Invoke-HexCapture { Invoke-HexRun -ProjectId $id -IgnoreRunBudget -Wait }
        $captured.Errors.Count | Should -Be 0
        $captured.Output[0].Status | Should -Be 'COMPLETED'
        @($captured.Warnings | Where-Object { $_ -match '-IgnoreRunBudget overrides it' }).Count | Should -Be 1
        (Get-HexEmulatorStats -Emulator $emulator).RunsCreated | Should -Be ($created + 1)
        $report = Get-HexRunReport -ErrorAction Stop | Where-Object ProjectId -eq $id
        $report.Forced | Should -Be 1
        $report.Triggered | Should -Be 2
    }
}

Describe 'Project and run ids are checked before anything is sent' -Tag 'CI' {
    BeforeAll {
        $emulator = Start-HexEmulator -RunMilliseconds 200 -PendingMilliseconds 20
        $null = Connect-HexTest -Emulator $emulator -StatePath $TestDrive
        $id = (Get-PublishedHexProject).ProjectId
    }
    AfterAll {
        Disconnect-Hex -ErrorAction SilentlyContinue
        Stop-HexEmulator -Emulator $emulator
    }

    It '<Command>: a project id that is not a UUID is HexProjectNotFound, and no request is spent' -TestCases @(
        @{ Command = 'Get-HexProject'; Block = { Get-HexProject -ProjectId $bad } }
        @{ Command = 'Invoke-HexRun'; Block = { Invoke-HexRun -ProjectId $bad } }
        @{ Command = 'Get-HexRun'; Block = { Get-HexRun -ProjectId $bad } }
        @{ Command = 'Get-HexRun -RunId'; Block = { Get-HexRun -ProjectId $bad -RunId ([guid]::NewGuid().ToString()) } }
        @{ Command = 'Stop-HexRun'; Block = { Stop-HexRun -ProjectId $bad -RunId ([guid]::NewGuid().ToString()) -Confirm:$false } }
    ) {
        param($Command, $Block)
        foreach ($bad in @('not-a-project', ' ', "$([char]0xD800)x", ('9' * 5000))) {
            $before = Get-HexRequestCount -Emulator $emulator
            $captured = Invoke-HexCapture $Block
            $record = Assert-OneHexError $captured 'HexProjectNotFound' 'ObjectNotFound' @('is not a Hex project id', 'Get-HexProject', 'sent nothing')
            $record.Exception.Message.Length | Should -BeLessThan 400 -Because 'a huge value is not echoed whole'
            (Get-HexRequestCount -Emulator $emulator) | Should -Be $before -Because "$Command spends no request on '$($bad.Substring(0, [math]::Min(10, $bad.Length)))'"
        }
    }

    It '<Command>: a run id that is not a UUID is HexRunNotFound, and no request is spent' -TestCases @(
        @{ Command = 'Get-HexRun'; Block = { Get-HexRun -ProjectId $id -RunId 'not-a-run' } }
        @{ Command = 'Stop-HexRun'; Block = { Stop-HexRun -ProjectId $id -RunId 'not-a-run' -Confirm:$false } }
    ) {
        param($Command, $Block)
        $before = Get-HexRequestCount -Emulator $emulator
        $captured = Invoke-HexCapture $Block
        $null = Assert-OneHexError $captured 'HexRunNotFound' 'ObjectNotFound' @('is not a Hex run id', "Get-HexRun -ProjectId $id")
        (Get-HexRequestCount -Emulator $emulator) | Should -Be $before
    }

    It 'an id with white space around it, braces or capitals is the id Hex knows' {
        $messy = " {$($id.ToUpperInvariant())}`n"
        (Get-HexProject -ProjectId $messy -ErrorAction Stop).ProjectId | Should -Be $id
        $run = Invoke-HexRun -ProjectId $messy -Wait -ErrorAction Stop
        $run.ProjectId | Should -Be $id
        (Get-HexRun -ProjectId $messy -RunId " $($run.RunId.ToUpperInvariant())`r`n" -ErrorAction Stop).RunId | Should -Be $run.RunId
    }

    It 'Get-HexRun -IncludeTotalCount says the total is unknown instead of being ignored' {
        $null = Invoke-HexRun -ProjectId $id -ErrorAction Stop
        $output = @(Get-HexRun -ProjectId $id -First 1 -IncludeTotalCount -ErrorAction Stop)
        $output.Count | Should -Be 2
        $output[0].PSObject.TypeNames | Should -Contain 'HexCost.Run'
        $output[1].ToString() | Should -Be 'Unknown total count'
    }

    It 'Stop-HexRun on a run that has ended says how it ended, not HexBadRequest' {
        $run = Invoke-HexRun -ProjectId $id -Wait -ErrorAction Stop
        $captured = Invoke-HexCapture { Stop-HexRun -ProjectId $id -RunId $run.RunId -PassThru -Confirm:$false }
        $captured.Errors.Count | Should -Be 0 -Because "an ended run is not an error (got: $(@($captured.Errors | ForEach-Object { $_.FullyQualifiedErrorId }) -join '; '))"
        @($captured.Warnings | Where-Object { $_ -match "had already ended COMPLETED" -and $_ -match [regex]::Escape($run.RunId) }).Count | Should -Be 1
        $captured.Output[0].Status | Should -Be 'COMPLETED'
    }
}

Describe 'Pipeline input: what the help says binds, binds' -Tag 'CI' {
    BeforeAll {
        $emulator = Start-HexEmulator -RunMilliseconds 200 -PendingMilliseconds 20
        $null = Connect-HexTest -Emulator $emulator -StatePath $TestDrive
        $project = Get-PublishedHexProject
        $id = $project.ProjectId
        $run = Invoke-HexRun -ProjectId $id -Wait -ErrorAction Stop
        $csv = Join-Path $TestDrive 'run.csv'
        $run | Export-Csv -Path $csv -NoTypeInformation
        # A sample of each type the INPUTS sections may name, pointing at the project above.
        $samples = @{
            'System.String'                               = $id
            'HexCost.Model.HexProject'                    = $project
            'HexCost.Model.HexRun'                        = $run
            'System.Management.Automation.PSCustomObject' = (Import-Csv -Path $csv)
        }
        # What each cmdlet does with a piped sample without changing anything (-WhatIf where it would).
        $dryRuns = @{
            'Get-HexProject'   = { param($InputObject) $InputObject | Get-HexProject }
            'Invoke-HexRun'    = { param($InputObject) $InputObject | Invoke-HexRun -DryRun }
            'Get-HexRun'       = { param($InputObject) $InputObject | Get-HexRun -First 1 }
            'Stop-HexRun'      = { param($InputObject) $InputObject | Stop-HexRun -WhatIf }
            'Get-HexRunReport' = { param($InputObject) $InputObject | Get-HexRunReport }
        }
        function Get-HexPipelineText {
            # What Get-Help writes for a parameter's pipeline input, from the cmdlet's metadata.
            param([System.Management.Automation.ParameterSetMetadata] $Set)
            if ($Set.ValueFromPipeline -and $Set.ValueFromPipelineByPropertyName) { return 'True (ByValue, ByPropertyName)' }
            if ($Set.ValueFromPipeline) { return 'True (ByValue)' }
            if ($Set.ValueFromPipelineByPropertyName) { return 'True (ByPropertyName)' }
            return 'False'
        }
    }
    AfterAll {
        Disconnect-Hex -ErrorAction SilentlyContinue
        Stop-HexEmulator -Emulator $emulator
    }

    It '<Name>: the help''s pipeline input agrees with the parameters, and each INPUTS type binds' -TestCases @(
        @{ Name = 'Get-HexProject' }, @{ Name = 'Invoke-HexRun' }, @{ Name = 'Get-HexRun' }, @{ Name = 'Stop-HexRun' }, @{ Name = 'Get-HexRunReport' }
    ) {
        param($Name)
        $command = Get-Command -Name $Name -CommandType Cmdlet
        $help = Get-Help -Name $Name -Full
        $common = @([System.Management.Automation.Cmdlet]::CommonParameters) + @([System.Management.Automation.Cmdlet]::OptionalCommonParameters)
        $parameters = @($command.Parameters.Values | Where-Object { $common -notcontains $_.Name })

        foreach ($parameter in $parameters) {
            $documented = @($help.parameters.parameter | Where-Object { $_.name -eq $parameter.Name })
            $documented.Count | Should -Be 1 -Because "-$($parameter.Name) is in the help"
            $said = @($parameter.ParameterSets.Values | ForEach-Object { Get-HexPipelineText $_ } | Sort-Object -Unique)
            $said.Count | Should -Be 1 -Because "-$($parameter.Name) binds alike in every parameter set"
            [string]$documented[0].pipelineInput | Should -Be $said[0] -Because "the help says how -$($parameter.Name) binds"
        }

        $inputs = @($help.inputTypes.inputType | ForEach-Object { [string]$_.type.name })
        $byValue = @($parameters | Where-Object { @($_.ParameterSets.Values | Where-Object ValueFromPipeline).Count -gt 0 })
        $byName = @($parameters | Where-Object { @($_.ParameterSets.Values | Where-Object ValueFromPipelineByPropertyName).Count -gt 0 })
        if ($byValue.Count + $byName.Count -eq 0) {
            $inputs | Should -Be @('None') -Because "$Name takes no pipeline input"
            $captured = Invoke-HexCapture { & $dryRuns[$Name] $id }
            @($captured.Errors | Where-Object { $_.FullyQualifiedErrorId -like 'InputObjectNotBound*' }).Count | Should -Be 1
            return
        }
        $inputs | Should -Not -Contain 'None'
        foreach ($parameter in $byValue) {
            $type = $parameter.ParameterType
            if ($type.IsArray) { $type = $type.GetElementType() }
            $inputs | Should -Contain $type.FullName -Because "-$($parameter.Name) takes $($type.FullName) by value"
        }
        foreach ($typeName in $inputs) {
            $samples.ContainsKey($typeName) | Should -BeTrue -Because "the test has a sample of $typeName"
            $captured = Invoke-HexCapture { & $dryRuns[$Name] $samples[$typeName] }
            $binding = @($captured.Errors | Where-Object { $_.Exception -is [System.Management.Automation.ParameterBindingException] })
            $binding.Count | Should -Be 0 -Because "a piped $typeName binds to $Name ($(@($binding | ForEach-Object { $_.Exception.Message }) -join '; '))"
            $captured.Errors.Count | Should -Be 0 -Because "a piped $typeName works with $Name ($(@($captured.Errors | ForEach-Object { $_.FullyQualifiedErrorId }) -join '; '))"
        }
    }

    It '-ProjectId takes several ids on every cmdlet that runs or gets several projects' {
        @(Get-HexProject -ProjectId $id, $id -ErrorAction Stop).Count | Should -Be 2
        @(Invoke-HexRun -ProjectId $id, $id -DryRun -ErrorAction Stop).Count | Should -Be 2
        @($id, $id | Get-HexRun -First 1 -ErrorAction Stop).Count | Should -Be 2
    }
}

Describe 'Ctrl+C during Invoke-HexRun -Wait' -Tag 'CI' {
    BeforeAll {
        # Runs that take two minutes: the wait is stopped long before one ends.
        $emulator = Start-HexEmulator -RunMilliseconds 120000 -PendingMilliseconds 20
    }
    AfterAll {
        Disconnect-Hex -ErrorAction SilentlyContinue
        Stop-HexEmulator -Emulator $emulator
    }

    # SIGINT is what Ctrl+C sends a console program on Linux and macOS; Windows has no signal to send another process.
    It 'says which runs are still in flight and how to stop them, and Get-HexRunReport counts them as LeftRunning' -Skip:([System.Environment]::OSVersion.Platform -eq [System.PlatformID]::Win32NT) {
        $statePath = New-HexTestStatePath -Root $TestDrive
        $null = Connect-HexTest -Emulator $emulator -StatePath $TestDrive -Parameters @{ StatePath = $statePath }
        $ids = @(Get-HexProject -ErrorAction Stop | Where-Object { $_.Type -eq 'PROJECT' -and $_.LastPublishedAt -and $_.Title -notlike 'Failing*' } |
                Select-Object -First 2 | ForEach-Object { $_.ProjectId })
        $child = Start-HexPowerShell -Root $TestDrive -Script @"
Import-Module `$HexCostModule -ErrorAction Stop
`$token = ConvertTo-SecureString -String '$($emulator.Token)' -AsPlainText -Force
Connect-Hex -Token `$token -BaseUri '$($emulator.BaseUri)' -StatePath '$statePath' -RateLimit @{ RunProject = '10000/1m'; Request = '10000/1m'; Read = '10000/1m' } -ErrorAction Stop
'$($ids -join "','")' | ForEach-Object { [pscustomobject]@{ ProjectId = `$_ } } | Invoke-HexRun -Wait -Verbose 4>&1
'the wait ended by itself'
"@
        try {
            # Until the child waits for both runs it started.
            $deadline = [DateTime]::UtcNow.AddSeconds(60)
            while (@([regex]::Matches((Read-SharedFile -Path $child.OutputPath), 'Waiting for Run ')).Count -lt 2 -and -not $child.Process.HasExited -and [DateTime]::UtcNow -lt $deadline) {
                Start-Sleep -Milliseconds 100
            }
            @([regex]::Matches((Read-SharedFile -Path $child.OutputPath), 'Waiting for Run ')).Count | Should -Be 2 -Because "the child waits for its runs (errors: $(Read-SharedFile -Path $child.ErrorPath))"
            & kill -s INT $child.Process.Id
            $child.Process.WaitForExit(15000) | Should -BeTrue -Because 'Ctrl+C ends the wait'
        }
        finally {
            Stop-ProcessTree -Process $child.Process
        }
        $output = Read-SharedFile -Path $child.OutputPath
        $output | Should -Not -Match 'the wait ended by itself'
        $output | Should -Match '2 runs HexCost started are still in flight'

        # The warning names each run and the command that stops it; they are the runs the child started, still going.
        $named = @([regex]::Matches($output, 'Stop-HexRun -ProjectId (?<project>\S+) -RunId (?<run>[0-9a-f-]{36})') |
                ForEach-Object { [pscustomobject]@{ ProjectId = $_.Groups['project'].Value; RunId = $_.Groups['run'].Value } })
        $named.Count | Should -Be 2 -Because "the warning names both runs: $output"
        (@($named | ForEach-Object { $_.ProjectId } | Sort-Object) -join ',') | Should -Be (@($ids | Sort-Object) -join ',')
        $runs = @($named | ForEach-Object { Get-HexRun -ProjectId $_.ProjectId -RunId $_.RunId -ErrorAction Stop })
        foreach ($run in $runs) {
            $run.Status | Should -BeIn @('PENDING', 'RUNNING')
        }
        (Get-HexEmulatorStats -Emulator $emulator).RunsCreated | Should -Be 2
        $report = @(Get-HexRunReport -ErrorAction Stop)
        foreach ($projectId in $ids) {
            ($report | Where-Object ProjectId -eq $projectId).LeftRunning | Should -Be 1
        }

        # Once stopped, a run is no longer left running.
        $null = Stop-HexRun -ProjectId $runs[0].ProjectId -RunId $runs[0].RunId -Confirm:$false -ErrorAction Stop
        $null = Stop-HexRun -ProjectId $runs[1].ProjectId -RunId $runs[1].RunId -Confirm:$false -ErrorAction Stop
        foreach ($row in @(Get-HexRunReport -ErrorAction Stop | Where-Object { $ids -contains $_.ProjectId })) {
            $row.LeftRunning | Should -Be 0
        }
    }
}
