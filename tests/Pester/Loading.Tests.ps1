# Pester 5.1+: how HexCost loads in a real PowerShell. A process keeps an assembly loaded once it has loaded it, so
# each case that imports more than once runs in a child PowerShell of its own, started fresh.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $null = Import-HexCostUnderTest

    function Get-Line {
        # The value of the line "<Name>=<value>" a child printed.
        param([Parameter(Mandatory = $true)] $Result, [Parameter(Mandatory = $true)] [string] $Name)
        $line = @($Result.Output | Where-Object { $_.StartsWith("$Name=") }) | Select-Object -Last 1
        if ($null -eq $line) {
            throw "The child printed no '$Name=' line. Exit code $($Result.ExitCode). Output: $($Result.Output -join ' | ') Errors: $($Result.Error)"
        }
        return $line.Substring($Name.Length + 1)
    }

    # A child script's report of the module as it stands: its cmdlet count, and whether Get-Help finds their help.
    $report = @'
function Write-HexCostState([string] $Step) {
    $count = @(Get-Command -Module HexCost -CommandType Cmdlet -ErrorAction SilentlyContinue).Count
    $help = if ($count -gt 0) { @((Get-Help Invoke-HexRun).PSObject.TypeNames) -contains 'MamlCommandHelpInfo' } else { $false }
    "$Step=$count,$help"
}
'@
}

Describe 'Importing HexCost' -Tag 'CI' {
    It 'keeps every cmdlet and its help when imported again, with -Force, and after Remove-Module' {
        $result = Invoke-HexPowerShell -Root $TestDrive -Script ($report + @'
Import-Module $HexCostModule -ErrorAction Stop; Write-HexCostState 'first'
Import-Module $HexCostModule -ErrorAction Stop; Write-HexCostState 'again'
Import-Module $HexCostModule -Force -ErrorAction Stop; Write-HexCostState 'force'
Import-Module $HexCostModule -Force -ErrorAction Stop; Write-HexCostState 'forceAgain'
Remove-Module HexCost; "removed=$(@(Get-Module HexCost).Count)"
Import-Module $HexCostModule -ErrorAction Stop; Write-HexCostState 'afterRemove'
'@)
        foreach ($step in @('first', 'again', 'force', 'forceAgain', 'afterRemove')) {
            Get-Line -Result $result -Name $step | Should -Be "$($HexCostCmdlets.Count),True" -Because "after the '$step' import"
        }
        # Not Get-Command: for a module on $env:PSModulePath it lists the commands an import would bring.
        Get-Line -Result $result -Name 'removed' | Should -Be '0'
    }

    It 'imports with every cmdlet in a second runspace, in ForEach-Object -Parallel and in Start-ThreadJob' -Skip:($PSVersionTable.PSEdition -ne 'Core') {
        $result = Invoke-HexPowerShell -Root $TestDrive -Script @'
Import-Module $HexCostModule -ErrorAction Stop
$count = { @(Get-Command -Module HexCost -CommandType Cmdlet).Count }
$runspace = [runspacefactory]::CreateRunspace()
$runspace.Open()
$shell = [powershell]::Create()
$shell.Runspace = $runspace
$null = $shell.AddScript("Import-Module '$($HexCostModule.Replace("'", "''"))' -Force -ErrorAction Stop; @(Get-Command -Module HexCost -CommandType Cmdlet).Count")
"runspace=$($shell.Invoke())"
"parallel=$((1..3 | ForEach-Object -Parallel { Import-Module $using:HexCostModule -ErrorAction Stop; @(Get-Command -Module HexCost -CommandType Cmdlet).Count }) -join ',')"
"threadJob=$(Start-ThreadJob { Import-Module $using:HexCostModule -Force -ErrorAction Stop; @(Get-Command -Module HexCost -CommandType Cmdlet).Count } | Receive-Job -Wait -AutoRemoveJob)"
"here=$(& $count)"
'@
        $all = [string]$HexCostCmdlets.Count
        Get-Line -Result $result -Name 'runspace' | Should -Be $all
        Get-Line -Result $result -Name 'parallel' | Should -Be "$all,$all,$all"
        Get-Line -Result $result -Name 'threadJob' | Should -Be $all
        Get-Line -Result $result -Name 'here' | Should -Be $all
    }

    It 'imports a second copy of the module, from another folder, with every cmdlet and its help' {
        # A copy of the module folder under test elsewhere: another install, or the repository's build next to an installed one.
        $copy = Join-Path $TestDrive 'copy'
        $null = New-Item -ItemType Directory -Path $copy -Force
        Copy-Item -LiteralPath (Get-Module HexCost).ModuleBase -Destination (Join-Path $copy 'HexCost') -Recurse
        $other = Join-Path (Join-Path $copy 'HexCost') 'HexCost.psd1'
        $result = Invoke-HexPowerShell -Root $TestDrive -Script ($report + @"
Import-Module `$HexCostModule -ErrorAction Stop
Import-Module '$($other.Replace("'", "''"))' -ErrorAction Stop
"modules=`$(@(Get-Module HexCost | ForEach-Object { `$_.ExportedCmdlets.Count }) -join ',')"
Write-HexCostState 'second'
"@)
        $all = [string]$HexCostCmdlets.Count
        Get-Line -Result $result -Name 'modules' | Should -Be "$all,$all"
        Get-Line -Result $result -Name 'second' | Should -Be "$all,True"
    }
}

Describe 'HexCost types in scripts' -Tag 'CI' {
    BeforeAll {
        $emulator = Start-HexEmulator
        $session = Connect-HexTest -Emulator $emulator -StatePath $TestDrive
        $project = Get-PublishedHexProject
    }
    AfterAll {
        Disconnect-Hex -ErrorAction SilentlyContinue
        Stop-HexEmulator -Emulator $emulator
    }

    It 'resolves the output, session and exception types by name' {
        [HexCost.Model.HexRun].FullName | Should -Be 'HexCost.Model.HexRun'
        [HexCost.Model.ScheduleFinding].FullName | Should -Be 'HexCost.Model.ScheduleFinding'
        [HexCost.Model.CreditBalance].FullName | Should -Be 'HexCost.Model.CreditBalance'
        [HexCost.Session.HexSession].FullName | Should -Be 'HexCost.Session.HexSession'
        [HexCost.Api.HexException].FullName | Should -Be 'HexCost.Api.HexException'
    }

    It 'writes objects of those types' {
        $run = Invoke-HexRun -ProjectId $project.ProjectId -Wait -ErrorAction Stop
        ($run -is [HexCost.Model.HexRun]) | Should -BeTrue
        ($session -is [HexCost.Session.HexSession]) | Should -BeTrue
        ($project -is [HexCost.Model.HexProject]) | Should -BeTrue
        [HexCost.Model.HexRun[]] $typed = @($run)
        $typed[0].RunId | Should -Be $run.RunId
    }

    It 'lets a script catch its errors by type' {
        $caught = $null
        try {
            Invoke-HexRun -ProjectId ([guid]::NewGuid().ToString()) -ErrorAction Stop
        }
        catch [HexCost.Api.HexException] {
            $caught = $_
        }
        $caught | Should -Not -BeNullOrEmpty -Because 'catch [HexCost.Api.HexException] takes the error'
        $caught.Exception.Kind | Should -Be ([HexCost.Api.HexErrorKind]::ProjectNotFound)
        $caught.FullyQualifiedErrorId | Should -BeLike 'HexProjectNotFound*'
    }
}
