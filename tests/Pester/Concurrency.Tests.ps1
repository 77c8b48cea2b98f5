# Pester 5.1+: parallel PowerShell (ForEach-Object -Parallel, Start-ThreadJob) shares one budget per account, and Ctrl+C
# stops a wait in a real pwsh without losing or doubling the run. The emulator counts what reached it.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $null = Import-HexCostUnderTest
}

Describe 'Parallel runspaces share one budget' -Tag 'CI' {
    BeforeAll {
        # The emulator answers 429 beyond 3 runs in any 2 s (and 600 requests a minute); HexCost is told the same limits.
        $emulator = Start-HexEmulator -RateLimited -ExtraArguments @('--runs-per-minute', '3', '--run-minute-ms', '2000',
            '--requests-per-minute', '600', '--reads-per-minute', '600')
        $limits = @{ RunProject = '3/2s'; Request = '600/1m'; Read = '600/1m' }
        $statePath = New-HexTestStatePath -Root $TestDrive
        # The same limits everywhere: the account (and its limiter) is the process's, whoever connects first.
        $null = Connect-HexTest -Emulator $emulator -StatePath $TestDrive -Parameters @{ StatePath = $statePath; RateLimit = $limits }
        $projectIds = @(Get-HexProject -ErrorAction Stop | Where-Object { $_.Type -eq 'PROJECT' -and $null -ne $_.LastPublishedAt -and $_.Title -notlike 'Failing*' } |
                ForEach-Object { $_.ProjectId })
        Disconnect-Hex
        # Each block imports the module (a path is not on PSModulePath) and connects on its own (a runspace has no default
        # session of its parent), then triggers 3 runs.
        $module = Get-HexCostManifestPath
        $block = {
            param($Module, $Token, $BaseUri, $StatePath, $Limits, $ProjectIds, $Index)
            Import-Module $Module -ErrorAction Stop
            $secure = ConvertTo-SecureString -String $Token -AsPlainText -Force
            Connect-Hex -Token $secure -BaseUri $BaseUri -StatePath $StatePath -RateLimit $Limits -ErrorAction Stop
            foreach ($n in 0..2) {
                Invoke-HexRun -ProjectId $ProjectIds[($Index * 3 + $n) % $ProjectIds.Count] -ErrorAction Stop
            }
        }
    }
    AfterAll {
        Stop-HexEmulator -Emulator $emulator
    }

    It 'ForEach-Object -Parallel: 4 blocks of 3 triggers start 12 runs and draw no 429' -Skip:($PSVersionTable.PSEdition -ne 'Core') {
        $before = Get-HexEmulatorStats -Emulator $emulator
        $arguments = @($module, $emulator.Token, $emulator.BaseUri, $statePath, $limits, $projectIds)
        # ForEach-Object -Parallel is PowerShell 7 syntax: built at run time so Windows PowerShell can still parse this file.
        $parallel = [scriptblock]::Create('param($Block, $Arguments) 0..3 | ForEach-Object -ThrottleLimit 4 -Parallel { $block = [scriptblock]::Create($using:Block); $a = $using:Arguments; & $block $a[0] $a[1] $a[2] $a[3] $a[4] $a[5] $_ }')
        $runs = @(& $parallel $block.ToString() $arguments)
        $after = Get-HexEmulatorStats -Emulator $emulator

        $runs.Count | Should -Be 12
        @($runs | ForEach-Object { $_.RunId } | Sort-Object -Unique).Count | Should -Be 12
        ($after.RunsCreated - $before.RunsCreated) | Should -Be 12
        ($after.Throttled429 - $before.Throttled429) | Should -Be 0 -Because 'the runspaces share one limiter, so none sends beyond the limit'
    }

    It 'Start-ThreadJob: 4 jobs of 3 triggers start 12 runs and draw no 429' -Skip:($PSVersionTable.PSEdition -ne 'Core') {
        $before = Get-HexEmulatorStats -Emulator $emulator
        $jobs = foreach ($index in 0..3) {
            Start-ThreadJob -ScriptBlock $block -ArgumentList $module, $emulator.Token, $emulator.BaseUri, $statePath, $limits, $projectIds, $index
        }
        $runs = @($jobs | Receive-Job -Wait -AutoRemoveJob -ErrorAction Stop)
        $after = Get-HexEmulatorStats -Emulator $emulator

        $runs.Count | Should -Be 12
        ($after.RunsCreated - $before.RunsCreated) | Should -Be 12
        ($after.Throttled429 - $before.Throttled429) | Should -Be 0 -Because 'the thread jobs share one limiter, so none sends beyond the limit'
    }
}

Describe 'Ctrl+C' -Tag 'CI' {
    BeforeAll {
        # Runs that take two minutes: the wait is stopped long before one ends.
        $emulator = Start-HexEmulator -RunMilliseconds 120000 -PendingMilliseconds 20
    }
    AfterAll {
        Disconnect-Hex -ErrorAction SilentlyContinue
        Stop-HexEmulator -Emulator $emulator
    }

    # SIGINT is what Ctrl+C sends a console program on Linux and macOS; Windows has no signal to send another process.
    It 'stops Invoke-HexRun -Wait in a real pwsh at once; the run goes on and the same -IdempotencyKey gets it back' -Skip:([System.Environment]::OSVersion.Platform -eq [System.PlatformID]::Win32NT) {
        $statePath = New-HexTestStatePath -Root $TestDrive
        # The child's state folder: the ledger it writes is what this session reads afterwards.
        $null = Connect-HexTest -Emulator $emulator -StatePath $TestDrive -Parameters @{ StatePath = $statePath }
        $project = Get-PublishedHexProject
        $stopped = Join-Path $TestDrive 'stopped.txt'
        $child = Start-HexPowerShell -Root $TestDrive -Script @"
Import-Module `$HexCostModule -ErrorAction Stop
`$token = ConvertTo-SecureString -String '$($emulator.Token)' -AsPlainText -Force
Connect-Hex -Token `$token -BaseUri '$($emulator.BaseUri)' -StatePath '$statePath' -RateLimit @{ RunProject = '10000/1m'; Request = '10000/1m'; Read = '10000/1m' } -ErrorAction Stop
try {
    Invoke-HexRun -ProjectId '$($project.ProjectId)' -IdempotencyKey 'ctrl-c' -Wait -Verbose 4>&1
    'the wait ended by itself'
}
finally {
    [System.IO.File]::WriteAllText('$stopped', 'stopped')
}
"@
        try {
            # Until the child says it waits for the run it started.
            $deadline = [DateTime]::UtcNow.AddSeconds(60)
            while ((Read-SharedFile -Path $child.OutputPath) -notmatch 'Waiting for' -and -not $child.Process.HasExited -and [DateTime]::UtcNow -lt $deadline) {
                Start-Sleep -Milliseconds 100
            }
            (Read-SharedFile -Path $child.OutputPath) | Should -Match 'Waiting for' -Because "the child waits for its run (errors: $(Read-SharedFile -Path $child.ErrorPath))"
            (Get-HexEmulatorStats -Emulator $emulator).RunsCreated | Should -Be 1

            $signalled = [DateTime]::UtcNow
            & kill -s INT $child.Process.Id
            $child.Process.WaitForExit(15000) | Should -BeTrue -Because 'Ctrl+C ends the wait'
            ([DateTime]::UtcNow - $signalled).TotalSeconds | Should -BeLessThan 10
        }
        finally {
            Stop-ProcessTree -Process $child.Process
        }
        (Read-SharedFile -Path $child.OutputPath) | Should -Not -Match 'the wait ended by itself'
        Test-Path -LiteralPath $stopped | Should -BeTrue -Because 'the script''s finally block ran'

        # The run goes on in Hex; the ledger knows it, so the same key returns it instead of starting another.
        $again = Invoke-HexRun -ProjectId $project.ProjectId -IdempotencyKey 'ctrl-c' -ErrorAction Stop
        $again.Status | Should -BeIn @('PENDING', 'RUNNING')
        (Get-HexEmulatorStats -Emulator $emulator).RunsCreated | Should -Be 1
        $null = Stop-HexRun -ProjectId $project.ProjectId -RunId $again.RunId -Confirm:$false -ErrorAction Stop
    }
}
