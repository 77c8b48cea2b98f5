#Requires -Version 5.1
<#
.SYNOPSIS
    Builds, tests and packages the HexCost PowerShell module.

.DESCRIPTION
    Build   - dotnet build HexCost.sln; the cmdlet DLLs land in module/bin/<tfm>/, so Import-Module ./HexCost.psd1 works.
    Test    - Build, then dotnet test HexCost.sln, then the Pester 5.1+ tests in tests/Pester (in a child PowerShell
              process, so this session never loads - and on Windows never locks - the module's DLLs). Without
              Pester 5.1 or later installed, the Pester step is skipped with a message.
    Package - Build (which assembles module/HexCost/: the folder an Install-Module user gets - manifest, HexCost.psm1,
              bin/net8.0, bin/netstandard2.0, formats and help), then check that folder and Test-ModuleManifest it.
    All     - Build, Test and Package (the default).

    Runs on Windows PowerShell 5.1 and PowerShell 7.4+. Needs the .NET SDK named in global.json on PATH.
    Close any session that imported HexCost from this tree first: on Windows it locks the DLLs that the build
    replaces.

.PARAMETER Task
    Build, Test, Package or All (default).

.PARAMETER Configuration
    Release (default) or Debug.

.EXAMPLE
    ./build.ps1

.EXAMPLE
    ./build.ps1 -Task Test -Configuration Debug

.EXAMPLE
    ./build.ps1 -Task Package; $env:HEXCOST_MODULE_PATH = "$PWD/module/HexCost"; ./build.ps1 -Task Test
    Packages the module, then runs the Pester tests against the packaged copy.
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Package', 'All')]
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

function Get-PowerShellExecutable {
    # The child runs on the same edition as this script: pwsh for PowerShell 7, powershell.exe for 5.1.
    try {
        $path = [System.Diagnostics.Process]::GetCurrentProcess().MainModule.FileName
        if ([System.IO.Path]::GetFileNameWithoutExtension($path) -in @('pwsh', 'powershell')) {
            return $path
        }
    }
    catch {
        Write-Verbose "Could not read this process's path ($($_.Exception.Message)); looking on PATH."
    }
    $name = if ($PSVersionTable.PSEdition -eq 'Core') { 'pwsh' } else { 'powershell' }
    $command = Get-Command -Name $name -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
    if ($null -eq $command) {
        throw "Cannot find '$name' to run the Pester tests in a child process."
    }
    return $command.Path
}

function ConvertTo-SingleQuoted {
    param([Parameter(Mandatory = $true)] [string] $Text)
    return "'" + $Text.Replace("'", "''") + "'"
}

function Invoke-BuildTask {
    # module/bin and the package folder are shared by Debug and Release builds: start them empty so a package never
    # carries stale files.
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
        $binary = Join-Path (Join-Path (Join-Path $ModuleDir 'bin') $framework) 'HexCost.Commands.dll'
        if (-not (Test-Path -LiteralPath $binary -PathType Leaf)) {
            throw "The build succeeded but '$binary' is missing: src/HexCost.Commands should copy its DLLs to module/bin/$framework."
        }
    }
    Write-Host "Built HexCost ($Configuration): cmdlets in module/bin/$($Frameworks -join ', module/bin/')."
}

function Invoke-PesterTests {
    $pester = Get-Module -ListAvailable -Name 'Pester' |
        Where-Object { $_.Version -ge [version]'5.1' } |
        Sort-Object -Property Version -Descending |
        Select-Object -First 1
    if ($null -eq $pester) {
        Write-Host ('Pester tests skipped: Pester 5.1 or later is not installed ' +
            '(Install-Module Pester -MinimumVersion 5.1 -Scope CurrentUser -Force -SkipPublisherCheck).') -ForegroundColor Yellow
        return
    }

    $resultsDir = Join-Path $RepoRoot 'TestResults'
    if (-not (Test-Path -LiteralPath $resultsDir)) {
        $null = New-Item -ItemType Directory -Path $resultsDir
    }
    $resultsFile = Join-Path $resultsDir 'pester.xml'

    # Run in a child process: the tests import the module, and a DLL loaded here would stay loaded (and locked on
    # Windows) until this session ends.
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
Write-Host ('pester: {0} passed, {1} failed, {2} skipped' -f $result.PassedCount, $result.FailedCount, $result.SkippedCount)
if ($result.Result -ne 'Passed') { exit 1 }
exit 0
'@
    $runner = $runner.Replace('__PESTER__', (ConvertTo-SingleQuoted $pester.Path))
    $runner = $runner.Replace('__TESTS__', (ConvertTo-SingleQuoted $PesterTestsDir))
    $runner = $runner.Replace('__RESULTS__', (ConvertTo-SingleQuoted $resultsFile))
    $encoded = [System.Convert]::ToBase64String([System.Text.Encoding]::Unicode.GetBytes($runner))

    $executable = Get-PowerShellExecutable
    $arguments = @('-NoProfile', '-NonInteractive')
    if (Test-IsWindows) {
        $arguments += @('-ExecutionPolicy', 'Bypass')
    }
    $arguments += @('-EncodedCommand', $encoded)

    Write-Step "Pester $($pester.Version): $PesterTestsDir (in a child $([System.IO.Path]::GetFileName($executable)) process)"
    # The tests start the emulator with this configuration's build of it when there is one.
    $oldConfiguration = Set-ProcessEnvironment -Name 'HEXCOST_CONFIGURATION' -Value $Configuration
    try {
        $ErrorActionPreference = 'Continue'
        & $executable @arguments | Out-Host
        $exitCode = $LASTEXITCODE
    }
    finally {
        $null = Set-ProcessEnvironment -Name 'HEXCOST_CONFIGURATION' -Value $oldConfiguration
    }
    if ($exitCode -ne 0) {
        throw "Pester tests failed (exit code $exitCode); results in $resultsFile."
    }
    Write-Host "Pester tests passed; results in $resultsFile."
}

function Invoke-TestTask {
    # The solution was just built with this configuration.
    Invoke-Dotnet -Arguments @('test', $Solution, '-c', $Configuration, '--no-build')
    Invoke-PesterTests
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
    $required = @('HexCost.psm1', 'HexCost.Format.ps1xml', 'en-US/about_HexCost.help.txt', 'en-US/HexCost.Commands.dll-Help.xml') +
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
Push-Location -LiteralPath $RepoRoot
try {
    Write-Step "HexCost: Task $Task, Configuration $Configuration, PowerShell $($PSVersionTable.PSVersion) ($($PSVersionTable.PSEdition))"
    Invoke-BuildTask
    if ($Task -eq 'Test' -or $Task -eq 'All') {
        Invoke-TestTask
    }
    if ($Task -eq 'Package' -or $Task -eq 'All') {
        Invoke-PackageTask
    }
    Write-Step ("Done: {0} ({1}) in {2:n1} s" -f $Task, $Configuration, $stopwatch.Elapsed.TotalSeconds)
}
finally {
    Pop-Location
}
