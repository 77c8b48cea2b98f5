# Pester 5.1+: Get-HexProject, Invoke-HexRun, Get-HexRun and Stop-HexRun against the Hex emulator.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $null = Import-HexCostUnderTest
}

Describe 'Runs against the emulator' -Tag 'CI' {
    BeforeAll {
        # Runs take 20 ms pending + 200 ms running.
        $emulator = Start-HexEmulator -RunMilliseconds 200 -PendingMilliseconds 20
    }

    AfterAll {
        Disconnect-Hex -ErrorAction SilentlyContinue
        Stop-HexEmulator -Emulator $emulator
    }

    BeforeEach {
        # A fresh state folder per test: no test sees another's ledger or run cache.
        $session = Connect-HexTest -Emulator $emulator -StatePath $TestDrive
    }

    AfterEach {
        Disconnect-Hex -ErrorAction SilentlyContinue
    }

    It 'runs every scheduled project with -Wait, and the runs round-trip through Export-Csv' {
        $scheduled = @(Get-HexProject -ErrorAction Stop | Where-Object ScheduleCount -gt 0)
        $scheduled.Count | Should -BeGreaterThan 0
        $csv = Join-Path $TestDrive 'runs.csv'

        Get-HexProject |
            Where-Object ScheduleCount -gt 0 |
            Invoke-HexRun -Wait -InputParameters @{ region = 'EU' } -ErrorAction SilentlyContinue -ErrorVariable runErrors |
            Tee-Object -Variable runs |
            Export-Csv -Path $csv -NoTypeInformation
        $runs = @($runs)
        $rows = @(Import-Csv -Path $csv)

        # One run per scheduled project, one row per run.
        $runs.Count | Should -Be $scheduled.Count
        $rows.Count | Should -Be $runs.Count
        (@($rows | ForEach-Object { $_.ProjectId } | Sort-Object) -join ',') | Should -Be (@($scheduled | ForEach-Object { $_.ProjectId } | Sort-Object) -join ',')
        (@($rows | ForEach-Object { $_.RunId } | Sort-Object) -join ',') | Should -Be (@($runs | ForEach-Object { $_.RunId } | Sort-Object) -join ',')
        @($rows | ForEach-Object { $_.RunId } | Sort-Object -Unique).Count | Should -Be $rows.Count

        # The columns are exactly HexCost.Run's properties, in order.
        (@($rows[0].PSObject.Properties | ForEach-Object { $_.Name }) -join ',') | Should -Be ($HexRunProperties -join ',')
        $runs[0].PSObject.TypeNames | Should -Contain 'HexCost.Run'

        foreach ($row in $rows) {
            $row.Status | Should -BeIn $HexRunStatuses
            $row.Status | Should -Not -BeIn @('PENDING', 'RUNNING') -Because "-Wait writes each run when it ends ($($row.ProjectId))"
            $row.RunId | Should -Not -BeNullOrEmpty
            $row.InputParameters | Should -BeExactly '{"region":"EU"}'
            $row.FromCache | Should -Be 'False'
        }

        # A run that ended badly (the demo's failing project) is written and reported as HexRunFailed.
        $errorIds = @(Get-ErrorIds $runErrors)
        foreach ($id in $errorIds) {
            $id | Should -BeLike 'HexRunFailed*'
        }
        $errorIds.Count | Should -Be @($rows | Where-Object { $_.Status -ne 'COMPLETED' }).Count
    }

    It 'round-trips Get-HexProject through Export-Csv' {
        $projects = @(Get-HexProject -ErrorAction Stop)
        $csv = Join-Path $TestDrive 'projects.csv'

        Get-HexProject | Export-Csv -Path $csv -NoTypeInformation
        $rows = @(Import-Csv -Path $csv)

        $projects.Count | Should -BeGreaterThan 0
        $rows.Count | Should -Be $projects.Count
        (@($rows[0].PSObject.Properties | ForEach-Object { $_.Name }) -join ',') | Should -Be ($HexProjectProperties -join ',')
        (@($rows | ForEach-Object { $_.ProjectId } | Sort-Object) -join ',') | Should -Be (@($projects | ForEach-Object { $_.ProjectId } | Sort-Object) -join ',')
        $projects[0].PSObject.TypeNames | Should -Contain 'HexCost.Project'
        foreach ($row in $rows) {
            $row.Title | Should -Not -BeNullOrEmpty
            if ([int]$row.ScheduleCount -gt 0) {
                $row.Cadences | Should -Not -BeNullOrEmpty -Because "$($row.Title) has schedules"
            }
        }
    }

    It 'returns the completed run from the cache for the same -SourceVersion' {
        $project = Get-PublishedHexProject

        $first = Invoke-HexRun -ProjectId $project.ProjectId -SourceVersion 'v1' -Wait -ErrorAction Stop
        $second = Invoke-HexRun -ProjectId $project.ProjectId -SourceVersion 'v1' -Wait -ErrorAction Stop
        # SourceVersion binds from the pipeline by property name too (and the project id by its Id alias).
        $third = [pscustomobject]@{ Id = $project.ProjectId; SourceVersion = 'v1' } | Invoke-HexRun -Wait -ErrorAction Stop

        $first.Status | Should -Be 'COMPLETED'
        $first.FromCache | Should -BeFalse
        $second.FromCache | Should -BeTrue
        $second.RunId | Should -Be $first.RunId
        $second.Status | Should -Be 'COMPLETED'
        $third.FromCache | Should -BeTrue
        $third.RunId | Should -Be $first.RunId
    }

    It 'starts a new run for the same -SourceVersion with -Force, or for another version' {
        $project = Get-PublishedHexProject

        $first = Invoke-HexRun -ProjectId $project.ProjectId -SourceVersion 'v1' -Wait -ErrorAction Stop
        $forced = Invoke-HexRun -ProjectId $project.ProjectId -SourceVersion 'v1' -Force -Wait -ErrorAction Stop
        $next = Invoke-HexRun -ProjectId $project.ProjectId -SourceVersion 'v2' -Wait -ErrorAction Stop

        $forced.FromCache | Should -BeFalse
        $forced.RunId | Should -Not -Be $first.RunId
        $next.FromCache | Should -BeFalse
        $next.RunId | Should -Not -Be $first.RunId
    }

    It 'starts nothing with -WhatIf' {
        $project = Get-PublishedHexProject
        $before = @(Get-HexRun -ProjectId $project.ProjectId -Trigger API -ErrorAction Stop).Count

        $output = @(Invoke-HexRun -ProjectId $project.ProjectId -Wait -WhatIf)
        $piped = @($project | Invoke-HexRun -WhatIf)

        $output.Count | Should -Be 0
        $piped.Count | Should -Be 0
        @(Get-HexRun -ProjectId $project.ProjectId -Trigger API -ErrorAction Stop).Count | Should -Be $before
    }

    It 'lists the run it started with Get-HexRun' {
        $project = Get-PublishedHexProject

        $run = Invoke-HexRun -ProjectId $project.ProjectId -Wait -ErrorAction Stop
        $status = Get-HexRun -ProjectId $project.ProjectId -RunId $run.RunId -ErrorAction Stop
        $listed = @(Get-HexRun -ProjectId $project.ProjectId -Trigger API -First 50 -ErrorAction Stop)

        $status.Status | Should -Be 'COMPLETED'
        $status.PSObject.TypeNames | Should -Contain 'HexCost.Run'
        @($listed | ForEach-Object { $_.RunId }) | Should -Contain $run.RunId
    }

    It 'completes -ProjectId from the titles Get-HexProject listed, through TabExpansion2, without asking Hex' {
        $projects = @(Get-HexProject -ErrorAction Stop)
        $revenue = @($projects | Where-Object { $_.Title -eq 'Revenue dashboard' })[0]
        $before = Get-HexEmulatorStats -Emulator $emulator

        foreach ($command in @('Invoke-HexRun', 'Get-HexRun', 'Get-HexScheduleAudit')) {
            $line = "$command -ProjectId Revenue"
            $completion = TabExpansion2 -inputScript $line -cursorColumn $line.Length
            $first = @($completion.CompletionMatches)[0]
            $first.CompletionText | Should -Be $revenue.ProjectId -Because "$command -ProjectId completes the title to the id"
            $first.ListItemText | Should -Be 'Revenue dashboard'
        }
        $line = 'Invoke-HexRun -ProjectId ' + $revenue.ProjectId.Substring(0, 8)
        @((TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches | ForEach-Object { $_.CompletionText }) | Should -Contain $revenue.ProjectId
        $line = 'Invoke-HexRun -ProjectId NoSuchTitleAnywhere'
        @((TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches | Where-Object { $_.ResultType -eq 'ParameterValue' }).Count | Should -Be 0

        (Get-HexEmulatorStats -Emulator $emulator).TotalRequests | Should -Be $before.TotalRequests -Because 'completion reads what was listed, never the API'
    }

    It 'reports HexProjectNotFound for a project id that does not exist' {
        $unknown = [guid]::NewGuid().ToString()

        $run = Invoke-HexRun -ProjectId $unknown -Wait -ErrorAction SilentlyContinue -ErrorVariable runErrors
        $project = Get-HexProject -ProjectId $unknown -ErrorAction SilentlyContinue -ErrorVariable projectErrors
        $notAnId = Invoke-HexRun -ProjectId 'not-a-project-id' -ErrorAction SilentlyContinue -ErrorVariable idErrors

        $run | Should -BeNullOrEmpty
        $project | Should -BeNullOrEmpty
        $notAnId | Should -BeNullOrEmpty
        $runIds = @(Get-ErrorIds $runErrors)
        $runIds.Count | Should -Be 1
        $runIds[0] | Should -BeLike 'HexProjectNotFound*'
        $projectIds = @(Get-ErrorIds $projectErrors)
        $projectIds.Count | Should -Be 1
        $projectIds[0] | Should -BeLike 'HexProjectNotFound*'
        $notAnIdIds = @(Get-ErrorIds $idErrors)
        $notAnIdIds.Count | Should -Be 1
        $notAnIdIds[0] | Should -BeLike 'HexProjectNotFound*'
    }

    It 'reports HexInvalidInputParameters naming the input the app does not have' {
        $project = Get-PublishedHexProject
        $before = @(Get-HexRun -ProjectId $project.ProjectId -Trigger API -ErrorAction Stop).Count

        $run = Invoke-HexRun -ProjectId $project.ProjectId -InputParameters @{ region = 'EU'; no_such_input = 'x' } -ErrorAction SilentlyContinue -ErrorVariable runErrors

        $run | Should -BeNullOrEmpty
        $ids = @(Get-ErrorIds $runErrors)
        $ids.Count | Should -Be 1
        $ids[0] | Should -BeLike 'HexInvalidInputParameters*'
        @($runErrors)[0].Exception.Message | Should -Match 'no_such_input'
        @(Get-HexRun -ProjectId $project.ProjectId -Trigger API -ErrorAction Stop).Count | Should -Be $before
    }
}

Describe 'Runs that outlive -Timeout' -Tag 'CI' {
    BeforeAll {
        # Runs take 5 s here, so a 1 s -Timeout always expires first.
        $slowEmulator = Start-HexEmulator -RunMilliseconds 5000 -PendingMilliseconds 20
    }

    AfterAll {
        Disconnect-Hex -ErrorAction SilentlyContinue
        Stop-HexEmulator -Emulator $slowEmulator
    }

    BeforeEach {
        $session = Connect-HexTest -Emulator $slowEmulator -StatePath $TestDrive
    }

    AfterEach {
        Disconnect-Hex -ErrorAction SilentlyContinue
    }

    It 'reports HexRunTimeout and cancels the run (KILLED)' {
        $project = Get-PublishedHexProject

        $run = Invoke-HexRun -ProjectId $project.ProjectId -Wait -Timeout (New-TimeSpan -Seconds 1) -ErrorAction SilentlyContinue -ErrorVariable runErrors

        $ids = @(Get-ErrorIds $runErrors)
        $ids.Count | Should -Be 1
        $ids[0] | Should -BeLike 'HexRunTimeout*'
        $run | Should -Not -BeNullOrEmpty
        $run.RunId | Should -Not -BeNullOrEmpty
        $run.Status | Should -Be 'KILLED'
        (Get-HexRun -ProjectId $project.ProjectId -RunId $run.RunId -ErrorAction Stop).Status | Should -Be 'KILLED'
    }

    It 'leaves the run running with -NoCancelOnTimeout, and Stop-HexRun cancels it' {
        $project = Get-PublishedHexProject

        $run = Invoke-HexRun -ProjectId $project.ProjectId -Wait -Timeout (New-TimeSpan -Seconds 1) -NoCancelOnTimeout -ErrorAction SilentlyContinue -ErrorVariable runErrors

        $ids = @(Get-ErrorIds $runErrors)
        $ids.Count | Should -Be 1
        $ids[0] | Should -BeLike 'HexRunTimeout*'
        $run.RunId | Should -Not -BeNullOrEmpty
        (Get-HexRun -ProjectId $project.ProjectId -RunId $run.RunId -ErrorAction Stop).Status | Should -BeIn @('PENDING', 'RUNNING')

        $stopped = Stop-HexRun -ProjectId $project.ProjectId -RunId $run.RunId -PassThru -Confirm:$false -ErrorAction Stop

        $stopped.Status | Should -Be 'KILLED'
        (Get-HexRun -ProjectId $project.ProjectId -RunId $run.RunId -ErrorAction Stop).Status | Should -Be 'KILLED'
    }
}
