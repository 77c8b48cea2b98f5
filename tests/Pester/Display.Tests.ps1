# Pester 5.1+: the default views (module/HexCost.Format.ps1xml) at 80 and 120 columns, in real PowerShell against the
# Hex emulator. Every cmdlet that writes a table is run, its output rendered with Out-String -Width 80 and -Width 120,
# and the text checked: one header line (the line before the dashes), no line wider than the width, every column of
# the view there, and the values of the columns that matter shown whole (no '…'). List views: no line wider than the
# width, every label on its own line, and long texts wrapped only between words. One test compares Out-String -Width 80
# with what a real 80-column console (a tmux pane) shows; it is skipped where tmux is not installed.
# One Describe: the module is imported once per process (see Common.ps1).
BeforeDiscovery {
    # The real-console test needs tmux (an 80-column terminal to run PowerShell in); without it, it is skipped.
    $tmuxMissing = $null -eq (Get-Command -Name 'tmux' -CommandType Application -ErrorAction SilentlyContinue)
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $null = Import-HexCostUnderTest

    # PowerShell's ellipsis for a value cut to fit its column.
    $Ellipsis = [string][char]0x2026

    function ConvertTo-HexDisplayLine {
        # The lines Out-String -Width $Width writes for $InputObject (its default view), without ANSI escapes.
        param([object[]] $InputObject, [int] $Width)
        $text = $InputObject | Out-String -Width $Width
        $text = [regex]::Replace($text, "\x1b\[[0-9;?]*[A-Za-z]", '')
        return @($text -split "\r?\n")
    }

    function Get-HexTableColumn {
        # The columns of the table view for $TypeName: label, width, alignment and where each starts in a line.
        param([string] $TypeName)
        $definition = @((Get-FormatData -TypeName $TypeName).FormatViewDefinition |
                Where-Object { $_.Control -is [System.Management.Automation.TableControl] }) | Select-Object -First 1
        if ($null -eq $definition) {
            throw "HexCost has no table view for $TypeName."
        }
        $start = 0
        foreach ($header in $definition.Control.Headers) {
            [pscustomobject]@{ Label = $header.Label; Width = $header.Width; Alignment = $header.Alignment; Start = $start }
            $start += $header.Width + 1
        }
    }

    function Get-HexCell {
        param([string] $Line, $Column)
        if ($Line.Length -le $Column.Start) {
            return ''
        }
        return $Line.Substring($Column.Start, [math]::Min($Column.Width, $Line.Length - $Column.Start)).Trim()
    }

    function Assert-HexTable {
        <#
        Renders $InputObject (objects of one type) at each width and checks the table: exactly one dashes line, a header of
        one line right above it (a blank line before it), every label of the view in its own column, no line wider than
        the width, one row per object, and for each label in $Expected (label = scriptblock giving the text the cell must
        show for an object, e.g. { $args[0].Status }) the cell is that text exactly, with no ellipsis.
        Returns the lines rendered at 80 columns.
        #>
        param(
            [Parameter(Mandatory = $true)] [object[]] $InputObject,
            [Parameter(Mandatory = $true)] [string] $TypeName,
            [Parameter(Mandatory = $true)] [System.Collections.Specialized.OrderedDictionary] $Expected,
            [int[]] $Width = @(80, 120)
        )
        $columns = @(Get-HexTableColumn -TypeName $TypeName)
        $at80 = $null
        foreach ($w in $Width) {
            $lines = ConvertTo-HexDisplayLine -InputObject $InputObject -Width $w
            if ($w -eq 80) { $at80 = $lines }
            $shown = ($lines -join "`n")
            foreach ($line in $lines) {
                $line.Length | Should -BeLessOrEqual $w -Because "every line of $TypeName at $w columns fits: '$line'`n$shown"
            }
            $dashes = @(for ($i = 0; $i -lt $lines.Count; $i++) { if ($lines[$i] -match '^\s*-+(\s+-+)*\s*$') { $i } })
            $dashes.Count | Should -Be 1 -Because "$TypeName at $w columns is one table with one dashes line:`n$shown"
            $d = $dashes[0]
            $d | Should -BeGreaterThan 0 -Because "a header line comes before the dashes"
            $header = $lines[$d - 1]
            if ($d -ge 2) {
                $lines[$d - 2].Trim() | Should -BeNullOrEmpty -Because "the header of $TypeName at $w columns is one line, not wrapped:`n$shown"
            }
            foreach ($column in $columns) {
                (Get-HexCell -Line $header -Column $column) | Should -BeExactly $column.Label -Because "$TypeName at $w columns shows column $($column.Label) whole, in its place:`n$shown"
            }
            $rows = @($lines[($d + 1)..($lines.Count - 1)] | Where-Object { $_.Trim().Length -gt 0 })
            $rows.Count | Should -Be $InputObject.Count -Because "one line per $TypeName at $w columns (no wrapped rows):`n$shown"
            for ($r = 0; $r -lt $rows.Count; $r++) {
                foreach ($label in $Expected.Keys) {
                    $column = @($columns | Where-Object { $_.Label -eq $label })
                    $column.Count | Should -Be 1 -Because "the $TypeName view has a column $label"
                    $cell = Get-HexCell -Line $rows[$r] -Column $column[0]
                    $want = [string](& $Expected[$label] $InputObject[$r])
                    $cell | Should -Not -Match ([regex]::Escape($Ellipsis)) -Because "$label of $TypeName row $r is not cut at $w columns: '$($rows[$r])'"
                    $cell | Should -BeExactly $want -Because "$label of $TypeName row $r at $w columns: '$($rows[$r])'"
                }
            }
        }
        return $at80
    }

    function Assert-HexList {
        <#
        Renders one object with a list view at each width: no line wider than the width, the view's labels each starting a
        line (so none is broken), and the values of the properties in $Wrapped, when spread over several lines, split only
        between words (joining the lines with a space gives the value back).
        #>
        param(
            [Parameter(Mandatory = $true)] $InputObject,
            [Parameter(Mandatory = $true)] [string] $TypeName,
            [string[]] $Wrapped = @(),
            [int[]] $Width = @(80, 120)
        )
        $definition = @((Get-FormatData -TypeName $TypeName).FormatViewDefinition |
                Where-Object { $_.Control -is [System.Management.Automation.ListControl] }) | Select-Object -First 1
        $labels = @($definition.Control.Entries[0].Items | ForEach-Object { if ($_.Label) { $_.Label } else { $_.DisplayEntry.Value } })
        $labels.Count | Should -BeGreaterThan 0
        $labelWidth = ($labels | Measure-Object -Property Length -Maximum).Maximum
        foreach ($w in $Width) {
            $lines = @(ConvertTo-HexDisplayLine -InputObject $InputObject -Width $w | Where-Object { $_.Trim().Length -gt 0 })
            $shown = ($lines -join "`n")
            foreach ($line in $lines) {
                $line.Length | Should -BeLessOrEqual $w -Because "every line of $TypeName at $w columns fits: '$line'`n$shown"
            }
            # Out-String drops the trailing blanks of 'Label : ' when the value is empty.
            $lines = @($lines | ForEach-Object { $_.PadRight($labelWidth + 3) })
            $starts = @()
            for ($i = 0; $i -lt $lines.Count; $i++) {
                if ($lines[$i].Substring($labelWidth, 3).TrimEnd() -eq ' :' -and $lines[$i].Substring(0, $labelWidth).Trim().Length -gt 0) {
                    $starts += $i
                }
            }
            (@($starts | ForEach-Object { $lines[$_].Substring(0, $labelWidth).Trim() }) -join ',') | Should -BeExactly ($labels -join ',') -Because "$TypeName at $w columns lists every label, whole, once:`n$shown"
            foreach ($property in $Wrapped) {
                $index = [array]::IndexOf($labels, $property)
                $index | Should -BeGreaterOrEqual 0
                $first = $starts[$index]
                $last = if ($index + 1 -lt $starts.Count) { $starts[$index + 1] - 1 } else { $lines.Count - 1 }
                $parts = @($lines[$first].Substring($labelWidth + 3).Trim())
                for ($i = $first + 1; $i -le $last; $i++) {
                    $parts += $lines[$i].Trim()
                }
                ($parts -join ' ') | Should -BeExactly ([string]$InputObject.$property) -Because "$property of $TypeName at $w columns wraps between words only:`n$shown"
            }
        }
    }

    function Format-HexNumber {
        # The text a view's FormatString gives a value (empty for $null), in this session's culture as the views use it.
        param($Value, [string] $Format)
        if ($null -eq $Value) {
            return ''
        }
        return ($Format -f $Value)
    }

    function Format-HexElapsed {
        param($Seconds)
        if ($null -eq $Seconds) {
            return ''
        }
        # hh:mm:ss, with the hours of a run longer than a day counted on (25:01:01).
        $t = [System.TimeSpan]::FromSeconds([System.Math]::Round($Seconds))
        return ('{0:00}:{1:00}:{2:00}' -f [System.Math]::Floor($t.TotalHours), $t.Minutes, $t.Seconds)
    }
}

Describe 'Default views at 80 and 120 columns' -Tag 'CI' {
    BeforeAll {
        # The run view's columns, and how each cell is made from a run.
        $runColumns = [ordered]@{
            ProjectId = { $args[0].ProjectId }
            Status    = { $args[0].Status }
            Elapsed   = { Format-HexElapsed $args[0].ElapsedSeconds }
            Cached    = { [string]$args[0].FromCache }
        }
        $emulator = Start-HexEmulator -RunMilliseconds 200 -PendingMilliseconds 20
        $session = Connect-HexTest -Emulator $emulator -StatePath $TestDrive
        $project = Get-PublishedHexProject -WithSchedule
    }

    AfterAll {
        Disconnect-Hex -ErrorAction SilentlyContinue
        Stop-HexEmulator -Emulator $emulator
    }

    It 'Connect-Hex -PassThru: who, with which role, against which Hex' {
        $expected = [ordered]@{
            UserEmail   = { $args[0].UserEmail }
            Role        = { $args[0].Role }
            BaseUri     = { $args[0].BaseUri }
            IsConnected = { [string]$args[0].IsConnected }
        }
        $null = Assert-HexTable -InputObject @($session) -TypeName 'HexCost.Session' -Expected $expected
    }

    It 'Get-HexProject: titles, whole 36-character ids and cadences' {
        $projects = @(Get-HexProject -ErrorAction Stop)
        $projects.Count | Should -BeGreaterThan 1
        $expected = [ordered]@{
            Title     = { $args[0].Title }
            ProjectId = { $args[0].ProjectId }
            Cadences  = { $args[0].Cadences }
        }
        $null = Assert-HexTable -InputObject $projects -TypeName 'HexCost.Project' -Expected $expected
    }

    It 'Invoke-HexRun -Wait and Get-HexRun: the project id and the whole status' {
        $runs = @($project | Invoke-HexRun -Wait -ErrorAction Stop)
        $runs.Count | Should -Be 1
        $runs[0].Status | Should -BeExactly 'COMPLETED'
        $history = @(Get-HexRun -ProjectId $project.ProjectId -ErrorAction Stop)
        $history.Count | Should -BeGreaterThan 1
        $lines = Assert-HexTable -InputObject $runs -TypeName 'HexCost.Run' -Expected $runColumns
        ($lines -join "`n") | Should -Match 'COMPLETED'
        $null = Assert-HexTable -InputObject $history -TypeName 'HexCost.Run' -Expected $runColumns
    }

    It 'the run view shows every Hex run status whole, and durations of more than a day' {
        $runs = @(for ($i = 0; $i -lt $HexRunStatuses.Count; $i++) {
                [pscustomobject]@{
                    PSTypeName = 'HexCost.Run'; ProjectId = [guid]::NewGuid().ToString(); RunId = [guid]::NewGuid().ToString()
                    Status = $HexRunStatuses[$i]; ElapsedSeconds = @(0.4, 59.6, 4000.4, 86399, 90061, $null)[$i]; FromCache = ($i % 2 -eq 0)
                }
            })
        $null = Assert-HexTable -InputObject $runs -TypeName 'HexCost.Run' -Expected $runColumns
    }

    It 'Get-HexScheduleAudit: rule, project or owner, and both savings columns' {
        # -IdleDays 1 finds idle editor seats, the findings with money; the seat price makes it wide.
        $findings = @(Get-HexScheduleAudit -IdleDays 1 -EditorSeatPrice 12345.67 -ErrorAction Stop)
        @($findings | Where-Object { $_.EstimatedRunsSavedPerWeek -ge 100 }).Count | Should -BeGreaterThan 0
        @($findings | Where-Object { $_.EstimatedMonthlySavings -eq 12345.67 }).Count | Should -BeGreaterThan 0
        $expected = [ordered]@{
            Severity        = { $args[0].Severity }
            Rule            = { $args[0].Rule }
            'Project/Owner' = { if ($args[0].ProjectTitle) { $args[0].ProjectTitle } elseif ($args[0].ProjectId) { $args[0].ProjectId } else { $args[0].Owner } }
            'Saved/wk'      = { Format-HexNumber $args[0].EstimatedRunsSavedPerWeek '{0:0.#}' }
            'Saved/mo'      = { Format-HexNumber $args[0].EstimatedMonthlySavings '{0:N2}' }
        }
        $null = Assert-HexTable -InputObject $findings -TypeName 'HexCost.ScheduleFinding' -Expected $expected
    }

    It 'Import-HexCreditUsage and Get-HexCreditBalance: credit numbers such as 12345.6 whole' {
        $before = @(Get-HexCreditBalance -Plan Team -ErrorAction Stop)
        $user = @($before | Where-Object { $_.SeatType -eq 'Editor' -and $_.Email })[0]
        # A time inside the current cycle, whatever the date.
        $start = $before[0].CycleStart
        $now = [DateTime]::UtcNow
        $at = $start.AddTicks([long](($now - $start).Ticks / 2)).ToString('yyyy-MM-ddTHH:mm:ssZ', [System.Globalization.CultureInfo]::InvariantCulture)
        $csv = Join-Path $TestDrive 'hex-usage.csv'
        "Date,Email,Credits`n$at,$($user.Email),12345.6`n" | Set-Content -Path $csv -Encoding UTF8

        $import = @(Import-HexCreditUsage -Path $csv -ErrorAction Stop)
        $import[0].CreditsImported | Should -Be 12345.6
        $expected = [ordered]@{
            Imported        = { [string]$args[0].Imported }
            Duplicates      = { [string]$args[0].Duplicates }
            Rejected        = { [string]$args[0].Rejected }
            CreditsImported = { Format-HexNumber $args[0].CreditsImported '{0:N1}' }
        }
        $lines = Assert-HexTable -InputObject $import -TypeName 'HexCost.CreditUsageImport' -Expected $expected
        ($lines -join "`n") | Should -Match 'hex-usage\.csv'

        $balances = @(Get-HexCreditBalance -Plan Team -ErrorAction Stop)
        # Added to what the user's AI threads already used this cycle (nothing mid-month, more late in a month).
        (@($balances | Where-Object { $_.Email -eq $user.Email })[0]).CreditsUsed | Should -Be ($user.CreditsUsed + 12345.6)
        $expected = [ordered]@{
            Email     = { $args[0].Email }
            SeatType  = { $args[0].SeatType }
            Used      = { Format-HexNumber $args[0].CreditsUsed '{0:0.#}' }
            Remaining = { Format-HexNumber $args[0].GrantRemaining '{0:0.#}' }
            FromPool  = { Format-HexNumber $args[0].DrawnFromPool '{0:0.#}' }
            Projected = { Format-HexNumber $args[0].ProjectedCycleUse '{0:0.#}' }
        }
        $null = Assert-HexTable -InputObject $balances -TypeName 'HexCost.CreditBalance' -Expected $expected
    }

    It 'the credit balance view fits 12345.6 credits in every number column' {
        $row = [pscustomobject]@{
            PSTypeName = 'HexCost.CreditBalance'; Email = 'priya.natarajan@example.com'; SeatType = 'Explorer'; MonthlyGrant = 10
            CreditsUsed = 12345.6; GrantRemaining = 12345.6; DrawnFromPool = 12345.6; ProjectedCycleUse = 123456.7
        }
        $expected = [ordered]@{
            Email     = { $args[0].Email }
            SeatType  = { $args[0].SeatType }
            Used      = { Format-HexNumber $args[0].CreditsUsed '{0:0.#}' }
            Remaining = { Format-HexNumber $args[0].GrantRemaining '{0:0.#}' }
            FromPool  = { Format-HexNumber $args[0].DrawnFromPool '{0:0.#}' }
            Projected = { Format-HexNumber $args[0].ProjectedCycleUse '{0:0.#}' }
        }
        $null = Assert-HexTable -InputObject @($row) -TypeName 'HexCost.CreditBalance' -Expected $expected
    }

    It 'Get-HexCreditBalance -Workspace: a list whose labels stay whole and whose Evidence wraps between words' {
        $summary = Get-HexCreditBalance -Plan Team -Workspace -ErrorAction Stop
        $summary.PSObject.TypeNames | Should -Contain 'HexCost.CreditSummary'
        $summary.Evidence.Length | Should -BeGreaterThan 120
        Assert-HexList -InputObject $summary -TypeName 'HexCost.CreditSummary' -Wrapped 'Evidence'
    }

    It 'Set-HexSpendLimit, Get-HexSpendLimit and -History: the policy list, and the old and new values of each change' {
        Set-HexSpendLimit -MonthlyAddOnLimit 12345.6 -AlertThreshold 60, 70, 80, 90, 100 -WeeklyRunBudget 500 -MaxRunsPerProjectPerWeek 20 -ErrorAction Stop
        # -Force: the lower limit is below what the imported usage already spent, which Set-HexSpendLimit would ask about.
        Set-HexSpendLimit -MonthlyAddOnLimit 500 -AlertThreshold 80, 90, 100 -WeeklyRunBudget 12345 -Force -ErrorAction Stop

        $policy = Get-HexSpendLimit -ErrorAction Stop
        Assert-HexList -InputObject $policy -TypeName 'HexCost.SpendPolicy' -Wrapped 'HexEnforced', 'SetInHex'

        $history = @(Get-HexSpendLimit -History -ErrorAction Stop)
        @($history | Where-Object { $_.OldValue -eq '60,70,80,90,100' }).Count | Should -Be 1
        @($history | Where-Object { $_.OldValue -eq '12345.6' }).Count | Should -Be 1
        $expected = [ordered]@{
            ChangedAt = { $args[0].ChangedAt.ToString("yyyy-MM-dd HH:mm'Z'", [System.Globalization.CultureInfo]::InvariantCulture) }
            Field     = { $args[0].Field }
            OldValue  = { $args[0].OldValue }
            NewValue  = { $args[0].NewValue }
        }
        $null = Assert-HexTable -InputObject $history -TypeName 'HexCost.SpendPolicyChange' -Expected $expected
    }

    It 'Get-HexRunReport: the project id and its run counts' {
        $report = @(Get-HexRunReport -ErrorAction Stop)
        $report.Count | Should -BeGreaterThan 0
        $expected = [ordered]@{
            ProjectId = { $args[0].ProjectId }
            Triggered = { [string]$args[0].Triggered }
            CacheHits = { [string]$args[0].CacheHits }
            Failed    = { [string]$args[0].Failed }
            Forced    = { [string]$args[0].Forced }
            '%Budget' = { Format-HexNumber $args[0].PercentOfBudget '{0:0.#}' }
        }
        $null = Assert-HexTable -InputObject $report -TypeName 'HexCost.RunReport' -Expected $expected
    }

    It 'Copy-HexState -PassThru: where it copied, and how many records' {
        $copy = Copy-HexState -Destination (Join-Path $TestDrive 'copied-state') -PassThru -Confirm:$false -ErrorAction Stop
        $expected = [ordered]@{
            Copied  = { [string]$args[0].RecordsCopied }
            Earlier = { [string]$args[0].RecordsAlreadyCopied }
            Docs    = { [string]$args[0].DocumentsCopied }
            Kept    = { [string]$args[0].DocumentsKept }
        }
        $lines = Assert-HexTable -InputObject @($copy) -TypeName 'HexCost.StateCopy' -Expected $expected
        # The workspace's folder under the destination: its end (the org id) stays whole.
        ($lines -join "`n") | Should -Match ([regex]::Escape($copy.Destination.Substring($copy.Destination.Length - 30)))
    }

    It 'Export-HexCostReport -PassThru: the page, with the end of its path' {
        $file = Export-HexCostReport -Path (Join-Path $TestDrive 'hex-cost-report.html') -Plan Team -PassThru -ErrorAction Stop
        $expected = [ordered]@{
            Findings     = { [string]$args[0].Findings }
            Users        = { [string]$args[0].Users }
            'Saved/wk'   = { Format-HexNumber $args[0].RunsSavedPerWeek '{0:0.#}' }
            CreditSource = { $args[0].CreditSource }
        }
        $lines = Assert-HexTable -InputObject @($file) -TypeName 'HexCost.CostReport' -Expected $expected
        ($lines -join "`n") | Should -Match 'hex-cost-report\.html'
    }

    It 'a real 80-column console (tmux) shows what Out-String -Width 80 shows, for Invoke-HexRun and Get-HexScheduleAudit (skipped where tmux is not installed)' -Skip:$tmuxMissing {
        # Skipped only where tmux is not installed: it is the 80-column terminal this test runs PowerShell in.
        # A new pwsh in a detached 80x50 tmux pane imports the module, connects to this emulator and writes the two
        # cmdlets' output (the audit with money: idle editor seats at a high price) to its console between markers
        # (Out-Default, as at a prompt) and, to files, the same objects through Out-String -Width 80. The pane's text must
        # be those lines exactly: a console formats tables for one column less than its width, so a view wider than 79
        # columns would show differently there (cut sooner, or with a wrapped header).
        $work = Join-Path $TestDrive 'tmux'
        $state = New-HexTestStatePath -Root $TestDrive
        $body = @'
    $rate = @{ RunProject = '10000/1m'; Request = '10000/1m'; Read = '10000/1m' }
    $null = Connect-Hex -Token (ConvertTo-SecureString -String $env:HEXCOST_TEST_TOKEN -AsPlainText -Force) -BaseUri $env:HEXCOST_TEST_BASEURI -StatePath $env:HEXCOST_TEST_STATE -RateLimit $rate
    $runs = @(Get-HexProject -ProjectId $env:HEXCOST_TEST_PROJECT | Invoke-HexRun -Wait)
    $audit = @(Get-HexScheduleAudit -IdleDays 1 -EditorSeatPrice 12345.67)
    [System.IO.File]::WriteAllText((Join-Path $env:HEXCOST_TEST_WORK 'runs.txt'), ($runs | Out-String -Width 80))
    [System.IO.File]::WriteAllText((Join-Path $env:HEXCOST_TEST_WORK 'audit.txt'), ($audit | Out-String -Width 80))
    Write-Host '@@runs'
    $runs | Out-Default
    Write-Host '@@audit'
    $audit | Out-Default
    Write-Host '@@end'
'@
        $pane = Invoke-HexTmuxConsole -Body $body -Work $work -Environment @{
            HEXCOST_TEST_TOKEN = $emulator.Token; HEXCOST_TEST_BASEURI = $emulator.BaseUri; HEXCOST_TEST_STATE = $state; HEXCOST_TEST_PROJECT = $project.ProjectId
        }

        $paneText = $pane -join "`n"
        foreach ($line in $pane) {
            $line.Length | Should -BeLessOrEqual 80
        }
        $runsAt = [array]::IndexOf($pane, '@@runs')
        $auditAt = [array]::IndexOf($pane, '@@audit')
        $endAt = [array]::IndexOf($pane, '@@end')
        $runsAt | Should -BeGreaterOrEqual 0 -Because "the pane shows the runs:`n$paneText"
        $auditAt | Should -BeGreaterThan $runsAt
        $endAt | Should -BeGreaterThan $auditAt

        foreach ($part in @(@{ Name = 'runs'; From = $runsAt; To = $auditAt }, @{ Name = 'audit'; From = $auditAt; To = $endAt })) {
            $console = @($pane[($part.From + 1)..($part.To - 1)] | Where-Object { $_.Length -gt 0 })
            $text = [regex]::Replace((Read-SharedFile -Path (Join-Path $work ($part.Name + '.txt'))), "\x1b\[[0-9;?]*[A-Za-z]", '')
            $outString = @($text -split "\r?\n" | ForEach-Object { $_.TrimEnd() } | Where-Object { $_.Length -gt 0 })
            $outString.Count | Should -BeGreaterThan 2
            ($console -join "`n") | Should -BeExactly ($outString -join "`n") -Because "the $($part.Name) in a real 80-column console are what Out-String -Width 80 shows"
        }
        $console = $pane[($runsAt + 1)..($endAt - 1)] -join "`n"
        $console | Should -Match 'COMPLETED'
        $console | Should -Match 'Saved/wk'
        $console | Should -Match 'Saved/mo'
        $console | Should -Not -Match ([regex]::Escape($Ellipsis))
    }
}
