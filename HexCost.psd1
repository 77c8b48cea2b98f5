@{
    RootModule             = 'module/HexCost.psm1'
    ModuleVersion          = '0.1.0'
    GUID                   = '6f0f7f4e-4d35-4c39-9a53-2f1d0c8b7a11'
    Author                 = 'HexCost contributors'
    CompanyName            = 'HexCost'
    Copyright              = '(c) HexCost contributors. MIT License.'
    Description            = 'Control what Hex (hex.tech) costs: rate-limited, cached, ledgered project runs; credit balances; spend limits; schedule audits.'
    PowerShellVersion      = '5.1'
    CompatiblePSEditions   = @('Core', 'Desktop')
    DotNetFrameworkVersion = '4.7.2'
    FormatsToProcess       = @('module/HexCost.Format.ps1xml')
    CmdletsToExport        = @(
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
    )
    FunctionsToExport      = @()
    VariablesToExport      = @()
    AliasesToExport        = @()
    PrivateData            = @{
        PSData = @{
            Tags         = @('Hex', 'hex.tech', 'Cost', 'FinOps', 'RateLimit', 'PSEdition_Core', 'PSEdition_Desktop', 'Windows', 'Linux', 'MacOS')
            ProjectUri   = 'https://github.com/hexcost/HexCost'
            LicenseUri   = 'https://github.com/hexcost/HexCost/blob/main/LICENSE'
            ReleaseNotes = 'Foundation: Connect-Hex, Get-HexProject, Invoke-HexRun (rate-limited, cached, ledgered), Get-HexRun, Stop-HexRun.'
        }
    }
}
