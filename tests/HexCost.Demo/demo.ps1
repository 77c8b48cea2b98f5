<#
.SYNOPSIS
    HexCost's main job: run the scheduled Hex projects within Hex's rate limits, and reuse a completed run when the
    data it reads has not changed.

.DESCRIPTION
    Connects, lists the projects, runs every scheduled project for source version 'v1', runs the same batch again
    (every completed run is served from HexCost's cache and starts no Hex run; a failed run is never reused, so a
    failing project runs again), then runs the batch for a new source version 'v2'.

    Each step is written as one object: Step (a short name), Title, Command (the PowerShell it ran), Items (what the
    command wrote) and Errors (the ErrorRecords it wrote). `dotnet run --project tests/HexCost.Demo` runs this script
    in real pwsh (the PowerShell dotnet tool) against an in-process emulator and prints the steps as tables.

    With pwsh, against a standalone emulator (it prints HEX_API_BASE_URL and HEX_API_TOKEN):
        dotnet build                                   # assembles module/HexCost
        dotnet run --project tests/HexCost.Emulator    # in another terminal; set $env:HEX_API_* to what it prints
        ./tests/HexCost.Demo/demo.ps1 -Token $env:HEX_API_TOKEN -BaseUri $env:HEX_API_BASE_URL |
            ForEach-Object { "== $($_.Title)"; "PS> $($_.Command)"; $_.Items | Format-Table; $_.Errors | Out-String }

    Without -RateLimit HexCost keeps to Hex's documented limits (30 reads a minute, so it polls a run every few
    seconds) and the script takes over a minute. To go faster, start the emulator with --no-rate-limits and pass e.g.
    -RateLimit @{ RunProject = '20/1s','60/1m'; Request = '600/1m'; Read = '600/1m' }
    Do not point it at a real workspace: every run it starts is a real Hex run.

.PARAMETER Token
    The API token, as a SecureString or plain text.
.PARAMETER BaseUri
    The API base, e.g. http://127.0.0.1:5080/api/v1.
.PARAMETER StatePath
    Where HexCost keeps its ledger and cache. Defaults to a new temporary folder, removed at the end.
.PARAMETER RateLimit
    Passed to Connect-Hex -RateLimit; omitted = Hex's documented limits.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)] [object] $Token,
    [Parameter(Mandatory = $true)] [uri] $BaseUri,
    [string] $StatePath,
    [hashtable] $RateLimit
)

Set-StrictMode -Version 3.0

if (-not (Get-Module -Name HexCost)) {
    Import-Module -Name ([System.IO.Path]::Combine($PSScriptRoot, '..', '..', 'HexCost.psd1')) -ErrorAction Stop
}
if ($Token -isnot [securestring]) {
    $Token = [System.Net.NetworkCredential]::new('', [string]$Token).SecurePassword
}
$ownState = -not $StatePath
if ($ownState) {
    $StatePath = [System.IO.Path]::Combine([System.IO.Path]::GetTempPath(), 'hexcost-demo-' + [guid]::NewGuid().ToString('N'))
}

# Runs one step and writes it as one object. Errors the command writes are collected with its output (2>&1) and
# kept apart, so every error stays with the step that caused it.
function Invoke-DemoStep {
    param([string] $Step, [string] $Title, [scriptblock] $Command)
    $items = [System.Collections.Generic.List[object]]::new()
    $errors = [System.Collections.Generic.List[object]]::new()
    foreach ($record in (& $Command 2>&1)) {
        if ($record -is [System.Management.Automation.ErrorRecord]) { $errors.Add($record) } else { $items.Add($record) }
    }
    [pscustomobject]@{
        PSTypeName = 'HexCost.Demo.Step'
        Step       = $Step
        Title      = $Title
        Command    = $Command.ToString().Trim()
        Items      = $items.ToArray()
        Errors     = $errors.ToArray()
    }
}

try {
    Invoke-DemoStep 'connect' 'Connect to the workspace' {
        Connect-Hex -Token $Token -BaseUri $BaseUri -StatePath $StatePath -RateLimit $RateLimit -PassThru
    }

    Invoke-DemoStep 'projects' 'List the projects' {
        Get-HexProject
    }

    Invoke-DemoStep 'batch-v1' "Run every scheduled project for source version 'v1'" {
        Get-HexProject | Where-Object { $_.ScheduleCount -gt 0 } |
            Invoke-HexRun -Wait -SourceVersion 'v1' -InputParameters @{ region = 'EU' }
    }

    Invoke-DemoStep 'batch-v1-again' "The same batch again: the data is still at 'v1', so completed runs are reused" {
        Get-HexProject | Where-Object { $_.ScheduleCount -gt 0 } |
            Invoke-HexRun -Wait -SourceVersion 'v1' -InputParameters @{ region = 'EU' }
    }

    Invoke-DemoStep 'batch-v2' "The data changed to 'v2': the batch runs again" {
        Get-HexProject | Where-Object { $_.ScheduleCount -gt 0 } |
            Invoke-HexRun -Wait -SourceVersion 'v2' -InputParameters @{ region = 'EU' }
    }
}
finally {
    Disconnect-Hex
    if ($ownState -and [System.IO.Directory]::Exists($StatePath)) { [System.IO.Directory]::Delete($StatePath, $true) }
}
