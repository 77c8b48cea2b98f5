# Loads the HexCost cmdlets built for this edition of PowerShell:
#   PowerShell 7.4+ (Core)   -> bin/net8.0: the cmdlets and the core load where PowerShell finds types; their third-party
#                               dependencies in bin/net8.0/deps load into HexCost's own AssemblyLoadContext.
#   Windows PowerShell 5.1   -> bin/netstandard2.0, with an assembly-resolve handler for version mismatches.
# An assembly stays loaded for the life of the process, so every later import (-Force, after Remove-Module, in another
# runspace, or of another copy of the module) reuses the one already loaded.
$importModule = Get-Command -Name 'Import-Module' -Module 'Microsoft.PowerShell.Core'
$framework = if ($PSVersionTable.PSEdition -eq 'Core') { 'net8.0' } else { 'netstandard2.0' }
$binary = [System.IO.Path]::Combine($PSScriptRoot, 'bin', $framework, 'HexCost.Commands.dll')

$loader = 'HexCost.Commands.Loading.DependencyLoader' -as [type]
if ($null -eq $loader) {
    if (-not [System.IO.File]::Exists($binary)) {
        throw "HexCost is not built: '$binary' is missing. Run 'dotnet build' in the repository (or ./build.ps1 -Task Build) first."
    }
    $loader = [System.Reflection.Assembly]::LoadFrom($binary).GetType('HexCost.Commands.Loading.DependencyLoader', $true)
}
elseif ($loader.Assembly.Location -ne $binary -and [System.IO.File]::Exists($binary)) {
    # Another copy of HexCost loaded first (the repository's build, then the package, say): this import uses it.
    $loaded = $loader.Assembly.GetName().Version
    $mine = [System.Reflection.AssemblyName]::GetAssemblyName($binary).Version
    if ($mine -ne $loaded) {
        Write-Warning ("HexCost $loaded is already loaded in this process from '$([System.IO.Path]::GetDirectoryName($loader.Assembly.Location))', " +
            "so this import uses it. To use HexCost $mine from '$PSScriptRoot', start a new PowerShell session.")
    }
}
$loader::Register()

# PowerShell/PowerShell#20710: Import-Module -Assembly of an assembly imported before returns the cached module without
# making it this script module's nested module or exporting its cmdlets, so this module would have no cmdlets and
# Get-Help would not look beside the DLL for their help. Attach and export it here on every import.
[System.Management.Automation.PSModuleInfo] $cmdlets = & $importModule -Assembly $loader.Assembly -PassThru -ErrorAction Stop
$thisModule = $ExecutionContext.SessionState.Module
$nonPublic = [System.Reflection.BindingFlags]'Instance, NonPublic'
$addNestedModule = [System.Management.Automation.PSModuleInfo].GetMethod('AddNestedModule', $nonPublic)
$addExportedCmdlet = [System.Management.Automation.PSModuleInfo].GetMethod('AddExportedCmdlet', $nonPublic)
if ($null -ne $addNestedModule -and $null -ne $addExportedCmdlet) {
    $addNestedModule.Invoke($thisModule, @(, $cmdlets))
    foreach ($cmdlet in $cmdlets.ExportedCmdlets.Values) {
        $addExportedCmdlet.Invoke($thisModule, @(, $cmdlet))
    }
}
