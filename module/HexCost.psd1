# HexCost's manifest, as it ships: the build copies it into module/HexCost/, the folder a gallery user installs.
@{
    # The build for this edition: PowerShell 7.4+ (Core) loads bin/net8.0, Windows PowerShell 5.1 bin/netstandard2.0.
    RootModule             = if ($PSEdition -eq 'Core') { 'bin/net8.0/HexCost.Commands.dll' } else { 'bin/netstandard2.0/HexCost.Commands.dll' }
    ModuleVersion          = '0.1.0'
    GUID                   = '6f0f7f4e-4d35-4c39-9a53-2f1d0c8b7a11'
    Author                 = 'HexCost contributors'
    CompanyName            = 'HexCost'
    Copyright              = '(c) HexCost contributors. MIT License.'
    Description            = 'Control what Hex (hex.tech) costs: rate-limited, cached, ledgered project runs; credit balances; spend limits; schedule audits.'
    PowerShellVersion      = '5.1'
    CompatiblePSEditions   = @('Core', 'Desktop')
    DotNetFrameworkVersion = '4.7.2'
    FormatsToProcess       = @('HexCost.Format.ps1xml')
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
        'Copy-HexState'
    )
    FunctionsToExport      = @()
    VariablesToExport      = @()
    AliasesToExport        = @()
    PrivateData            = @{
        PSData = @{
            Tags         = @('Hex', 'hex.tech', 'Cost', 'FinOps', 'RateLimit', 'PSEdition_Core', 'PSEdition_Desktop', 'Windows', 'Linux', 'MacOS')
            ProjectUri   = 'https://github.com/hexcost/HexCost'
            LicenseUri   = 'https://github.com/hexcost/HexCost/blob/main/LICENSE'
            ReleaseNotes = @'
0.1.0
- Runs: Invoke-HexRun paced to Hex's limits (20/min, 60/h; one limiter per account across runspaces and processes), cached
  by source version, exactly once per -IdempotencyKey across crashes and retries; Get-HexRun, Stop-HexRun.
- Get-HexScheduleAudit: over-scheduled, over-budget, abandoned, archived, failing, colliding and duplicate schedules and
  idle editor seats, with the runs and money each fix saves.
- Credits: Get-HexCreditBalance (grants, pool, add-ons, projections), Import-HexCreditUsage, Set-/Get-HexSpendLimit
  (a policy HexCost enforces, with its history), Get-HexRunReport.
- Export-HexCostReport: one self-contained HTML page for finance.
- Help for every cmdlet and about_HexCost, table views, argument completers, progress; Windows PowerShell 5.1 and
  PowerShell 7.4+, dependencies isolated from other modules.
'@
        }
    }
}
