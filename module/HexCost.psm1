# Loads the HexCost cmdlets built for this edition of PowerShell:
#   PowerShell 7.4+ (Core)      -> bin/net8.0: the cmdlets, with their dependencies in bin/net8.0/deps loaded into
#                                  HexCost's own AssemblyLoadContext (other modules' versions cannot clash); System.Text.Json,
#                                  TimeProvider and Microsoft.Bcl.AsyncInterfaces come from the .NET that pwsh runs on.
#   Windows PowerShell 5.1      -> bin/netstandard2.0 with its own polyfills (an assembly-resolve handler covers versions).
$framework = if ($PSVersionTable.PSEdition -eq 'Core') { 'net8.0' } else { 'netstandard2.0' }
$binary = [System.IO.Path]::Combine($PSScriptRoot, 'bin', $framework, 'HexCost.Commands.dll')
if (-not [System.IO.File]::Exists($binary)) {
    throw "HexCost is not built: '$binary' is missing. Run 'dotnet build' in the repository (or ./build.ps1 -Task Build) first."
}
if ($framework -eq 'net8.0') {
    $assembly = [System.Reflection.Assembly]::LoadFrom($binary)
    $assembly.GetType('HexCost.Commands.Loading.DependencyLoader', $true)::Register([System.IO.Path]::Combine($PSScriptRoot, 'bin', $framework, 'deps'))
    Import-Module -Assembly $assembly -ErrorAction Stop
}
else {
    Import-Module -Name $binary -ErrorAction Stop
}
