# Shared helpers for the HexCost Pester tests. Dot-source it from a BeforeAll block:
#     BeforeAll { . (Join-Path $PSScriptRoot 'Common.ps1') }
# then, per Describe:
#     BeforeAll { Import-HexCostUnderTest; $emulator = Start-HexEmulator }
#     AfterAll  { Stop-HexEmulator -Emulator $emulator }
#
# Environment:
#   HEXCOST_MODULE_PATH    the module to test: a .psd1, a folder holding HexCost.psd1 (e.g. module/HexCost), or the
#                          name HexCost (the installed module, found on PSModulePath); default: HexCost.psd1 at the
#                          repository root.
#   HEXCOST_CONFIGURATION  Debug or Release: which build of the emulator to run (build.ps1 sets it).
# Works on Windows PowerShell 5.1 and PowerShell 7.4+.

# Dot-sourced into a BeforeAll block, these variables are visible to every Describe and It below it.
$HexRunProperties = @(
    'ProjectId', 'RunId', 'Status', 'StartTime', 'EndTime', 'ElapsedSeconds', 'RunUrl', 'TraceId', 'ProjectVersion',
    'InputParameters', 'SourceVersion', 'FromCache', 'Attempts', 'ThrottledSeconds', 'RequestedAt', 'IdempotencyKey'
)
$HexProjectProperties = @(
    'ProjectId', 'Title', 'Type', 'Owner', 'Creator', 'Status', 'CreatedAt', 'LastEditedAt', 'LastPublishedAt',
    'LastViewedAt', 'AppViewsLast30Days', 'ScheduleCount', 'Cadences', 'ArchivedAt', 'TrashedAt'
)
$HexScheduleFindingProperties = @(
    'Rule', 'Severity', 'ProjectId', 'ProjectTitle', 'Owner', 'Cadence', 'RunsPerWeek', 'RecommendedCadence',
    'EstimatedRunsSavedPerWeek', 'EstimatedMonthlySavings', 'Evidence', 'DetectedAt'
)
# Hex's six run statuses.
$HexRunStatuses = @('PENDING', 'RUNNING', 'ERRORED', 'COMPLETED', 'KILLED', 'UNABLE_TO_ALLOCATE_KERNEL')
# CmdletsToExport of HexCost.psd1.
$HexCostCmdlets = @(
    'Connect-Hex', 'Disconnect-Hex', 'Get-HexProject', 'Invoke-HexRun', 'Get-HexRun', 'Stop-HexRun', 'Get-HexScheduleAudit',
    'Get-HexCreditBalance', 'Import-HexCreditUsage', 'Set-HexSpendLimit', 'Get-HexSpendLimit', 'Get-HexRunReport',
    'Export-HexCostReport', 'Copy-HexState'
)
# The cmdlets that change something (Hex runs, the ledger, the spend policy, a file): each takes -WhatIf and -Confirm.
$HexCostStateChangingCmdlets = @('Invoke-HexRun', 'Stop-HexRun', 'Import-HexCreditUsage', 'Set-HexSpendLimit', 'Export-HexCostReport', 'Copy-HexState')
# Every type name HexCost writes (each has a table view in HexCost.Format.ps1xml).
$HexCostOutputTypes = @(
    'HexCost.Session', 'HexCost.Project', 'HexCost.Run', 'HexCost.ScheduleFinding', 'HexCost.CreditBalance', 'HexCost.CreditSummary',
    'HexCost.CreditUsageImport', 'HexCost.SpendPolicy', 'HexCost.SpendPolicyChange', 'HexCost.RunReport', 'HexCost.CostReport',
    'HexCost.StateCopy'
)

function Get-HexCostRepoRoot {
    $directory = $PSScriptRoot
    while ($directory) {
        if (Test-Path -LiteralPath (Join-Path $directory 'HexCost.sln') -PathType Leaf) {
            return $directory
        }
        $directory = Split-Path -Path $directory -Parent
    }
    throw "Cannot find the HexCost repository (HexCost.sln) above '$PSScriptRoot'."
}

function Get-HexCostManifestPath {
    # What Import-Module gets: HEXCOST_MODULE_PATH as a path (a .psd1, or a folder holding HexCost.psd1), the bare name
    # HexCost (the module installed on PSModulePath, as a gallery user has it), or else the repository's HexCost.psd1.
    $path = $env:HEXCOST_MODULE_PATH
    if ([string]::IsNullOrWhiteSpace($path)) {
        return (Join-Path (Get-HexCostRepoRoot) 'HexCost.psd1')
    }
    if ($path -eq 'HexCost') {
        if (-not (Get-Module -ListAvailable -Name 'HexCost')) {
            throw "HEXCOST_MODULE_PATH is 'HexCost', but no module of that name is installed on PSModulePath ($env:PSModulePath)."
        }
        return 'HexCost'
    }
    if (Test-Path -LiteralPath $path -PathType Container) {
        $path = Join-Path $path 'HexCost.psd1'
    }
    if (-not (Test-Path -LiteralPath $path -PathType Leaf)) {
        throw "HEXCOST_MODULE_PATH is '$env:HEXCOST_MODULE_PATH', but '$path' does not exist."
    }
    return (Resolve-Path -LiteralPath $path).ProviderPath
}

function Import-HexCostUnderTest {
    # Returns the imported HexCost module (PSModuleInfo).
    $path = Get-HexCostManifestPath
    $modules = Import-Module -Name $path -Force -PassThru -ErrorAction Stop
    $module = @($modules | Where-Object { $_.Name -eq 'HexCost' }) | Select-Object -First 1
    if ($null -eq $module) {
        throw "Importing '$path' did not load a module named HexCost."
    }
    return $module
}

function Get-FreeTcpPort {
    $listener = New-Object -TypeName System.Net.Sockets.TcpListener -ArgumentList @([System.Net.IPAddress]::Loopback, 0)
    try {
        $listener.Start()
        return ([System.Net.IPEndPoint] $listener.LocalEndpoint).Port
    }
    finally {
        $listener.Stop()
    }
}

function ConvertTo-ProcessArgument {
    # One argument for a Windows-style command line (what Start-Process passes on every platform).
    param([Parameter(Mandatory = $true)] [string] $Value)
    if ($Value -notmatch '[\s"]') {
        return $Value
    }
    return '"' + ($Value -replace '(\\*)"', '$1$1\"' -replace '(\\+)$', '$1$1') + '"'
}

function Find-HexEmulatorAssembly {
    # The emulator built by dotnet build (HexCost.sln builds it): running its DLL is faster than dotnet run and
    # leaves a single process to stop. $env:HEXCOST_CONFIGURATION picks the configuration, else the newest build.
    $bin = Join-Path (Join-Path (Join-Path (Get-HexCostRepoRoot) 'tests') 'HexCost.Emulator') 'bin'
    if (-not (Test-Path -LiteralPath $bin -PathType Container)) {
        return $null
    }
    $builds = @(Get-ChildItem -LiteralPath $bin -Recurse -Filter 'HexCost.Emulator.dll' -File |
        Where-Object { Test-Path -LiteralPath (Join-Path $_.DirectoryName 'HexCost.Emulator.runtimeconfig.json') -PathType Leaf })
    $configuration = $env:HEXCOST_CONFIGURATION
    if (-not [string]::IsNullOrWhiteSpace($configuration)) {
        $pattern = '[\\/]' + [regex]::Escape($configuration) + '[\\/]'
        $builds = @($builds | Where-Object { $_.FullName -match $pattern })
    }
    $newest = $builds | Sort-Object -Property LastWriteTimeUtc -Descending | Select-Object -First 1
    if ($null -eq $newest) {
        return $null
    }
    return $newest.FullName
}

function Read-SharedFile {
    # Reads a file that another process is still writing (Get-Content may refuse it on Windows).
    param([Parameter(Mandatory = $true)] [string] $Path)
    if (-not (Test-Path -LiteralPath $Path -PathType Leaf)) {
        return ''
    }
    try {
        $stream = New-Object -TypeName System.IO.FileStream -ArgumentList @(
            $Path, [System.IO.FileMode]::Open, [System.IO.FileAccess]::Read,
            ([System.IO.FileShare]::ReadWrite -bor [System.IO.FileShare]::Delete))
        try {
            $reader = New-Object -TypeName System.IO.StreamReader -ArgumentList @($stream)
            return $reader.ReadToEnd()
        }
        finally {
            $stream.Dispose()
        }
    }
    catch {
        # Not there yet, or locked for a moment: the caller polls again.
        return ''
    }
}

function Stop-ProcessTree {
    param([System.Diagnostics.Process] $Process)
    if ($null -eq $Process) {
        return
    }
    # On 5.1, taskkill's stderr under 'Stop' would turn into a terminating error.
    $ErrorActionPreference = 'Continue'
    try {
        if ($Process.HasExited) {
            return
        }
        if ($PSVersionTable.PSEdition -eq 'Core') {
            # .NET Core 3.0+: also ends the app that dotnet run started.
            $Process.Kill($true)
        }
        else {
            # Windows PowerShell 5.1 runs only on Windows, where taskkill ends the tree.
            $null = & taskkill.exe /PID $Process.Id /T /F 2>&1
        }
        $null = $Process.WaitForExit(10000)
    }
    catch {
        Write-Warning "Could not stop the emulator (process $($Process.Id)): $($_.Exception.Message)"
    }
}

function Start-HexEmulator {
    <#
    Starts tests/HexCost.Emulator on a free loopback port and waits until it prints its base URL and token.
    Returns an object with BaseUri, Token, Port, Process, StandardOutput and StandardError; stop it with
    Stop-HexEmulator. -RunMilliseconds and -PendingMilliseconds set how long each triggered run takes.
    #>
    param(
        [int] $RunMilliseconds = 200,
        [int] $PendingMilliseconds = 20,
        [string[]] $ExtraArguments = @(),
        [int] $TimeoutSeconds = 0,
        # Answer 429 beyond the emulator's windows (set them with -ExtraArguments, e.g. '--runs-per-minute', '3').
        [switch] $RateLimited
    )
    $root = Get-HexCostRepoRoot
    $project = Join-Path (Join-Path $root 'tests') 'HexCost.Emulator'
    $assembly = Find-HexEmulatorAssembly
    if ($TimeoutSeconds -le 0) {
        # dotnet run may have to build the emulator first.
        $TimeoutSeconds = if ($assembly) { 60 } else { 180 }
    }
    $dotnet = Get-Command -Name 'dotnet' -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
    if ($null -eq $dotnet) {
        throw "'dotnet' is not on PATH: the tests need the .NET SDK to run the Hex emulator."
    }

    $failures = @()
    for ($attempt = 1; $attempt -le 3; $attempt++) {
        $port = Get-FreeTcpPort
        $emulatorArguments = @('--port', [string]$port, '--run-ms', [string]$RunMilliseconds, '--pending-ms', [string]$PendingMilliseconds)
        if (-not $RateLimited) {
            $emulatorArguments += '--no-rate-limits'
        }
        $emulatorArguments += $ExtraArguments
        if ($assembly) {
            $arguments = @($assembly) + $emulatorArguments
        }
        else {
            $arguments = @('run', '--project', $project)
            if (-not [string]::IsNullOrWhiteSpace($env:HEXCOST_CONFIGURATION)) {
                $arguments += @('-c', $env:HEXCOST_CONFIGURATION)
            }
            $arguments += @('--') + $emulatorArguments
        }
        $commandLine = (@($arguments | ForEach-Object { ConvertTo-ProcessArgument -Value $_ })) -join ' '
        $name = 'hexcost-emulator-' + [guid]::NewGuid().ToString('N')
        $stdout = Join-Path ([System.IO.Path]::GetTempPath()) ($name + '.out')
        $stderr = Join-Path ([System.IO.Path]::GetTempPath()) ($name + '.err')

        $process = Start-Process -FilePath $dotnet.Path -ArgumentList $commandLine -WorkingDirectory $root `
            -RedirectStandardOutput $stdout -RedirectStandardError $stderr -NoNewWindow -PassThru
        $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
        while ([DateTime]::UtcNow -lt $deadline) {
            $text = Read-SharedFile -Path $stdout
            $tokenMatch = [regex]::Match($text, '(?m)^HEX_API_TOKEN=(\S+)')
            $baseMatch = [regex]::Match($text, '(?m)^HEX_API_BASE_URL=(\S+)')
            if ($tokenMatch.Success -and $baseMatch.Success) {
                return [pscustomobject]@{
                    BaseUri        = $baseMatch.Groups[1].Value
                    Token          = $tokenMatch.Groups[1].Value
                    Port           = $port
                    Process        = $process
                    StandardOutput = $stdout
                    StandardError  = $stderr
                }
            }
            if ($process.HasExited) {
                break
            }
            Start-Sleep -Milliseconds 200
        }

        $timedOut = -not $process.HasExited
        Stop-ProcessTree -Process $process
        $errorText = (Read-SharedFile -Path $stderr).Trim()
        $outputText = (Read-SharedFile -Path $stdout).Trim()
        Remove-Item -LiteralPath $stdout, $stderr -Force -ErrorAction SilentlyContinue
        $what = if ($timedOut) { "printed no HEX_API_TOKEN line within $TimeoutSeconds s" } else { 'exited' }
        $failures += "attempt $attempt (port $port): dotnet $commandLine $what. stdout: $outputText stderr: $errorText"
        if ($timedOut) {
            break
        }
        # Most likely another process took the port between Get-FreeTcpPort and the emulator's bind: try another.
    }
    throw ("The Hex emulator did not start: " + ($failures -join ' | '))
}

function Get-HexUsageTimeThisCycle {
    # An ISO 8601 UTC time in the current billing cycle (from the 1st) that has passed: halfway from its start to now, so
    # usage rows land in this cycle on any day, its first minute included.
    $now = [DateTime]::UtcNow
    $start = New-Object -TypeName System.DateTime -ArgumentList @($now.Year, $now.Month, 1, 0, 0, 0, [System.DateTimeKind]::Utc)
    return $start.AddTicks([long](($now - $start).Ticks / 2)).ToString('yyyy-MM-ddTHH:mm:ssZ', [System.Globalization.CultureInfo]::InvariantCulture)
}

function Get-HexEmulatorStats {
    # What the emulator counted: TotalRequests, RunsCreated, Throttled429, Kernel503, RequestsByOperation.
    param([Parameter(Mandatory = $true)] $Emulator)
    $origin = ([uri]$Emulator.BaseUri).GetLeftPart([System.UriPartial]::Authority)
    return (Invoke-RestMethod -Uri ($origin + '/_emulator/stats') -ErrorAction Stop)
}

function Get-HexRequestCount {
    # How many requests the emulator answered: all, or those of one -Operation (e.g. RunProject).
    param([Parameter(Mandatory = $true)] $Emulator, [string] $Operation)
    $stats = Get-HexEmulatorStats -Emulator $Emulator
    if (-not $Operation) { return [int]$stats.TotalRequests }
    $count = $stats.RequestsByOperation.$Operation
    if ($null -eq $count) { return 0 }
    return [int]$count
}

function Invoke-HexCapture {
    <#
    Runs $Block and returns what it wrote, by stream: Errors (error records, written or thrown, in order), Warnings,
    Verbose, Debug and Information (their messages), Output (everything else) and Seconds (how long it took).
    -AllVerbose: verbose messages are written even where the block does not ask for them (-Verbose).
    #>
    param([Parameter(Mandatory = $true)] [scriptblock] $Block, [switch] $AllVerbose)
    # The build's Pester runner sets Stop, which would make every written error end $Block.
    $ErrorActionPreference = 'Continue'
    $WarningPreference = 'Continue'
    if ($AllVerbose) {
        $VerbosePreference = 'Continue'
    }
    $clock = [System.Diagnostics.Stopwatch]::StartNew()
    $records = @(try { & $Block *>&1 } catch { $_ })
    $clock.Stop()
    return [pscustomobject]@{
        Errors      = @($records | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] })
        Warnings    = @($records | Where-Object { $_ -is [System.Management.Automation.WarningRecord] } | ForEach-Object { $_.Message })
        Verbose     = @($records | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object { $_.Message })
        Debug       = @($records | Where-Object { $_ -is [System.Management.Automation.DebugRecord] } | ForEach-Object { $_.Message })
        Information = @($records | Where-Object { $_ -is [System.Management.Automation.InformationRecord] } | ForEach-Object { [string]$_.MessageData })
        Output      = @($records | Where-Object {
                -not ($_ -is [System.Management.Automation.ErrorRecord] -or $_ -is [System.Management.Automation.WarningRecord] -or
                    $_ -is [System.Management.Automation.VerboseRecord] -or $_ -is [System.Management.Automation.DebugRecord] -or
                    $_ -is [System.Management.Automation.InformationRecord])
            })
        Seconds     = $clock.Elapsed.TotalSeconds
    }
}

function Assert-OneHexError {
    # Exactly one error in $Captured (from Invoke-HexCapture), with the id (first in FullyQualifiedErrorId), the category and
    # a message matching each pattern; returns it.
    param($Captured, [string] $Id, [string] $Category, [string[]] $Pattern = @())
    $ids = @($Captured.Errors | ForEach-Object { $_.FullyQualifiedErrorId })
    $ids.Count | Should -Be 1 -Because "one error is written (got: $($ids -join '; '))"
    $record = $Captured.Errors[0]
    $record.FullyQualifiedErrorId | Should -BeLike "$Id,*"
    if ($Category) { [string]$record.CategoryInfo.Category | Should -Be $Category }
    foreach ($p in $Pattern) {
        $record.Exception.Message | Should -Match $p
    }
    return $record
}

function Get-HexPowerShellCommand {
    # The PowerShell this suite runs in, to start a child of it: pwsh, powershell.exe, or the PowerShell dotnet tool
    # (dotnet running pwsh.dll). Returns the executable and the arguments that go before the child's own.
    $path = [System.Diagnostics.Process]::GetCurrentProcess().MainModule.FileName
    $name = [System.IO.Path]::GetFileNameWithoutExtension($path)
    if ($name -eq 'pwsh' -or $name -eq 'powershell') {
        return @{ Executable = $path; Prefix = @() }
    }
    $dll = Join-Path $PSHOME 'pwsh.dll'
    if ($name -eq 'dotnet' -and (Test-Path -LiteralPath $dll -PathType Leaf)) {
        return @{ Executable = $path; Prefix = @($dll) }
    }
    throw "This suite runs in '$path', which is not a PowerShell it can start a child of."
}

function Start-HexPowerShell {
    <#
    Starts a child PowerShell of the same kind running -Script (text). The script gets $HexCostModule: what
    Import-Module takes for the module under test (a manifest path, or the name HexCost of the installed module).
    Returns an object with Process, OutputPath and ErrorPath; wait for it with Wait-HexPowerShell.
    -InputEnded: an interactive child whose standard input is an empty file (a console whose input has ended, as a
    runbook's or a CI job's), instead of -NonInteractive.
    #>
    param(
        [Parameter(Mandatory = $true)] [string] $Script,
        [Parameter(Mandatory = $true)] [string] $Root,
        [switch] $InputEnded
    )
    $id = [guid]::NewGuid().ToString('N')
    $scriptPath = Join-Path $Root "child-$id.ps1"
    $header = '$HexCostModule = ' + "'" + (Get-HexCostManifestPath).Replace("'", "''") + "'" + [Environment]::NewLine
    [System.IO.File]::WriteAllText($scriptPath, $header + $Script, (New-Object System.Text.UTF8Encoding -ArgumentList $true))
    $command = Get-HexPowerShellCommand
    $arguments = @($command.Prefix) + @('-NoProfile')
    if (-not $InputEnded) {
        $arguments += '-NonInteractive'
    }
    if ([System.Environment]::OSVersion.Platform -eq [System.PlatformID]::Win32NT) {
        $arguments += @('-ExecutionPolicy', 'Bypass')
    }
    $arguments += @('-File', $scriptPath)
    $outputPath = Join-Path $Root "child-$id.out"
    $errorPath = Join-Path $Root "child-$id.err"
    $commandLine = (@($arguments | ForEach-Object { ConvertTo-ProcessArgument -Value $_ })) -join ' '
    $redirect = @{ RedirectStandardOutput = $outputPath; RedirectStandardError = $errorPath }
    if ($InputEnded) {
        $redirect.RedirectStandardInput = Join-Path $Root "child-$id.in"
        [System.IO.File]::WriteAllText($redirect.RedirectStandardInput, '')
    }
    $process = Start-Process -FilePath $command.Executable -ArgumentList $commandLine @redirect -NoNewWindow -PassThru
    return [pscustomobject]@{ Process = $process; OutputPath = $outputPath; ErrorPath = $errorPath }
}

function Wait-HexPowerShell {
    # Waits for a child from Start-HexPowerShell (killing it after -TimeoutSeconds); returns ExitCode, Output (lines) and Error (text).
    param([Parameter(Mandatory = $true)] $Child, [int] $TimeoutSeconds = 120)
    if (-not $Child.Process.WaitForExit($TimeoutSeconds * 1000)) {
        Stop-ProcessTree -Process $Child.Process
        throw "The child PowerShell did not end within $TimeoutSeconds s. Output: $(Read-SharedFile -Path $Child.OutputPath) Errors: $(Read-SharedFile -Path $Child.ErrorPath)"
    }
    $Child.Process.WaitForExit()
    return [pscustomobject]@{
        ExitCode = $Child.Process.ExitCode
        Output   = @((Read-SharedFile -Path $Child.OutputPath) -split '\r?\n' | Where-Object { $_ -ne '' })
        Error    = (Read-SharedFile -Path $Child.ErrorPath)
    }
}

function Invoke-HexTmuxConsole {
    <#
    Runs -Body (PowerShell text) in a new pwsh in a detached tmux pane -Width columns wide, a real console, on a tmux
    server of its own, and returns the pane's lines (scrollback included, trailing spaces trimmed). The body runs after
    the module under test is imported, with $env:HEXCOST_TEST_WORK (-Work) and the -Environment variables set; it writes
    to the console as at a prompt and must end by writing the line '@@end'. Throws when the pane is not -Width wide or
    the body failed.
    #>
    param(
        [Parameter(Mandatory = $true)] [string] $Body,
        [Parameter(Mandatory = $true)] [string] $Work,
        [hashtable] $Environment = @{},
        [int] $Width = 80,
        [int] $TimeoutSeconds = 90
    )
    $null = New-Item -ItemType Directory -Path $Work -Force
    $script = Join-Path $Work 'console.ps1'
    $done = Join-Path $Work 'done.txt'
    $text = @"
`$ErrorActionPreference = 'Stop'
`$ProgressPreference = 'SilentlyContinue'
try {
    Import-Module -Name `$env:HEXCOST_TEST_MANIFEST -ErrorAction Stop
    [System.IO.File]::WriteAllText((Join-Path `$env:HEXCOST_TEST_WORK 'width.txt'), [string]`$Host.UI.RawUI.BufferSize.Width)
$Body
    [System.IO.File]::WriteAllText(`$env:HEXCOST_TEST_DONE, 'ok')
} catch {
    [System.IO.File]::WriteAllText(`$env:HEXCOST_TEST_DONE, 'error: ' + `$_)
}
Start-Sleep -Seconds 600
"@
    Set-Content -Path $script -Value $text -Encoding UTF8

    $powershell = Get-HexPowerShellCommand
    $pwsh = @($powershell.Executable) + @($powershell.Prefix) + @('-NoProfile', '-NoLogo', '-File', $script)
    $command = (@($pwsh | ForEach-Object { "'" + ($_ -replace "'", "'\''") + "'" }) -join ' ')
    $socket = 'hexcost-' + [guid]::NewGuid().ToString('N').Substring(0, 12)
    $variables = @{ HEXCOST_TEST_MANIFEST = (Get-HexCostManifestPath); HEXCOST_TEST_WORK = $Work; HEXCOST_TEST_DONE = $done }
    foreach ($key in $Environment.Keys) { $variables[$key] = $Environment[$key] }
    $arguments = @('-L', $socket, 'start-server', ';', 'set-option', '-g', 'history-limit', '100000', ';',
        'new-session', '-d', '-s', 'console', '-x', [string]$Width, '-y', '50')
    foreach ($key in $variables.Keys) { $arguments += @('-e', "$key=$($variables[$key])") }
    $arguments += $command
    & tmux @arguments
    if ($LASTEXITCODE -ne 0) {
        throw "tmux could not start a detached $Width-column session (exit code $LASTEXITCODE)."
    }
    try {
        # Until the body says it is done and the pane shows its last line.
        $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
        $pane = @()
        while ([DateTime]::UtcNow -lt $deadline) {
            if (Test-Path -LiteralPath $done) {
                $pane = @(& tmux -L $socket capture-pane -p -t console -S - -E - | ForEach-Object { $_.TrimEnd() })
                if ($pane -contains '@@end' -or (Read-SharedFile -Path $done) -ne 'ok') {
                    break
                }
            }
            Start-Sleep -Milliseconds 100
        }
    }
    finally {
        & tmux -L $socket kill-server 2>$null
    }
    $outcome = Read-SharedFile -Path $done
    if ($outcome -ne 'ok') {
        throw "The pwsh in the tmux pane did not finish its script: '$outcome'."
    }
    $paneWidth = Read-SharedFile -Path (Join-Path $Work 'width.txt')
    if ($paneWidth -ne [string]$Width) {
        throw "The tmux pane is $paneWidth columns wide, not $Width."
    }
    if ($pane -notcontains '@@end') {
        throw "The tmux pane did not show the script's last line within $TimeoutSeconds s."
    }
    return $pane
}

function Invoke-HexPowerShell {
    # Start-HexPowerShell, then Wait-HexPowerShell.
    param([Parameter(Mandatory = $true)] [string] $Script, [Parameter(Mandatory = $true)] [string] $Root, [int] $TimeoutSeconds = 120)
    return (Wait-HexPowerShell -Child (Start-HexPowerShell -Script $Script -Root $Root) -TimeoutSeconds $TimeoutSeconds)
}

function Stop-HexEmulator {
    param($Emulator)
    if ($null -eq $Emulator) {
        return
    }
    Stop-ProcessTree -Process $Emulator.Process
    Remove-Item -LiteralPath $Emulator.StandardOutput, $Emulator.StandardError -Force -ErrorAction SilentlyContinue
}

function Get-HexTestRateLimit {
    # The emulator runs with --no-rate-limits; keep HexCost's own limiter (Hex's defaults) out of the tests' way.
    return @{ RunProject = '10000/1m'; Request = '10000/1m'; Read = '10000/1m' }
}

function New-HexTestStatePath {
    # A fresh state folder under $Root (pass $TestDrive), so no test sees another test's ledger or run cache.
    param([Parameter(Mandatory = $true)] [string] $Root)
    $path = Join-Path $Root ('state-' + [guid]::NewGuid().ToString('N'))
    $null = New-Item -ItemType Directory -Path $path -Force
    return $path
}

function Connect-HexTest {
    <#
    Connect-Hex to the emulator with a fresh state folder under -StatePath, generous client-side limits and
    -PassThru; returns the session. Extra parameters for Connect-Hex go in -Parameters.
    #>
    param(
        [Parameter(Mandatory = $true)] $Emulator,
        [Parameter(Mandatory = $true)] [string] $StatePath,
        [hashtable] $Parameters = @{}
    )
    $connect = @{
        Token     = (ConvertTo-SecureString -String $Emulator.Token -AsPlainText -Force)
        BaseUri   = $Emulator.BaseUri
        StatePath = (New-HexTestStatePath -Root $StatePath)
        RateLimit = (Get-HexTestRateLimit)
        PassThru  = $true
    }
    foreach ($key in $Parameters.Keys) {
        $connect[$key] = $Parameters[$key]
    }
    return (Connect-Hex @connect -ErrorAction Stop)
}

function Get-ErrorIds {
    # The FullyQualifiedErrorIds of the ErrorRecords in an -ErrorVariable list.
    param([AllowNull()] [object[]] $ErrorRecords)
    return @($ErrorRecords | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] } | ForEach-Object { $_.FullyQualifiedErrorId })
}

function Get-TerminatingErrorId {
    # Runs $ScriptBlock and returns the FullyQualifiedErrorId of the error that stopped it, or $null.
    param([Parameter(Mandatory = $true)] [scriptblock] $ScriptBlock)
    try {
        $null = & $ScriptBlock
    }
    catch {
        return $_.FullyQualifiedErrorId
    }
    return $null
}

function Invoke-WithoutHexEnvironment {
    # Runs $ScriptBlock with HEX_API_TOKEN and HEX_API_BASE_URL removed (the cmdlets would connect with them),
    # then puts them back.
    param([Parameter(Mandatory = $true)] [scriptblock] $ScriptBlock)
    $saved = @{}
    foreach ($name in @('HEX_API_TOKEN', 'HEX_API_BASE_URL')) {
        $saved[$name] = [System.Environment]::GetEnvironmentVariable($name)
        [System.Environment]::SetEnvironmentVariable($name, $null)
    }
    try {
        & $ScriptBlock
    }
    finally {
        foreach ($name in $saved.Keys) {
            [System.Environment]::SetEnvironmentVariable($name, $saved[$name])
        }
    }
}

function Get-PublishedHexProject {
    # A published project of the demo workspace whose runs complete (the "Failing ..." one always errors).
    param([switch] $WithSchedule)
    $projects = @(Get-HexProject -ErrorAction Stop | Where-Object {
            $_.Type -eq 'PROJECT' -and $null -ne $_.LastPublishedAt -and $_.Title -notlike 'Failing*' -and
            (-not $WithSchedule -or $_.ScheduleCount -gt 0)
        })
    if ($projects.Count -eq 0) {
        throw 'The emulator lists no published project that completes.'
    }
    return $projects[0]
}

function Test-HexCsvScalar {
    # True when Export-Csv writes the value as itself: not a collection or an object whose ToString() is its type name.
    param([Parameter(Mandatory = $true)] $Value)
    $type = $Value.GetType()
    return $type.IsPrimitive -or $type.IsEnum -or $Value -is [string] -or $Value -is [datetime] -or $Value -is [datetimeoffset] -or
        $Value -is [decimal] -or $Value -is [guid] -or $Value -is [timespan]
}

function Assert-HexCsvRoundTrip {
    <#
    Exports -InputObject with Export-Csv, reads the file back with Import-Csv and checks that nothing was lost: one row per
    object, the objects' properties as the columns in order, every value a scalar written as itself, and every cell read
    back to the value it came from (numbers and dates in this session's culture, which is what Export-Csv writes).
    #>
    param(
        [Parameter(Mandatory = $true)] [object[]] $InputObject,
        [Parameter(Mandatory = $true)] [string] $TypeName,
        [Parameter(Mandatory = $true)] [string] $Path
    )
    $culture = [System.Globalization.CultureInfo]::CurrentCulture
    $InputObject | Export-Csv -Path $Path -NoTypeInformation -Encoding UTF8
    $rows = @(Import-Csv -Path $Path -Encoding UTF8)
    $rows.Count | Should -Be $InputObject.Count -Because "Export-Csv writes one row per $TypeName"

    for ($index = 0; $index -lt $InputObject.Count; $index++) {
        $object = $InputObject[$index]
        $row = $rows[$index]
        $object.PSObject.TypeNames | Should -Contain $TypeName
        $names = @($object.PSObject.Properties | ForEach-Object { $_.Name })
        (@($row.PSObject.Properties | ForEach-Object { $_.Name }) -join ',') | Should -Be ($names -join ',')

        foreach ($property in $object.PSObject.Properties) {
            $value = $property.Value
            $cell = $row.($property.Name)
            $where = "$TypeName row $index, $($property.Name)"
            if ($null -eq $value) {
                $cell | Should -BeNullOrEmpty -Because "$where is null"
                continue
            }
            (Test-HexCsvScalar -Value $value) | Should -BeTrue -Because "$where is a $($value.GetType().FullName), which Export-Csv cannot write as one cell"
            $cell | Should -BeExactly $value.ToString() -Because "$where"
            if ($value -is [datetime]) {
                $read = [datetime]::Parse($cell, $culture)
                [math]::Abs(($read - $value).TotalSeconds) | Should -BeLessThan 1 -Because "$where reads back as the same time"
            }
            elseif ($value -is [datetimeoffset]) {
                $read = [datetimeoffset]::Parse($cell, $culture)
                [math]::Abs(($read - $value).TotalSeconds) | Should -BeLessThan 1 -Because "$where reads back as the same time"
            }
            elseif ($value -is [double] -or $value -is [single]) {
                $read = [double]::Parse($cell, $culture)
                [math]::Abs($read - $value) | Should -BeLessThan ([math]::Max(1e-9, [math]::Abs($value) * 1e-9)) -Because "$where reads back as the same number"
            }
            elseif ($value -is [decimal] -or $value -is [int] -or $value -is [long]) {
                [decimal]::Parse($cell, $culture) | Should -Be ([decimal]$value) -Because "$where reads back as the same number"
            }
            elseif ($value -is [bool]) {
                [bool]::Parse($cell) | Should -Be $value -Because "$where reads back as the same flag"
            }
        }
    }
}
