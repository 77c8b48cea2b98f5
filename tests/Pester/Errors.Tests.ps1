# Pester 5.1+: every error id HexCost writes that a user can cause against a Hex server, as a user meets it in real
# pwsh: the stable id first in FullyQualifiedErrorId, the category, a message that says what to do, and no token in it.
# (Ids covered elsewhere: HexAuthFailed, HexInsecureBaseUri, HexInvalidRateLimit, HexNotConnected in Session.Tests;
# HexProjectNotFound, HexInvalidInputParameters, HexRunTimeout in Runs.Tests; HexRunBudgetExceeded in Credits.Tests;
# HexInvalidDataRefreshInterval in Audit.Tests.)
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $null = Import-HexCostUnderTest

    function Get-HexErrorRecord {
        # The error records $Block writes or throws, in order.
        param([Parameter(Mandatory = $true)] [scriptblock] $Block)
        return @((Invoke-HexCapture $Block).Errors)
    }

    function Assert-HexError {
        # The first error of $Records has the id, the category and a message, and shows no part of the token.
        param($Records, [string] $Id, [System.Management.Automation.ErrorCategory] $Category, [string] $Token, [string] $Hint)
        @($Records).Count | Should -BeGreaterThan 0 -Because "$Id is written"
        $record = @($Records)[0]
        $record.FullyQualifiedErrorId | Should -BeLike "$Id,*"
        $record.CategoryInfo.Category | Should -Be $Category
        $message = if ($record.ErrorDetails -and $record.ErrorDetails.Message) { $record.ErrorDetails.Message } else { $record.Exception.Message }
        $message.Length | Should -BeGreaterThan 20 -Because "$Id says what went wrong"
        if ($Hint) {
            $message | Should -Match ([regex]::Escape($Hint)) -Because "$Id says what to do"
        }
        ($message + $record.Exception.ToString()).Contains($Token.Substring(5, 20)) | Should -BeFalse -Because 'no error shows the token'
    }
}

Describe 'Errors against the Hex emulator' -Tag 'CI' {
    BeforeAll {
        $emulator = Start-HexEmulator
        $session = Connect-HexTest -Emulator $emulator -StatePath $TestDrive
        $projects = @(Get-HexProject -ErrorAction Stop)
        $published = Get-PublishedHexProject
        $draft = @($projects | Where-Object { $null -eq $_.LastPublishedAt })[0]
    }
    AfterAll {
        Disconnect-Hex -ErrorAction SilentlyContinue
        Stop-HexEmulator -Emulator $emulator
    }

    It 'HexProjectNotPublished: a project that was never published cannot be run through the API' {
        $errors = Get-HexErrorRecord { Invoke-HexRun -ProjectId $draft.ProjectId -Wait }
        Assert-HexError $errors 'HexProjectNotPublished' 'InvalidOperation' $emulator.Token 'ublish'
    }

    It 'HexRunFailed: a run that ends ERRORED is written and its error names it' {
        $failing = @($projects | Where-Object { $_.Title -like 'Failing*' })[0]
        $captured = Invoke-HexCapture { Invoke-HexRun -ProjectId $failing.ProjectId -Wait }
        Assert-HexError $captured.Errors 'HexRunFailed' 'InvalidResult' $emulator.Token 'ERRORED'
        @($captured.Output).Count | Should -Be 1 -Because 'the failed run is still written'
        $captured.Output[0].Status | Should -Be 'ERRORED'
    }

    It 'HexRunNotFound: a run id the project does not have' {
        $errors = Get-HexErrorRecord { Get-HexRun -ProjectId $published.ProjectId -RunId ([guid]::NewGuid().ToString()) }
        Assert-HexError $errors 'HexRunNotFound' 'ObjectNotFound' $emulator.Token ''
    }

    It 'HexInvalidTimeout: -Timeout of zero' {
        $errors = Get-HexErrorRecord { Invoke-HexRun -ProjectId $published.ProjectId -Wait -Timeout ([timespan]::Zero) }
        Assert-HexError $errors 'HexInvalidTimeout' 'InvalidArgument' $emulator.Token '-Timeout'
    }

    It 'HexInvalidConfiguration: a base URI that is not one' {
        $token = ConvertTo-SecureString -String $emulator.Token -AsPlainText -Force
        $errors = Get-HexErrorRecord { Connect-Hex -Token $token -BaseUri 'not-a-uri' -StatePath (New-HexTestStatePath -Root $TestDrive) }
        Assert-HexError $errors 'HexInvalidConfiguration' 'InvalidArgument' $emulator.Token 'https://'
    }

    It 'HexSpendPolicyCorrupt and HexStateError: a damaged spend policy stops Get-HexSpendLimit and every trigger' {
        Set-HexSpendLimit -WeeklyRunBudget 10 -Confirm:$false -ErrorAction Stop
        $policy = Join-Path $session.StatePath 'spend-policy.json'
        [System.IO.File]::WriteAllText($policy, '{ "weeklyRunBudget": 10, ')
        try {
            Assert-HexError (Get-HexErrorRecord { Get-HexSpendLimit }) 'HexSpendPolicyCorrupt' 'InvalidData' $emulator.Token 'spend-policy.json'
            $before = (Get-HexEmulatorStats -Emulator $emulator).RunsCreated
            Assert-HexError (Get-HexErrorRecord { Invoke-HexRun -ProjectId $published.ProjectId }) 'HexStateError' 'InvalidData' $emulator.Token 'spend-policy.json'
            (Get-HexEmulatorStats -Emulator $emulator).RunsCreated | Should -Be $before -Because 'no run starts on a policy HexCost cannot read'
        }
        finally {
            Remove-Item -LiteralPath $policy -Force
        }
    }

    It 'HexInvalidSpendPolicy: a negative run budget' {
        Assert-HexError (Get-HexErrorRecord { Set-HexSpendLimit -WeeklyRunBudget -1 -Confirm:$false }) 'HexInvalidSpendPolicy' 'InvalidArgument' $emulator.Token '-WeeklyRunBudget'
    }

    It 'HexNoCreditHistory: -FromHistory before any balance was taken' {
        Assert-HexError (Get-HexErrorRecord { Set-HexSpendLimit -FromHistory -Confirm:$false }) 'HexNoCreditHistory' 'InvalidOperation' $emulator.Token 'Get-HexCreditBalance'
    }

    It 'HexInvalidCreditParameter: a grant table for a seat that does not exist' {
        Assert-HexError (Get-HexErrorRecord { Get-HexCreditBalance -Plan Team -GrantTable @{ Wizard = 5 } }) 'HexInvalidCreditParameter' 'InvalidArgument' $emulator.Token ''
    }

    It 'HexUsageFileNotFound, HexInvalidUsageFile and HexInvalidUsageRow: usage files that cannot be imported, one error each, the rest goes on' {
        $missing = Join-Path $TestDrive 'no-such-usage.csv'
        Assert-HexError (Get-HexErrorRecord { Import-HexCreditUsage -Path $missing }) 'HexUsageFileNotFound' 'ObjectNotFound' $emulator.Token ''

        $columns = Join-Path $TestDrive 'wrong-columns.csv'
        [System.IO.File]::WriteAllText($columns, "Foo,Bar`n1,2`n")
        Assert-HexError (Get-HexErrorRecord { Import-HexCreditUsage -Path $columns }) 'HexInvalidUsageFile' 'InvalidData' $emulator.Token ''

        $rows = Join-Path $TestDrive 'bad-row.csv'
        $at = Get-HexUsageTimeThisCycle
        [System.IO.File]::WriteAllText($rows, "Date,Email,Credits`n$at,a@example.com,3`nyesterday,a@example.com,lots`n")
        $captured = Invoke-HexCapture { Import-HexCreditUsage -Path $rows }
        Assert-HexError $captured.Errors 'HexInvalidUsageRow' 'InvalidData' $emulator.Token ''
        @($captured.Output).Count | Should -Be 1
        $captured.Output[0].Imported | Should -Be 1 -Because 'the good row is imported anyway'
        $captured.Output[0].Rejected | Should -Be 1
    }

    It 'HexReportPathInvalid: a report path that is a folder' {
        Assert-HexError (Get-HexErrorRecord { Export-HexCostReport -Path $TestDrive -Confirm:$false }) 'HexReportPathInvalid' 'InvalidArgument' $emulator.Token 'hex-cost-report.html'
    }
}

Describe 'Errors that need a particular Hex' -Tag 'CI' {
    It 'HexForbidden: a token whose user is not a Manager cannot read AI credit usage, and -UsageOnly still works' {
        $editor = Start-HexEmulator -ExtraArguments @('--token-role', 'EDITOR')
        try {
            $null = Connect-HexTest -Emulator $editor -StatePath $TestDrive
            Assert-HexError (Get-HexErrorRecord { Get-HexCreditBalance -Plan Team }) 'HexForbidden' 'PermissionDenied' $editor.Token '-UsageOnly'
            @(Get-HexCreditBalance -Plan Team -UsageOnly -ErrorAction Stop).Count | Should -BeGreaterThan 0
        }
        finally {
            Disconnect-Hex -ErrorAction SilentlyContinue
            Stop-HexEmulator -Emulator $editor
        }
    }

    It 'HexRateLimitExhausted: Hex answers 429 for longer than HexCost waits' {
        # One run an emulated "hour" of two real hours; HexCost is told a far higher limit, so it sends and Hex refuses
        # with a Retry-After beyond the 15 minutes HexCost waits at most.
        $limited = Start-HexEmulator -RateLimited -ExtraArguments @('--runs-per-hour', '1', '--run-hour-ms', '7200000',
            '--requests-per-minute', '600', '--reads-per-minute', '600')
        try {
            $null = Connect-HexTest -Emulator $limited -StatePath $TestDrive
            $project = Get-PublishedHexProject
            $null = Invoke-HexRun -ProjectId $project.ProjectId -ErrorAction Stop
            $clock = [System.Diagnostics.Stopwatch]::StartNew()
            Assert-HexError (Get-HexErrorRecord { Invoke-HexRun -ProjectId $project.ProjectId }) 'HexRateLimitExhausted' 'LimitsExceeded' $limited.Token ''
            $clock.Elapsed.TotalSeconds | Should -BeLessThan 30 -Because 'a wait longer than HexCost allows is not waited for'
            (Get-HexEmulatorStats -Emulator $limited).RunsCreated | Should -Be 1
        }
        finally {
            Disconnect-Hex -ErrorAction SilentlyContinue
            Stop-HexEmulator -Emulator $limited
        }
    }

    It 'HexKernelLimit: every kernel is busy for longer than HexCost retries, and no run is created' {
        $busy = Start-HexEmulator -RunMilliseconds 120000 -ExtraArguments @('--max-kernels', '1')
        try {
            $null = Connect-HexTest -Emulator $busy -StatePath $TestDrive
            $project = Get-PublishedHexProject
            $running = Invoke-HexRun -ProjectId $project.ProjectId -ErrorAction Stop
            Assert-HexError (Get-HexErrorRecord { Invoke-HexRun -ProjectId $project.ProjectId }) 'HexKernelLimit' 'ResourceBusy' $busy.Token 'Stop-HexRun'
            (Get-HexEmulatorStats -Emulator $busy).RunsCreated | Should -Be 1
            $null = Stop-HexRun -ProjectId $project.ProjectId -RunId $running.RunId -Confirm:$false -ErrorAction Stop
        }
        finally {
            Disconnect-Hex -ErrorAction SilentlyContinue
            Stop-HexEmulator -Emulator $busy
        }
    }

    It 'HexConnectionFailed: nothing answers at the base URI' {
        $token = ConvertTo-SecureString -String ('hxtw_' + ('2' * 96)) -AsPlainText -Force
        $nowhere = 'http://127.0.0.1:' + (Get-FreeTcpPort) + '/api/v1'
        $errors = Get-HexErrorRecord { Connect-Hex -Token $token -BaseUri $nowhere -StatePath (New-HexTestStatePath -Root $TestDrive) }
        Assert-HexError $errors 'HexConnectionFailed' 'ConnectionError' ('hxtw_' + ('2' * 96)) '-BaseUri'
    }
}
