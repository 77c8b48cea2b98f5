# Pester 5.1+: the state a workspace's sessions share, as a user meets it in real pwsh: the session says where it is, and
# Copy-HexState moves it into another store (records once, again adds nothing, -WhatIf creates nothing), after which a
# session on the new store sees the same runs and idempotency keys.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $null = Import-HexCostUnderTest
    $emulator = Start-HexEmulator -RunMilliseconds 100 -PendingMilliseconds 10
}

AfterAll {
    Disconnect-Hex -ErrorAction SilentlyContinue
    Stop-HexEmulator -Emulator $emulator
}

Describe 'Copy-HexState into another state folder' -Tag 'CI' {
    BeforeAll {
        $source = Connect-HexTest -Emulator $emulator -StatePath $TestDrive
        $project = Get-PublishedHexProject
        $keyed = Invoke-HexRun -ProjectId $project.ProjectId -IdempotencyKey 'copied-key' -Wait -ErrorAction Stop
        $cached = Invoke-HexRun -ProjectId $project.ProjectId -SourceVersion 'copied-v1' -Wait -ErrorAction Stop
        Set-HexSpendLimit -WeeklyRunBudget 500 -Confirm:$false -ErrorAction Stop
        $destination = Join-Path $TestDrive 'shared-state'
    }

    It 'the session says its store is its workspace folder' {
        $source.StateStore | Should -Be $source.StatePath
        Test-Path -LiteralPath (Join-Path $source.StatePath 'ledger.jsonl') | Should -BeTrue
    }

    It 'copies every record once, and a second copy adds nothing' {
        $first = Copy-HexState -Destination $destination -PassThru -Confirm:$false -ErrorAction Stop
        $first.RecordsCopied | Should -BeGreaterThan 3
        $first.RecordsAlreadyCopied | Should -Be 0
        $first.DocumentsCopied | Should -BeGreaterOrEqual 1
        $second = Copy-HexState -Destination $destination -PassThru -Confirm:$false -ErrorAction Stop
        $second.RecordsCopied | Should -Be 0
        $second.RecordsAlreadyCopied | Should -Be $first.RecordsCopied
        $copied = Get-ChildItem -LiteralPath (Join-Path $destination 'workspaces') -Directory | Select-Object -First 1
        $sourceLines = @(Get-Content -LiteralPath (Join-Path $source.StatePath 'ledger.jsonl')).Count
        @(Get-Content -LiteralPath (Join-Path $copied.FullName 'ledger.jsonl')).Count | Should -Be $sourceLines
    }

    It 'a session on the copy returns the same keyed and cached runs without starting any, and keeps the policy' {
        $created = (Get-HexEmulatorStats -Emulator $emulator).RunsCreated
        try {
            $null = Connect-Hex -Token (ConvertTo-SecureString -String $emulator.Token -AsPlainText -Force) -BaseUri $emulator.BaseUri `
                -StatePath $destination -RateLimit (Get-HexTestRateLimit) -PassThru -ErrorAction Stop
            (Invoke-HexRun -ProjectId $project.ProjectId -IdempotencyKey 'copied-key' -ErrorAction Stop).RunId | Should -Be $keyed.RunId
            $again = Invoke-HexRun -ProjectId $project.ProjectId -SourceVersion 'copied-v1' -ErrorAction Stop
            $again.RunId | Should -Be $cached.RunId
            $again.FromCache | Should -BeTrue
            (Get-HexSpendLimit -ErrorAction Stop).WeeklyRunBudget | Should -Be 500
            (Get-HexEmulatorStats -Emulator $emulator).RunsCreated | Should -Be $created
        }
        finally {
            Disconnect-Hex -ErrorAction SilentlyContinue
        }
    }

    It 'refuses the store the session already uses, and a credential for a folder' {
        $null = Connect-Hex -Token (ConvertTo-SecureString -String $emulator.Token -AsPlainText -Force) -BaseUri $emulator.BaseUri `
            -StatePath $destination -RateLimit (Get-HexTestRateLimit) -ErrorAction Stop
        $id = Get-TerminatingErrorId { Copy-HexState -Destination $destination -Confirm:$false }
        $id | Should -BeLike 'HexInvalidConfiguration,*'
        $credential = [pscredential]::new('hexcost', (ConvertTo-SecureString -String 'not-for-folders' -AsPlainText -Force))
        $id = Get-TerminatingErrorId { Copy-HexState -Destination (Join-Path $TestDrive 'other') -DestinationCredential $credential -Confirm:$false }
        $id | Should -BeLike 'HexInvalidConfiguration,*'
        Test-Path -LiteralPath (Join-Path $TestDrive 'other') | Should -BeFalse
    }
}

Describe 'Connect-Hex -StateStore: what is not a Redis store is refused before anything is sent' -Tag 'CI' {
    It '<Case> is HexInvalidConfiguration naming -StateStore' -TestCases @(
        @{ Case = 'a folder'; Value = '/srv/hexcost' }
        @{ Case = 'http'; Value = 'http://cache.internal:6379' }
        @{ Case = 'no host'; Value = 'redis:///0' }
    ) {
        $before = (Get-HexEmulatorStats -Emulator $emulator).TotalRequests
        $errors = @(try { Connect-Hex -Token (ConvertTo-SecureString -String $emulator.Token -AsPlainText -Force) -BaseUri $emulator.BaseUri -StateStore $Value } catch { $_ })
        $errors.Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'HexInvalidConfiguration,*'
        $errors[0].Exception.Message | Should -Match 'redis://'
        $errors[0].Exception.Message | Should -Match '-StateStore'
        (Get-HexEmulatorStats -Emulator $emulator).TotalRequests | Should -Be $before
    }

    It '-StateStoreCredential without a store, and -StatePath with one, are refused' {
        $credential = [pscredential]::new('hexcost', (ConvertTo-SecureString -String 'p' -AsPlainText -Force))
        $token = ConvertTo-SecureString -String $emulator.Token -AsPlainText -Force
        Get-TerminatingErrorId { Connect-Hex -Token $token -BaseUri $emulator.BaseUri -StateStoreCredential $credential } | Should -BeLike 'HexInvalidConfiguration,*'
        Get-TerminatingErrorId { Connect-Hex -Token $token -BaseUri $emulator.BaseUri -StateStore 'redis://127.0.0.1:6399' -StatePath $TestDrive } | Should -BeLike 'HexInvalidConfiguration,*'
    }
}
