# Pester 5.1+: what reaches an admin's script when the network fails, in real pwsh: connection refused, a name that does not
# resolve, https to a plain-http port, a request that never gets an answer, and a Retry-After far beyond the deadline. Each
# is one HexCost error (HexConnectionFailed or HexRateLimitExhausted) naming the host and the likely cause, within a bounded
# time, each retry said on -Verbose, and the next piped item still tried.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $null = Import-HexCostUnderTest

    function Assert-HexConnectionFailed {
        # One HexConnectionFailed (ConnectionError) whose message names $Endpoint and matches $Cause, and no raw exception.
        param($Captured, [string] $Endpoint, [string] $Cause, [string] $Token)
        $ids = @($Captured.Errors | ForEach-Object { $_.FullyQualifiedErrorId })
        $ids.Count | Should -Be 1 -Because "one error is written (got: $($ids -join '; '))"
        $record = $Captured.Errors[0]
        $record.FullyQualifiedErrorId | Should -BeLike 'HexConnectionFailed,*'
        [string]$record.CategoryInfo.Category | Should -Be 'ConnectionError'
        $record.Exception | Should -BeOfType ([HexCost.Api.HexException])
        $record.Exception.Message | Should -Match ([regex]::Escape($Endpoint))
        $record.Exception.Message | Should -Match $Cause
        $record.Exception.Message | Should -Match '-BaseUri|-RequestTimeout|Get-HexRun'
        $record.Exception.Message | Should -Not -Match 'frame size|HttpRequestException|TimeoutRejectedException'
        if ($Token) { ($record.Exception.ToString()).Contains($Token.Substring(5, 20)) | Should -BeFalse -Because 'no error shows the token' }
        return $record
    }

    $fakeToken = 'hxtw_' + ('3' * 96)
    $secureFake = ConvertTo-SecureString -String $fakeToken -AsPlainText -Force
}

Describe 'Hex cannot be reached: one HexConnectionFailed naming the host and the cause, in bounded time' -Tag 'CI' {
    It 'connection refused: 3 tries said on -Verbose, then the host, the port and "connection refused"' {
        $port = Get-FreeTcpPort
        $captured = Invoke-HexCapture -AllVerbose { Connect-Hex -Token $secureFake -BaseUri "http://127.0.0.1:$port/api/v1" -StatePath (New-HexTestStatePath -Root $TestDrive) }
        $null = Assert-HexConnectionFailed $captured "127.0.0.1:$port" 'connection refused' $fakeToken
        @($captured.Verbose | Where-Object { $_ -match "Could not reach 127\.0\.0\.1:$port \(connection refused\); try [23] of 3" }).Count | Should -Be 2
        $captured.Seconds | Should -BeLessThan 15 -Because 'an unreachable host is given up on after 3 tries, not 6 with backoff up to half a minute'
    }

    It 'a host name that does not resolve: the name and DNS' {
        $captured = Invoke-HexCapture -AllVerbose { Connect-Hex -Token $secureFake -BaseUri 'https://hexcost-test.invalid/api/v1' -StatePath (New-HexTestStatePath -Root $TestDrive) }
        $null = Assert-HexConnectionFailed $captured 'hexcost-test.invalid:443' 'does not resolve \(DNS' $fakeToken
        $captured.Seconds | Should -BeLessThan 30
    }

    It 'https to a plain-http port: the TLS handshake, plain http named, and no retry' {
        $emulator = Start-HexEmulator
        try {
            $captured = Invoke-HexCapture -AllVerbose { Connect-Hex -Token $secureFake -BaseUri "https://127.0.0.1:$($emulator.Port)/api/v1" -StatePath (New-HexTestStatePath -Root $TestDrive) }
            $null = Assert-HexConnectionFailed $captured "127.0.0.1:$($emulator.Port)" 'TLS handshake failed.*plain http' $fakeToken
            $captured.Errors[0].Exception.Message | Should -Match '\(1 try in'
            @($captured.Verbose | Where-Object { $_ -match 'Could not reach' }).Count | Should -Be 0 -Because 'a port that speaks no TLS will not start to'
        }
        finally {
            Stop-HexEmulator -Emulator $emulator
        }
    }
}

Describe 'A request that never gets an answer' -Tag 'CI' {
    BeforeAll {
        $stalled = [guid]::NewGuid().ToString()
        $emulator = Start-HexEmulator -ExtraArguments @('--stall-project', $stalled)
        $session = Connect-HexTest -Emulator $emulator -StatePath $TestDrive -Parameters @{ RequestTimeout = [timespan]'00:00:01' }
        $real = Get-PublishedHexProject
    }

    AfterAll {
        Disconnect-Hex -ErrorAction SilentlyContinue
        Stop-HexEmulator -Emulator $emulator
    }

    It 'Connect-Hex -RequestTimeout is what the session shows' {
        $session.RequestTimeout | Should -Be ([timespan]'00:00:01')
    }

    It 'Get-HexProject: the stalled id is one HexConnectionFailed, and the next piped id is still read' {
        $captured = Invoke-HexCapture -AllVerbose { $stalled, $real.ProjectId | Get-HexProject }
        $null = Assert-HexConnectionFailed $captured "127.0.0.1:$($emulator.Port)" 'no answer from .* within 1 s a try \(3 tries' $emulator.Token
        @($captured.Output).Count | Should -Be 1
        $captured.Output[0].ProjectId | Should -Be $real.ProjectId
        @($captured.Verbose | Where-Object { $_ -match 'no answer within 1 s\); try [23] of 3' }).Count | Should -Be 2
    }

    It 'Invoke-HexRun: a trigger that got no answer says a run may exist and how to check, and the next piped project still runs' {
        $captured = Invoke-HexCapture -AllVerbose { $stalled, $real.ProjectId | Invoke-HexRun -Confirm:$false }
        $record = Assert-HexConnectionFailed $captured "127.0.0.1:$($emulator.Port)" 'a run may have been created' $emulator.Token
        $record.Exception.Message | Should -Match "Get-HexRun -ProjectId $stalled"
        @($captured.Output).Count | Should -Be 1
        $captured.Output[0].ProjectId | Should -Be $real.ProjectId
        $captured.Output[0].RunId | Should -Not -BeNullOrEmpty
    }

    It 'refuses a -RequestTimeout it cannot keep before sending anything: <Value>' -ForEach @(
        @{ Value = '30' }, @{ Value = '00:00:00' }, @{ Value = '00:05:00' }, @{ Value = '-00:00:10' }
    ) {
        $before = (Get-HexEmulatorStats -Emulator $emulator).TotalRequests
        $captured = Invoke-HexCapture -AllVerbose { Connect-Hex -Token (ConvertTo-SecureString -String $emulator.Token -AsPlainText -Force) -BaseUri $emulator.BaseUri -RequestTimeout $Value -StatePath (New-HexTestStatePath -Root $TestDrive) }
        @($captured.Errors).Count | Should -Be 1
        $captured.Errors[0].FullyQualifiedErrorId | Should -BeLike 'HexInvalidTimeout,*'
        $captured.Errors[0].Exception.Message | Should -Match '-RequestTimeout'
        (Get-HexEmulatorStats -Emulator $emulator).TotalRequests | Should -Be $before
    }
}

Describe 'A Retry-After far beyond the deadline' -Tag 'CI' {
    BeforeAll {
        # One trigger an hour, the hour 2849 s long: the second trigger gets 429 with Retry-After 2849.
        $emulator = Start-HexEmulator -RateLimited -ExtraArguments @('--runs-per-hour', '1', '--run-hour-ms', '2849000')
        $null = Connect-HexTest -Emulator $emulator -StatePath $TestDrive
        $project = Get-PublishedHexProject
    }

    AfterAll {
        Disconnect-Hex -ErrorAction SilentlyContinue
        Stop-HexEmulator -Emulator $emulator
    }

    It 'every item of the batch fails at once with the wait in its message, and only one trigger is refused by Hex' {
        $captured = Invoke-HexCapture -AllVerbose { 1..4 | ForEach-Object { $project.ProjectId } | Invoke-HexRun -Confirm:$false }
        @($captured.Output).Count | Should -Be 1 -Because 'the first trigger is within the hour'
        $ids = @($captured.Errors | ForEach-Object { $_.FullyQualifiedErrorId })
        $ids.Count | Should -Be 3 -Because "each later item fails (got: $($ids -join '; '))"
        foreach ($record in $captured.Errors) {
            $record.FullyQualifiedErrorId | Should -BeLike 'HexRateLimitExhausted,*'
            [string]$record.CategoryInfo.Category | Should -Be 'LimitsExceeded'
            $record.Exception.Message | Should -Match '28\d\d s \(47 min \d+ s\), until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC'
            $record.Exception.Message | Should -Match 'Run again after'
        }
        $captured.Seconds | Should -BeLessThan 20 -Because 'no item waits for a pause that ends after its deadline'
        $stats = Get-HexEmulatorStats -Emulator $emulator
        [int]$stats.RequestsByOperation.RunProject | Should -Be 2 -Because 'the items after the 429 are not sent'
        $stats.RunsCreated | Should -Be 1
    }
}
