# The repository's entry point (Import-Module ./HexCost.psd1 after dotnet build): its root module is the manifest of
# module/HexCost, the module folder every build assembles and a gallery user installs, so the repository runs exactly what
# ships, and the module's base (where Get-Help finds its help) is that folder. The module's own manifest, with its
# metadata and release notes, is module/HexCost.psd1; check that one with Test-ModuleManifest (this redirect is not a
# root module Test-ModuleManifest accepts, though Import-Module does).
@{
    RootModule           = 'module/HexCost/HexCost.psd1'
    ModuleVersion        = '0.1.0'
    GUID                 = '6f0f7f4e-4d35-4c39-9a53-2f1d0c8b7a11'
    Author               = 'HexCost contributors'
    CompanyName          = 'HexCost'
    Copyright            = '(c) HexCost contributors. MIT License.'
    Description          = 'Control what Hex (hex.tech) costs: rate-limited, cached, ledgered project runs; credit balances; spend limits; schedule audits.'
    PowerShellVersion    = '5.1'
    CompatiblePSEditions = @('Core', 'Desktop')
    CmdletsToExport      = @(
        'Connect-Hex'
        'Disconnect-Hex'
        'Get-HexProject'
        'Invoke-HexRun'
        'Get-HexRun'
        'Stop-HexRun'
        'Get-HexScheduleAudit'
        'Get-HexCreditBalance'
        'Import-HexCreditUsage'
        'Set-HexSpendLimit'
        'Get-HexSpendLimit'
        'Get-HexRunReport'
        'Export-HexCostReport'
        'Copy-HexState'
    )
    FunctionsToExport    = @()
    VariablesToExport    = @()
    AliasesToExport      = @()
}
