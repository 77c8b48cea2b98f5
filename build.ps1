#Requires -Version 5.1
<#
.SYNOPSIS
    Builds, tests and packages the HexCost PowerShell module.

.DESCRIPTION
    Build   - dotnet build HexCost.sln, which assembles module/HexCost/: the folder a gallery user installs (manifest,
              bin/net8.0, bin/netstandard2.0, formats and help). ./HexCost.psd1 imports that folder.
    Test    - Build, then xunit (dotnet test HexCost.sln), then the whole Pester suite in tests/Pester in a child PowerShell
              of the same edition: once against the build output (./HexCost.psd1), once against the module installed the way
              a gallery user gets it (Publish-PSResource of module/HexCost to a local file repository, Install-PSResource into
              a scratch home, Import-Module HexCost by name). Prints 'xunit: N passed, N failed', 'pester: N passed,
              N failed' and a last line with the totals, also written to TestResults/summary.txt. Pester 5.7.1 comes from
              the NuGet package the build restores.
    Pester  - Test without xunit: Build, then the Pester suite against the build and against the installed module.
    Package - Build, then check module/HexCost and Test-ModuleManifest it.
    All     - Build and Test (the default; Test checks the package too).

    The repository's test command, on a machine with only the .NET SDK (it restores pwsh 7.6.10 as a local dotnet tool):
        dotnet tool restore && dotnet pwsh -NoProfile -File build.ps1 -Task Test

    Runs on Windows PowerShell 5.1 and PowerShell 7.4+. Needs the .NET SDK named in global.json on PATH.
    Close any session that imported HexCost from this tree first: on Windows it locks the DLLs that the build
    replaces.

.PARAMETER Task
    Build, Test, Pester, Package or All (default).

.PARAMETER Configuration
    Release (default) or Debug.

.EXAMPLE
    dotnet tool restore && dotnet pwsh -NoProfile -File build.ps1 -Task Test

.EXAMPLE
    ./build.ps1 -Task Build -Configuration Debug; Import-Module ./HexCost.psd1

.EXAMPLE
    ./build.ps1 -Task Package
    Builds and checks module/HexCost, the folder Publish-PSResource publishes.
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Pester', 'Package', 'All')]
    [string] $Task = 'All',

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release'
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
# PowerShell 7.3+: a native command's exit code is checked below, not turned into an error here (a no-op on 5.1).
$PSNativeCommandUseErrorActionPreference = $false

$RepoRoot = $PSScriptRoot
$Solution = Join-Path $RepoRoot 'HexCost.sln'
$ModuleDir = Join-Path $RepoRoot 'module'
$PackageDir = Join-Path $ModuleDir 'HexCost'
$PesterTestsDir = Join-Path (Join-Path $RepoRoot 'tests') 'Pester'
$TestResultsDir = Join-Path $RepoRoot 'TestResults'
$PesterVersion = '5.7.1'
$Frameworks = @('net8.0', 'netstandard2.0')
# The engine itself comes with PowerShell; shipping it would shadow the host's copy.
$ExcludedFiles = @('System.Management.Automation.dll')

function Write-Step {
    param([Parameter(Mandatory = $true)] [string] $Message)
    Write-Host "==> $Message" -ForegroundColor Cyan
}

function Test-IsWindows {
    # $IsWindows does not exist on Windows PowerShell 5.1 (and strict mode rejects unset variables).
    return [System.Environment]::OSVersion.Platform -eq [System.PlatformID]::Win32NT
}

function Get-DotnetPath {
    $command = Get-Command -Name 'dotnet' -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
    if ($null -eq $command) {
        throw ("'dotnet' is not on PATH. HexCost needs the .NET SDK (version 10 or later, see global.json): install it " +
            "from the .NET download page or your package manager, make sure 'dotnet --version' works in this shell, then run ./build.ps1 again.")
    }
    return $command.Path
}

function Invoke-Dotnet {
    param([Parameter(Mandatory = $true)] [string[]] $Arguments)
    Write-Step ('dotnet ' + ($Arguments -join ' '))
    # The exit code decides; on 5.1 a line on stderr must not become a terminating error under 'Stop'.
    $ErrorActionPreference = 'Continue'
    & $script:Dotnet @Arguments | Out-Host
    $exitCode = $LASTEXITCODE
    if ($exitCode -ne 0) {
        throw "'dotnet $($Arguments -join ' ')' failed with exit code $exitCode."
    }
}

function Set-ProcessEnvironment {
    # Returns the old value; $null (or '') removes the variable (the same on .NET Framework and .NET).
    param([Parameter(Mandatory = $true)] [string] $Name, $Value)
    $old = [System.Environment]::GetEnvironmentVariable($Name)
    [System.Environment]::SetEnvironmentVariable($Name, $Value)
    return $old
}

function Get-PowerShellCommand {
    # The child runs on the same PowerShell as this script: pwsh (or the PowerShell dotnet tool, which is
    # 'dotnet pwsh.dll') for PowerShell 7, powershell.exe for 5.1. Returns the executable and the arguments before the script's.
    $path = $null
    try {
        $path = [System.Diagnostics.Process]::GetCurrentProcess().MainModule.FileName
    }
    catch {
        Write-Verbose "Could not read this process's path ($($_.Exception.Message)); looking on PATH."
    }
    if ($path -and [System.IO.Path]::GetFileNameWithoutExtension($path) -in @('pwsh', 'powershell')) {
        return @{ Executable = $path; Prefix = @() }
    }
    $pwshDll = Join-Path $PSHOME 'pwsh.dll'
    if ($path -and [System.IO.Path]::GetFileNameWithoutExtension($path) -eq 'dotnet' -and (Test-Path -LiteralPath $pwshDll -PathType Leaf)) {
        return @{ Executable = $path; Prefix = @($pwshDll) }
    }
    $name = if ($PSVersionTable.PSEdition -eq 'Core') { 'pwsh' } else { 'powershell' }
    $command = Get-Command -Name $name -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
    if ($null -eq $command) {
        throw "Cannot find '$name' to run the Pester tests in a child process."
    }
    return @{ Executable = $command.Path; Prefix = @() }
}

function ConvertTo-SingleQuoted {
    param([Parameter(Mandatory = $true)] [string] $Text)
    return "'" + $Text.Replace("'", "''") + "'"
}

function Invoke-BuildTask {
    # The module folder is shared by Debug and Release builds (module/bin is where older builds put theirs): start
    # empty so a package never carries stale files.
    foreach ($folder in @((Join-Path $ModuleDir 'bin'), $PackageDir)) {
        if (Test-Path -LiteralPath $folder) {
            try {
                Remove-Item -LiteralPath $folder -Recurse -Force
            }
            catch {
                throw "Cannot replace '$folder' ($($_.Exception.Message)). Close any PowerShell session that imported HexCost from this tree, then try again."
            }
        }
    }
    Invoke-Dotnet -Arguments @('build', $Solution, '-c', $Configuration)
    foreach ($framework in $Frameworks) {
        $binary = Join-Path (Join-Path (Join-Path $PackageDir 'bin') $framework) 'HexCost.Commands.dll'
        if (-not (Test-Path -LiteralPath $binary -PathType Leaf)) {
            throw "The build succeeded but '$binary' is missing: src/HexCost.Commands should copy its DLLs to module/HexCost/bin/$framework."
        }
    }
    Write-Host "Built HexCost ($Configuration) in module/HexCost (bin/$($Frameworks -join ', bin/'))."
}

function Get-PesterModulePath {
    # Pester 5.7.1 is restored as a NuGet package by the test project (PackageDownload); its module is the tools folder.
    $packages = $env:NUGET_PACKAGES
    if ([string]::IsNullOrWhiteSpace($packages)) {
        $line = & $script:Dotnet nuget locals global-packages --list | Select-Object -Last 1
        $packages = ([string]$line) -replace '^\s*global-packages:\s*', ''
    }
    $manifest = [System.IO.Path]::Combine($packages.Trim(), 'pester', $PesterVersion, 'tools', 'Pester.psd1')
    if (-not (Test-Path -LiteralPath $manifest -PathType Leaf)) {
        throw "Pester $PesterVersion is not restored ('$manifest' is missing): the build restores it through tests/HexCost.Tests (PackageDownload Pester)."
    }
    return $manifest
}

function New-TestCount {
    param([string] $Name, [int] $Passed, [int] $Failed, [int] $Skipped)
    return [pscustomobject]@{ Name = $Name; Passed = $Passed; Failed = $Failed; Skipped = $Skipped }
}

function Invoke-XunitTests {
    $resultsDir = Join-Path $TestResultsDir 'xunit'
    if (Test-Path -LiteralPath $resultsDir) {
        Remove-Item -LiteralPath $resultsDir -Recurse -Force
    }
    $exitCode = 0
    try {
        # The solution was just built with this configuration.
        Invoke-Dotnet -Arguments @('test', $Solution, '-c', $Configuration, '--no-build', '--logger', 'trx;LogFileName=xunit.trx', '--results-directory', $resultsDir)
    }
    catch {
        Write-Host $_.Exception.Message -ForegroundColor Red
        $exitCode = 1
    }
    $trx = Get-ChildItem -LiteralPath $resultsDir -Recurse -Filter '*.trx' -ErrorAction SilentlyContinue | Select-Object -First 1
    if ($null -eq $trx) {
        return (New-TestCount -Name 'xunit' -Passed 0 -Failed 1 -Skipped 0)
    }
    $counters = ([xml](Get-Content -LiteralPath $trx.FullName -Raw)).TestRun.ResultSummary.Counters
    $failed = [int]$counters.failed + [int]$counters.error + [int]$counters.timeout + [int]$counters.aborted
    if ($exitCode -ne 0 -and $failed -eq 0) {
        $failed = 1
    }
    return (New-TestCount -Name 'xunit' -Passed ([int]$counters.passed) -Failed $failed -Skipped ([int]$counters.notExecuted))
}

function Invoke-PowerShellChild {
    # Runs $Script in a child PowerShell (so this session never loads - and on Windows never locks - the module's DLLs)
    # with $Environment set for it; returns its exit code. The script goes in a file: with -EncodedCommand a child whose
    # HOME is not the parent's writes its streams as CLIXML.
    param([Parameter(Mandatory = $true)] [string] $Name, [Parameter(Mandatory = $true)] [string] $Script, [hashtable] $Environment = @{})
    $scriptFile = Join-Path $TestResultsDir "$Name.ps1"
    [System.IO.File]::WriteAllText($scriptFile, $Script, (New-Object System.Text.UTF8Encoding -ArgumentList $true))
    $command = Get-PowerShellCommand
    $arguments = @($command.Prefix) + @('-NoProfile', '-NonInteractive')
    if (Test-IsWindows) {
        $arguments += @('-ExecutionPolicy', 'Bypass')
    }
    $arguments += @('-File', $scriptFile)
    $saved = @{}
    foreach ($variable in $Environment.Keys) {
        $saved[$variable] = Set-ProcessEnvironment -Name $variable -Value $Environment[$variable]
    }
    try {
        $ErrorActionPreference = 'Continue'
        & $command.Executable @arguments | Out-Host
        return $LASTEXITCODE
    }
    finally {
        foreach ($variable in $saved.Keys) {
            $null = Set-ProcessEnvironment -Name $variable -Value $saved[$variable]
        }
    }
}

function Invoke-PesterTests {
    # The Pester suite in a child PowerShell, against $ModulePath (see tests/Pester/Common.ps1: a path, or the name of an
    # installed module). Returns its counts.
    param([Parameter(Mandatory = $true)] [string] $Name, [Parameter(Mandatory = $true)] [string] $ModulePath, [hashtable] $Environment = @{})
    $resultsFile = Join-Path $TestResultsDir "$Name.xml"
    $countsFile = Join-Path $TestResultsDir "$Name.counts"
    foreach ($file in @($resultsFile, $countsFile)) {
        if (Test-Path -LiteralPath $file) {
            Remove-Item -LiteralPath $file -Force
        }
    }
    $runner = @'
$ErrorActionPreference = 'Stop'
Import-Module -Name __PESTER__ -Force
$configuration = New-PesterConfiguration
$configuration.Run.Path = __TESTS__
$configuration.Run.PassThru = $true
$configuration.Output.Verbosity = 'Detailed'
$configuration.TestResult.Enabled = $true
$configuration.TestResult.OutputFormat = 'NUnitXml'
$configuration.TestResult.OutputPath = __RESULTS__
$result = Invoke-Pester -Configuration $configuration
$failed = $result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount
[System.IO.File]::WriteAllText(__COUNTS__, ('{0} {1} {2}' -f $result.PassedCount, $failed, $result.SkippedCount))
if ($failed -gt 0 -or $result.PassedCount -eq 0) { exit 1 }
exit 0
'@
    $runner = $runner.Replace('__PESTER__', (ConvertTo-SingleQuoted (Get-PesterModulePath)))
    $runner = $runner.Replace('__TESTS__', (ConvertTo-SingleQuoted $PesterTestsDir))
    $runner = $runner.Replace('__RESULTS__', (ConvertTo-SingleQuoted $resultsFile))
    $runner = $runner.Replace('__COUNTS__', (ConvertTo-SingleQuoted $countsFile))

    Write-Step "Pester $PesterVersion ($Name): $PesterTestsDir against $ModulePath, in a child PowerShell"
    $Environment['HEXCOST_MODULE_PATH'] = $ModulePath
    # The tests start the emulator with this configuration's build of it.
    $Environment['HEXCOST_CONFIGURATION'] = $Configuration
    $exitCode = Invoke-PowerShellChild -Name "$Name-runner" -Script $runner -Environment $Environment
    if (-not (Test-Path -LiteralPath $countsFile -PathType Leaf)) {
        Write-Host "Pester ($Name) ended (exit code $exitCode) before it counted its tests." -ForegroundColor Red
        return (New-TestCount -Name $Name -Passed 0 -Failed 1 -Skipped 0)
    }
    $parts = (Get-Content -LiteralPath $countsFile -Raw).Trim() -split ' '
    return (New-TestCount -Name $Name -Passed ([int]$parts[0]) -Failed ([int]$parts[1]) -Skipped ([int]$parts[2]))
}

function Install-HexCostFromLocalGallery {
    # What a gallery user gets: Publish-PSResource of module/HexCost to a local file repository, then Install-PSResource
    # into a scratch home (a throwaway HOME on Linux and macOS, so the user's own modules and repositories are untouched).
    # Returns the environment the installed module is found in. Windows has no such home: Save-PSResource into a scratch
    # folder put first on PSModulePath instead.
    $scratch = Join-Path $TestResultsDir 'gallery'
    if (Test-Path -LiteralPath $scratch) {
        Remove-Item -LiteralPath $scratch -Recurse -Force
    }
    $repository = Join-Path $scratch 'repository'
    $scratchHome = Join-Path $scratch 'home'
    $modules = Join-Path $scratch 'modules'
    foreach ($folder in @($repository, $scratchHome, $modules)) {
        $null = New-Item -ItemType Directory -Path $folder -Force
    }
    $environment = @{}
    if (Test-IsWindows) {
        $environment['PSModulePath'] = $modules + [System.IO.Path]::PathSeparator + $env:PSModulePath
        $install = "Save-PSResource -Name HexCost -Repository `$name -Path $(ConvertTo-SingleQuoted $modules) -TrustRepository -IncludeXml"
    }
    else {
        $environment['HOME'] = $scratchHome
        # .NET answers '' for a data folder that does not exist yet, and PSResourceGet would then write to the working directory.
        $environment['XDG_DATA_HOME'] = [System.IO.Path]::Combine($scratchHome, '.local', 'share')
        $environment['XDG_CONFIG_HOME'] = Join-Path $scratchHome '.config'
        $environment['XDG_CACHE_HOME'] = Join-Path $scratchHome '.cache'
        foreach ($folder in @($environment['XDG_DATA_HOME'], $environment['XDG_CONFIG_HOME'], $environment['XDG_CACHE_HOME'])) {
            $null = New-Item -ItemType Directory -Path $folder -Force
        }
        $install = 'Install-PSResource -Name HexCost -Repository $name -Scope CurrentUser -TrustRepository'
    }
    $script = @'
$ErrorActionPreference = 'Stop'
$name = 'HexCostLocal' + [guid]::NewGuid().ToString('N')
Register-PSResourceRepository -Name $name -Uri __REPOSITORY__ -Trusted
try {
    Publish-PSResource -Path __PACKAGE__ -Repository $name
    __INSTALL__
}
finally {
    Unregister-PSResourceRepository -Name $name
}
$installed = @(Get-Module -ListAvailable -Name HexCost)
if ($installed.Count -ne 1) { throw "Expected one installed HexCost, found $($installed.Count): $($installed.ModuleBase -join ', ')." }
Write-Host "Installed HexCost $($installed[0].Version) in $($installed[0].ModuleBase)."
'@
    $script = $script.Replace('__REPOSITORY__', (ConvertTo-SingleQuoted $repository)).Replace('__PACKAGE__', (ConvertTo-SingleQuoted $PackageDir)).Replace('__INSTALL__', $install)
    Write-Step "Publish-PSResource $PackageDir to a local repository, then install it as a gallery user would"
    $exitCode = Invoke-PowerShellChild -Name 'gallery-install' -Script $script -Environment $environment
    if ($exitCode -ne 0) {
        throw "Publishing or installing the module from the local repository failed (exit code $exitCode)."
    }
    return $environment
}

function Write-TestSummary {
    param([Parameter(Mandatory = $true)] [object[]] $Counts)
    $lines = New-Object System.Collections.Generic.List[string]
    foreach ($count in $Counts) {
        $lines.Add(('{0}: {1} passed, {2} failed, {3} skipped' -f $count.Name, $count.Passed, $count.Failed, $count.Skipped))
    }
    $xunit = @($Counts | Where-Object { $_.Name -eq 'xunit' })
    $pester = @($Counts | Where-Object { $_.Name -like 'pester*' })
    foreach ($part in @(@{ Name = 'xunit'; Counts = $xunit }, @{ Name = 'pester'; Counts = $pester }, @{ Name = ''; Counts = $Counts })) {
        $passed = 0
        $failed = 0
        foreach ($count in $part.Counts) {
            $passed += $count.Passed
            $failed += $count.Failed
        }
        $prefix = if ($part.Name) { "$($part.Name): " } else { '' }
        $lines.Add(('{0}{1} passed, {2} failed' -f $prefix, $passed, $failed))
    }
    [System.IO.File]::WriteAllLines((Join-Path $TestResultsDir 'summary.txt'), $lines.ToArray())
    foreach ($line in $lines) {
        Write-Host $line
    }
}

function Invoke-TestTask {
    # xunit, then the whole Pester suite in this PowerShell: against the build output, then against the module installed
    # the way a gallery user gets it. Every part runs even when an earlier one failed; the summary counts them all.
    param([switch] $PesterOnly)
    if (-not (Test-Path -LiteralPath $TestResultsDir)) {
        $null = New-Item -ItemType Directory -Path $TestResultsDir
    }
    $counts = @()
    if (-not $PesterOnly) {
        $counts += Invoke-XunitTests
    }
    $counts += Invoke-PesterTests -Name 'pester-build' -ModulePath (Join-Path $RepoRoot 'HexCost.psd1')
    try {
        Invoke-PackageTask
        $environment = Install-HexCostFromLocalGallery
        $counts += Invoke-PesterTests -Name 'pester-installed' -ModulePath 'HexCost' -Environment $environment
    }
    catch {
        Write-Host "The installed module could not be tested: $($_.Exception.Message)" -ForegroundColor Red
        $counts += New-TestCount -Name 'pester-installed' -Passed 0 -Failed 1 -Skipped 0
    }
    return $counts
}

function Invoke-PackageTask {
    # The build assembles module/HexCost (src/HexCost.Commands/HexCost.Commands.csproj, target PackageModule): the
    # manifest with its paths made relative to the folder, the loader, formats, help and each framework's bin. Here
    # we only check that what it assembled is what an Install-Module user must get.
    Write-Step "Package: $PackageDir"
    $manifestPath = Join-Path $PackageDir 'HexCost.psd1'
    if (-not (Test-Path -LiteralPath $manifestPath -PathType Leaf)) {
        throw "The build did not assemble '$PackageDir' (no HexCost.psd1): check the PackageModule target in src/HexCost.Commands/HexCost.Commands.csproj."
    }
    $required = @('HexCost.Format.ps1xml', 'en-US/about_HexCost.help.txt', 'en-US/HexCost.Commands.dll-Help.xml') +
        @($Frameworks | ForEach-Object { "bin/$_/HexCost.Commands.dll" })
    foreach ($relative in $required) {
        if (-not (Test-Path -LiteralPath (Join-Path $PackageDir $relative) -PathType Leaf)) {
            throw "The package '$PackageDir' has no '$relative': rebuild (./build.ps1 -Task Package) and check the PackageModule target."
        }
    }
    # Nothing a user's PowerShell must not load (its own engine) and no debug symbols.
    $unwanted = @(Get-ChildItem -LiteralPath $PackageDir -Recurse -File |
        Where-Object { $_.Extension -eq '.pdb' -or $ExcludedFiles -contains $_.Name })
    if ($unwanted.Count -gt 0) {
        throw "The package '$PackageDir' must not ship $(@($unwanted | ForEach-Object { $_.Name }) -join ', ')."
    }

    Write-Step "Test-ModuleManifest $manifestPath"
    $info = Test-ModuleManifest -Path $manifestPath -ErrorAction Stop
    $fileCount = @(Get-ChildItem -LiteralPath $PackageDir -Recurse -File).Count
    $cmdlets = @($info.ExportedCmdlets.Keys) -join ', '
    Write-Host "Packaged $($info.Name) $($info.Version) ($fileCount files) in $PackageDir; RootModule $($info.RootModule); cmdlets: $cmdlets."
}

$script:Dotnet = Get-DotnetPath
$stopwatch = [System.Diagnostics.Stopwatch]::StartNew()
$testCounts = @()
Push-Location -LiteralPath $RepoRoot
try {
    Write-Step "HexCost: Task $Task, Configuration $Configuration, PowerShell $($PSVersionTable.PSVersion) ($($PSVersionTable.PSEdition))"
    Invoke-BuildTask
    if ($Task -eq 'Test' -or $Task -eq 'All' -or $Task -eq 'Pester') {
        $testCounts = @(Invoke-TestTask -PesterOnly:($Task -eq 'Pester'))
    }
    if ($Task -eq 'Package') {
        Invoke-PackageTask
    }
    Write-Step ("Done: {0} ({1}) in {2:n1} s" -f $Task, $Configuration, $stopwatch.Elapsed.TotalSeconds)
}
finally {
    Pop-Location
}
if ($testCounts.Count -gt 0) {
    # Last, so the totals are the last line printed.
    Write-TestSummary -Counts $testCounts
    if (@($testCounts | Where-Object { $_.Failed -gt 0 }).Count -gt 0) {
        exit 1
    }
}
