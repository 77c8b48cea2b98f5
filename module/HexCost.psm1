# Loads the HexCost cmdlets built for this edition of PowerShell:
#   PowerShell 7.4+ (Core)      -> bin/net8.0: takes System.Text.Json, TimeProvider and Microsoft.Bcl.AsyncInterfaces
#                                  from the .NET that pwsh runs on, so it binds to whatever pwsh already loaded.
#   Windows PowerShell 5.1      -> bin/netstandard2.0 with its own polyfills.
$framework = if ($PSVersionTable.PSEdition -eq 'Core') { 'net8.0' } else { 'netstandard2.0' }
$binary = [System.IO.Path]::Combine($PSScriptRoot, 'bin', $framework, 'HexCost.Commands.dll')
if (-not [System.IO.File]::Exists($binary)) {
    throw "HexCost is not built: '$binary' is missing. Run 'dotnet build' in the repository (or ./build.ps1 -Task Build) first."
}
Import-Module -Name $binary -ErrorAction Stop
