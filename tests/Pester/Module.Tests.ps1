# Pester 5.1+: the module's manifest, its exported commands and their help. Needs no emulator.
BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $cmdletCases = @($HexCostCmdlets | ForEach-Object { @{ CommandName = $_ } })
    $stateChangingCases = @($HexCostStateChangingCmdlets | ForEach-Object { @{ CommandName = $_ } })
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $module = Import-HexCostUnderTest
    # The manifest that was imported (HEXCOST_MODULE_PATH may name the installed module instead of a path).
    $manifestPath = Join-Path $module.ModuleBase 'HexCost.psd1'
    $commonParameters = @([System.Management.Automation.Cmdlet]::CommonParameters) + @([System.Management.Automation.Cmdlet]::OptionalCommonParameters)

    function Get-HelpText {
        # Get-Help gives text blocks as objects with a Text property, or as strings.
        param($Value)
        return (@($Value) | Where-Object { $_ } | ForEach-Object { if ($_ -is [string]) { $_ } else { $_.Text } }) -join "`n"
    }
}

Describe 'HexCost module' -Tag 'CI' {
    It 'has a manifest that passes Test-ModuleManifest, with what a gallery needs' {
        $manifest = Test-ModuleManifest -Path $manifestPath -ErrorAction Stop
        $manifest.Name | Should -Be 'HexCost'
        $manifest.Version | Should -Not -BeNullOrEmpty
        $manifest.CompatiblePSEditions | Should -Contain 'Core'
        $manifest.CompatiblePSEditions | Should -Contain 'Desktop'
        (@($manifest.ExportedCmdlets.Keys | Sort-Object) -join ',') | Should -Be (@($HexCostCmdlets | Sort-Object) -join ',')
        $manifest.Tags | Should -Contain 'Hex'
        [string]$manifest.ProjectUri | Should -Match '^https://'
        [string]$manifest.LicenseUri | Should -Match '^https://'
        $manifest.ReleaseNotes | Should -Not -BeNullOrEmpty
    }

    It 'imports on this edition of PowerShell' {
        $module | Should -Not -BeNullOrEmpty
        $module.Name | Should -Be 'HexCost'
        (Get-Module -Name 'HexCost') | Should -Not -BeNullOrEmpty
    }

    It 'exports exactly its cmdlets, and no functions or aliases' {
        (@($module.ExportedCommands.Keys | Sort-Object) -join ',') | Should -Be (@($HexCostCmdlets | Sort-Object) -join ',')
        (@($module.ExportedCmdlets.Keys | Sort-Object) -join ',') | Should -Be (@($HexCostCmdlets | Sort-Object) -join ',')
        $module.ExportedFunctions.Count | Should -Be 0
        $module.ExportedAliases.Count | Should -Be 0
    }

    It '<CommandName> is a cmdlet with an approved verb' -TestCases $cmdletCases {
        param($CommandName)
        $command = Get-Command -Name $CommandName -CommandType Cmdlet -ErrorAction Stop
        $command.ParameterSets.Count | Should -BeGreaterThan 0
        @(Get-Verb | ForEach-Object { $_.Verb }) | Should -Contain $command.Verb
    }

    It '<CommandName> takes -WhatIf and -Confirm' -TestCases $stateChangingCases {
        param($CommandName)
        $parameters = (Get-Command -Name $CommandName -CommandType Cmdlet -ErrorAction Stop).Parameters
        $parameters.ContainsKey('WhatIf') | Should -BeTrue -Because "$CommandName changes state"
        $parameters.ContainsKey('Confirm') | Should -BeTrue -Because "$CommandName changes state"
    }
}

Describe 'Help' -Tag 'CI' {
    It 'Get-Help <CommandName> -Full documents it, every parameter included' -TestCases $cmdletCases {
        param($CommandName)
        $help = Get-Help -Name $CommandName -Full -ErrorAction Stop
        $command = Get-Command -Name $CommandName -CommandType Cmdlet -ErrorAction Stop

        # Without the help file Get-Help makes up a stub whose synopsis is the syntax.
        $help.PSObject.TypeNames | Should -Contain 'MamlCommandHelpInfo'
        $synopsis = ([string]$help.Synopsis).Trim()
        $synopsis | Should -Not -BeNullOrEmpty
        $synopsis | Should -Not -Match ('^' + [regex]::Escape($CommandName) + ' \[')
        (Get-HelpText $help.description).Length | Should -BeGreaterThan 40

        $examples = @($help.examples.example | Where-Object { $_ } | ForEach-Object { [string]$_.code })
        $examples.Count | Should -BeGreaterOrEqual 2
        @($examples | Where-Object { $_ -match 'Export-Csv' }).Count | Should -BeGreaterThan 0 -Because 'one example pipes into Export-Csv'
        $links = @($help.relatedLinks.navigationLink | Where-Object { $_ } | ForEach-Object { [string]$_.linkText })
        $links | Should -Contain 'about_HexCost'

        $documented = @{}
        foreach ($parameter in @($help.parameters.parameter | Where-Object { $_ })) {
            $documented[[string]$parameter.name] = Get-HelpText $parameter.description
        }
        foreach ($name in @($command.Parameters.Keys | Where-Object { $commonParameters -notcontains $_ })) {
            $documented.ContainsKey($name) | Should -BeTrue -Because "-$name of $CommandName needs help"
            $documented[$name].Trim() | Should -Not -BeNullOrEmpty -Because "-$name of $CommandName needs a description"
        }
    }

    It 'renders Get-Help <CommandName> -Full and -Examples as text at 80 columns' -TestCases $cmdletCases {
        param($CommandName)
        $full = Get-Help -Name $CommandName -Full -ErrorAction Stop | Out-String -Width 80
        foreach ($heading in @('NAME', 'SYNOPSIS', 'SYNTAX', 'DESCRIPTION', 'PARAMETERS', 'EXAMPLE 1', 'RELATED LINKS')) {
            $full | Should -Match ('(?m)^\s*' + [regex]::Escape($heading)) -Because "the rendered help of $CommandName has $heading"
        }
        $command = Get-Command -Name $CommandName -CommandType Cmdlet -ErrorAction Stop
        foreach ($name in @($command.Parameters.Keys | Where-Object { $commonParameters -notcontains $_ })) {
            $full | Should -Match ('(?m)^\s*-' + [regex]::Escape($name) + '\b') -Because "-$name of $CommandName is rendered"
        }
        @($full -split '\r?\n' | Where-Object { $_.Length -gt 80 }).Count | Should -Be 0 -Because 'the help wraps at the width it is rendered at'
        $examples = Get-Help -Name $CommandName -Examples -ErrorAction Stop | Out-String -Width 80
        $examples | Should -Match ([regex]::Escape('PS > ') + '|' + [regex]::Escape('PS C:\>'))
    }

    It 'has an about_HexCost topic on limits, the ledger, the cache and credits' {
        $text = (Get-Help -Name 'about_HexCost' -ErrorAction Stop | Out-String)
        foreach ($concept in @('rate limit', 'ledger', 'cache', 'credit', 'spend', 'Retry-After')) {
            $text | Should -Match ([regex]::Escape($concept)) -Because "about_HexCost explains $concept"
        }
        foreach ($name in $HexCostCmdlets) {
            $text | Should -Match ([regex]::Escape($name))
        }
    }
}
