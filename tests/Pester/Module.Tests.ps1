# Pester 5.1+: the module's manifest, its exported commands and their help. Needs no emulator.
BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $cmdletCases = @($HexCostCmdlets | ForEach-Object { @{ CommandName = $_ } })
    $stateChangingCases = @($HexCostStateChangingCmdlets | ForEach-Object { @{ CommandName = $_ } })
    # The real-console help test needs tmux (an 80-column terminal to run PowerShell in); without it, it is skipped.
    $tmuxMissing = $null -eq (Get-Command -Name 'tmux' -CommandType Application -ErrorAction SilentlyContinue)
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

    # pwsh's console host formats for one column less than the console is wide (an 80-column console formats at 79
    # columns and breaks a line of 80 before its last character), so text fits an 80-column console when no line is
    # longer than 79 characters.
    $maxLineLength = 79
    # The views of Get-Help, by the parameters that choose them.
    $helpViews = [ordered]@{
        '-Full'        = @{ Full = $true }
        '-Detailed'    = @{ Detailed = $true }
        '-Examples'    = @{ Examples = $true }
        '-Parameter *' = @{ Parameter = '*' }
        '(default)'    = @{}
    }

    function Get-HexHelpTextLine {
        # The lines of a help text block (paragraphs as Get-Help gives them), trimmed, without empty ones.
        param($Value)
        return @((Get-HelpText $Value) -split '\r?\n' | ForEach-Object { $_.Trim() } | Where-Object { $_ })
    }

    function Get-HexRenderedHelp {
        # The lines Get-Help @Arguments writes, rendered as text at -Width columns, without ANSI escapes.
        param([hashtable] $Arguments, [int] $Width)
        $text = Get-Help @Arguments -ErrorAction Stop | Out-String -Width $Width
        $text = [regex]::Replace($text, "\x1b\[[0-9;?]*[A-Za-z]", '')
        return @($text -split '\r?\n')
    }

    function Select-HexOwnHelpLine {
        # The rendered lines that come from the help file: not the SYNTAX section, which PowerShell builds from the
        # syntax items (one line per parameter set, which it breaks wherever the width ends, even inside a word), and
        # not the paragraph PowerShell writes under <CommonParameters> (one of its lines has 80 characters).
        param([string[]] $Line)
        $section = ''
        $inCommon = $false
        foreach ($l in $Line) {
            if ($l -cmatch '^[A-Z][A-Z ]*[A-Z]$') { $section = $l }
            if ($l.Trim() -eq '<CommonParameters>') { $inCommon = $true }
            elseif ($inCommon -and -not $l.Trim()) { $inCommon = $false }
            if ($section -ne 'SYNTAX' -and -not $inCommon) { $l }
        }
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

    It 'Get-Help <CommandName> fits 80 columns in every view, without relying on the console to wrap it' -TestCases $cmdletCases {
        param($CommandName)
        # Rendered far wider than any console, every line is as long as the help text makes it: the text itself must
        # fit, since a console would break a longer line at any character. SYNTAX and the <CommonParameters> paragraph
        # are PowerShell's own (see Select-HexOwnHelpLine); a tab would be as wide as the console makes it.
        $tooLong = foreach ($view in $helpViews.Keys) {
            $lines = Get-HexRenderedHelp -Arguments ($helpViews[$view] + @{ Name = $CommandName }) -Width 250
            Select-HexOwnHelpLine -Line $lines | Where-Object { $_.Length -gt $maxLineLength -or $_.Contains("`t") } |
                ForEach-Object { "Get-Help $CommandName $view, $($_.Length) characters: $_" }
        }
        $tooLong | Should -BeNullOrEmpty -Because "a line of help fits an 80-column console only with at most $maxLineLength characters"
    }

    It 'Get-Help <CommandName> -Full, -Examples and -Parameter * at 80 columns show every line of the help whole' -TestCases $cmdletCases {
        param($CommandName)
        # What an 80-column console shows (it formats at 79). The help keeps the line breaks of the MAML, so every line
        # of every paragraph, title and example must come out as a line of its own: none broken inside a word, none
        # dropped. Example code keeps its exact indentation (4 columns, and the code's own).
        $help = Get-Help -Name $CommandName -Full -ErrorAction Stop
        $examples = @($help.examples.example | Where-Object { $_ })
        $exampleLines = @(foreach ($example in $examples) {
                ([string]$example.title).Trim()
                Get-HexHelpTextLine $example.remarks
            })
        $codeLines = @(foreach ($example in $examples) {
                ([string]$example.code) -split '\r?\n' | Where-Object { $_.Trim() } | ForEach-Object { ('    ' + $_).TrimEnd() }
            })
        $parameters = @($help.parameters.parameter | Where-Object { $_ })
        $parameterLines = @(foreach ($parameter in $parameters) { Get-HexHelpTextLine $parameter.description })
        # 'Default value' and the value on one line.
        $defaultLines = @($parameters | ForEach-Object { ([string]$_.defaultValue).Trim() } | Where-Object { $_ })
        $otherLines = @(
            ([string]$help.Synopsis).Trim()
            Get-HexHelpTextLine $help.description
            foreach ($type in @($help.inputTypes.inputType) + @($help.returnValues.returnValue) | Where-Object { $_ }) {
                Get-HexHelpTextLine $type.description
            }
            Get-HexHelpTextLine $help.alertSet.alert
        )
        $checks = @(
            @{ View = '-Full'; Arguments = @{ Full = $true }; Lines = $otherLines + $parameterLines + $exampleLines; Code = $codeLines; Defaults = $defaultLines }
            @{ View = '-Examples'; Arguments = @{ Examples = $true }; Lines = $exampleLines; Code = $codeLines; Defaults = @() }
            @{ View = '-Parameter *'; Arguments = @{ Parameter = '*' }; Lines = $parameterLines; Code = @(); Defaults = $defaultLines }
        )
        $codeLines.Count | Should -BeGreaterThan 1
        foreach ($check in $checks) {
            $rendered = @(Get-HexRenderedHelp -Arguments ($check.Arguments + @{ Name = $CommandName }) -Width $maxLineLength |
                    ForEach-Object { $_.TrimEnd() })
            $trimmed = @($rendered | ForEach-Object { $_.Trim() })
            $missing = @(
                $check.Lines | Where-Object { $_ -and $trimmed -cnotcontains $_ } | ForEach-Object { "text: $_" }
                $check.Code | Where-Object { $rendered -cnotcontains $_ } | ForEach-Object { "code: $_" }
                $check.Defaults | Where-Object { -not ($trimmed -cmatch ('^Default value +' + [regex]::Escape($_) + '$')) } |
                    ForEach-Object { "default value: $_" }
            )
            $missing | Should -BeNullOrEmpty -Because "Get-Help $CommandName $($check.View) at $maxLineLength columns shows each of these lines whole"
        }
    }

    It 'Get-Help <CommandName> -Full at 80 columns has every section, example and parameter' -TestCases $cmdletCases {
        param($CommandName)
        $help = Get-Help -Name $CommandName -Full -ErrorAction Stop
        $rendered = @(Get-HexRenderedHelp -Arguments @{ Name = $CommandName; Full = $true } -Width $maxLineLength | ForEach-Object { $_.TrimEnd() })
        $text = $rendered -join "`n"
        # Headings: the lines that are upper case from the first column.
        $headings = @($rendered | Where-Object { $_ -cmatch '^[A-Z][A-Z ]*[A-Z]$' })
        # NOTES only when the help has notes: an empty NOTES heading says nothing.
        $hasNotes = [bool](Get-HexHelpTextLine $help.alertSet.alert)
        $expected = @('NAME', 'SYNOPSIS', 'SYNTAX', 'DESCRIPTION', 'PARAMETERS', 'INPUTS', 'OUTPUTS') + @(if ($hasNotes) { 'NOTES' }) + @('RELATED LINKS')
        ($headings -join ', ') | Should -BeExactly ($expected -join ', ') -Because "Get-Help $CommandName -Full has these sections, in this order"

        # Titles as written: '---------- Example N: what it does ----------', numbered from 1, each on one line.
        $titles = @($help.examples.example | Where-Object { $_ } | ForEach-Object { ([string]$_.title).Trim() })
        $titles.Count | Should -BeGreaterOrEqual 2
        for ($i = 0; $i -lt $titles.Count; $i++) {
            $titles[$i] | Should -Match ('^-+ Example ' + ($i + 1) + ': \S.* -+$')
            $rendered | Should -Contain ('    ' + $titles[$i]) -Because "the title of example $($i + 1) is one line"
        }

        $command = Get-Command -Name $CommandName -CommandType Cmdlet -ErrorAction Stop
        foreach ($name in @($command.Parameters.Keys | Where-Object { $commonParameters -notcontains $_ })) {
            $text | Should -Match ('(?m)^    -' + [regex]::Escape($name) + '( |$)') -Because "-$name of $CommandName is rendered"
        }
        foreach ($link in @($help.relatedLinks.navigationLink | Where-Object { $_ } | ForEach-Object { [string]$_.linkText })) {
            $rendered | Should -Contain ('    ' + $link)
        }
    }

    It 'the code of every example of <CommandName> is PowerShell that parses' -TestCases $cmdletCases {
        param($CommandName)
        # Long lines were rewritten by hand (splatting, a line break after '|' or ','): each example still parses as it
        # is, so it can be pasted into a console.
        $help = Get-Help -Name $CommandName -Full -ErrorAction Stop
        $number = 0
        foreach ($example in @($help.examples.example | Where-Object { $_ })) {
            $number++
            $tokens = $null
            $errors = $null
            $null = [System.Management.Automation.Language.Parser]::ParseInput([string]$example.code, [ref]$tokens, [ref]$errors)
            @($errors | ForEach-Object { $_.Message }) | Should -BeNullOrEmpty -Because "example $number of $CommandName parses:`n$($example.code)"
            [string]$example.code | Should -Match ([regex]::Escape($CommandName))
        }
    }

    It 'a real 80-column console (tmux) shows Get-Help -Full as Out-String -Width 79 does (skipped where tmux is not installed)' -Skip:$tmuxMissing {
        # The tests above render at 79 columns because that is what a console 80 columns wide formats at; this checks
        # that claim. A new pwsh in a detached 80x50 tmux pane (on a tmux server of its own, whose scrollback holds all
        # the help) writes Get-Help -Full of every cmdlet to its console between markers, as at a prompt. The pane's
        # lines must be what Out-String -Width 79 gives here, line for line.
        $body = @'
    foreach ($name in ($env:HEXCOST_TEST_CMDLETS -split ',')) {
        Write-Host "@@$name"
        Get-Help -Name $name -Full | Out-Default
    }
    Write-Host '@@end'
'@
        $pane = Invoke-HexTmuxConsole -Body $body -Work (Join-Path $TestDrive 'tmux') -Environment @{ HEXCOST_TEST_CMDLETS = ($HexCostCmdlets -join ',') }

        $markers = @($HexCostCmdlets | ForEach-Object { "@@$_" }) + @('@@end')
        $at = @($markers | ForEach-Object { [array]::IndexOf($pane, $_) })
        for ($i = 0; $i -lt $HexCostCmdlets.Count; $i++) {
            $name = $HexCostCmdlets[$i]
            $at[$i] | Should -BeGreaterOrEqual 0 -Because "the pane shows the help of $name"
            $at[$i + 1] | Should -BeGreaterThan $at[$i]
            $console = @($pane[($at[$i] + 1)..($at[$i + 1] - 1)] | Where-Object { $_.Length -gt 0 })
            $outString = @(Get-HexRenderedHelp -Arguments @{ Name = $name; Full = $true } -Width $maxLineLength |
                    ForEach-Object { $_.TrimEnd() } | Where-Object { $_.Length -gt 0 })
            $outString.Count | Should -BeGreaterThan 40
            ($console -join "`n") | Should -BeExactly ($outString -join "`n") -Because "Get-Help $name -Full in an 80-column console is what Out-String -Width $maxLineLength shows"
        }
    }

    It 'about_HexCost fits 80 columns' {
        $lines = @((Get-Help -Name 'about_HexCost' -ErrorAction Stop | Out-String -Width 250) -split '\r?\n')
        $lines.Count | Should -BeGreaterThan 100
        $tooLong = @($lines | Where-Object { $_.Length -gt $maxLineLength -or $_.Contains("`t") } | ForEach-Object { "$($_.Length) characters: $_" })
        $tooLong | Should -BeNullOrEmpty -Because "a line fits an 80-column console only with at most $maxLineLength characters"
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
