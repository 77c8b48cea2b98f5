# Pester 5: the module's manifest and its exported commands. Needs no emulator.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $manifestPath = Get-HexCostManifestPath
    $module = Import-HexCostUnderTest
}

Describe 'HexCost module' -Tag 'CI' {
    It 'has a manifest that passes Test-ModuleManifest' {
        $manifest = Test-ModuleManifest -Path $manifestPath -ErrorAction Stop
        $manifest.Name | Should -Be 'HexCost'
        $manifest.Version | Should -Not -BeNullOrEmpty
        $manifest.CompatiblePSEditions | Should -Contain 'Core'
        $manifest.CompatiblePSEditions | Should -Contain 'Desktop'
        (@($manifest.ExportedCmdlets.Keys | Sort-Object) -join ',') | Should -Be (@($HexCostCmdlets | Sort-Object) -join ',')
    }

    It 'imports on this edition of PowerShell' {
        $module | Should -Not -BeNullOrEmpty
        $module.Name | Should -Be 'HexCost'
        (Get-Module -Name 'HexCost') | Should -Not -BeNullOrEmpty
    }

    It 'exports exactly the six cmdlets' {
        (@($module.ExportedCommands.Keys | Sort-Object) -join ',') | Should -Be (@($HexCostCmdlets | Sort-Object) -join ',')
        (@($module.ExportedCmdlets.Keys | Sort-Object) -join ',') | Should -Be (@($HexCostCmdlets | Sort-Object) -join ',')
        $module.ExportedFunctions.Count | Should -Be 0
        $module.ExportedAliases.Count | Should -Be 0
    }

    # -TestCases (not -ForEach) so that Pester 5.0 runs it too.
    It '<CommandName> is a cmdlet with at least one parameter set' -TestCases @(
        @{ CommandName = 'Connect-Hex' }
        @{ CommandName = 'Disconnect-Hex' }
        @{ CommandName = 'Get-HexProject' }
        @{ CommandName = 'Invoke-HexRun' }
        @{ CommandName = 'Get-HexRun' }
        @{ CommandName = 'Stop-HexRun' }
    ) {
        param($CommandName)
        $command = Get-Command -Name $CommandName -CommandType Cmdlet -ErrorAction Stop
        $command.ParameterSets.Count | Should -BeGreaterThan 0
    }

    It '<CommandName> uses an approved verb' -TestCases @(
        @{ CommandName = 'Connect-Hex' }
        @{ CommandName = 'Disconnect-Hex' }
        @{ CommandName = 'Get-HexProject' }
        @{ CommandName = 'Invoke-HexRun' }
        @{ CommandName = 'Get-HexRun' }
        @{ CommandName = 'Stop-HexRun' }
    ) {
        param($CommandName)
        $verb = $CommandName.Split('-')[0]
        @(Get-Verb | ForEach-Object { $_.Verb }) | Should -Contain $verb
    }

    It 'lets -WhatIf and -Confirm guard the cmdlets that change runs' {
        foreach ($name in @('Invoke-HexRun', 'Stop-HexRun')) {
            $parameters = (Get-Command -Name $name -CommandType Cmdlet).Parameters
            $parameters.ContainsKey('WhatIf') | Should -BeTrue -Because "$name changes runs"
            $parameters.ContainsKey('Confirm') | Should -BeTrue -Because "$name changes runs"
        }
    }
}
