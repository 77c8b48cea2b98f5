# Pester 5.1+: Connect-Hex / Disconnect-Hex against the Hex emulator, and the errors a session can end with.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $manifestPath = Get-HexCostManifestPath
    $null = Import-HexCostUnderTest
    $emulator = Start-HexEmulator
}

AfterAll {
    Disconnect-Hex -ErrorAction SilentlyContinue
    Stop-HexEmulator -Emulator $emulator
}

Describe 'Connect-Hex' -Tag 'CI' {
    AfterEach {
        # Each test starts disconnected: Disconnect-Hex releases the account (and its ledger under $TestDrive).
        Disconnect-Hex -ErrorAction SilentlyContinue
    }

    It 'returns a HexCost.Session with the workspace''s OrgId with -PassThru' {
        $session = Connect-HexTest -Emulator $emulator -StatePath $TestDrive

        $session | Should -Not -BeNullOrEmpty
        $session.PSObject.TypeNames | Should -Contain 'HexCost.Session'
        $session.OrgId | Should -Not -BeNullOrEmpty
        $session.IsConnected | Should -BeTrue
        $session.BaseUri.TrimEnd('/') | Should -Be $emulator.BaseUri.TrimEnd('/')
        $session.StatePath.StartsWith($TestDrive, [System.StringComparison]::OrdinalIgnoreCase) | Should -BeTrue -Because "the state goes under -StatePath ($TestDrive), not to $($session.StatePath)"
    }

    It 'writes nothing without -PassThru, and the cmdlets then use the session' {
        $statePath = New-HexTestStatePath -Root $TestDrive
        $token = ConvertTo-SecureString -String $emulator.Token -AsPlainText -Force

        $output = Connect-Hex -Token $token -BaseUri $emulator.BaseUri -StatePath $statePath -RateLimit (Get-HexTestRateLimit)

        $output | Should -BeNullOrEmpty
        @(Get-HexProject -ErrorAction Stop).Count | Should -BeGreaterThan 0
    }

    It 'fails with HexAuthFailed for a wrong token' {
        $wrong = ConvertTo-SecureString -String ('hxtw_' + ('0' * 96)) -AsPlainText -Force
        $statePath = New-HexTestStatePath -Root $TestDrive

        { Connect-Hex -Token $wrong -BaseUri $emulator.BaseUri -StatePath $statePath -RateLimit (Get-HexTestRateLimit) } |
            Should -Throw -ErrorId 'HexAuthFailed*'
    }

    It 'fails with HexInsecureBaseUri for plain http to a host that is not this machine' {
        $token = ConvertTo-SecureString -String $emulator.Token -AsPlainText -Force
        $statePath = New-HexTestStatePath -Root $TestDrive

        # Refused before any request: the .invalid name never resolves anyway.
        { Connect-Hex -Token $token -BaseUri 'http://hex.invalid/api/v1' -StatePath $statePath } |
            Should -Throw -ErrorId 'HexInsecureBaseUri*'
    }

    It 'fails with HexInvalidRateLimit for a group that does not exist' {
        $token = ConvertTo-SecureString -String $emulator.Token -AsPlainText -Force
        $statePath = New-HexTestStatePath -Root $TestDrive

        $id = Get-TerminatingErrorId { Connect-Hex -Token $token -BaseUri $emulator.BaseUri -StatePath $statePath -RateLimit @{ Runs = '1/1m' } }

        $id | Should -BeLike 'HexInvalidRateLimit*'
    }

    It 'fails with HexInvalidRateLimit for a limit it cannot read' {
        $token = ConvertTo-SecureString -String $emulator.Token -AsPlainText -Force
        $statePath = New-HexTestStatePath -Root $TestDrive

        { Connect-Hex -Token $token -BaseUri $emulator.BaseUri -StatePath $statePath -RateLimit @{ RunProject = 'fast' } } |
            Should -Throw -ErrorId 'HexInvalidRateLimit*'
    }
}

Describe 'Disconnect-Hex and HexNotConnected' -Tag 'CI' {
    AfterEach {
        Disconnect-Hex -ErrorAction SilentlyContinue
    }

    It 'fails with HexNotConnected after Disconnect-Hex when $env:HEX_API_TOKEN is not set' {
        $session = Connect-HexTest -Emulator $emulator -StatePath $TestDrive
        Disconnect-Hex

        $session.IsConnected | Should -BeFalse
        $ids = Invoke-WithoutHexEnvironment {
            Get-TerminatingErrorId { Get-HexProject }
            Get-TerminatingErrorId { Get-HexRun -ProjectId ([guid]::NewGuid().ToString()) }
            Get-TerminatingErrorId { Invoke-HexRun -ProjectId ([guid]::NewGuid().ToString()) -Confirm:$false }
        }

        @($ids).Count | Should -Be 3
        foreach ($id in $ids) {
            $id | Should -BeLike 'HexNotConnected*'
        }
    }

    It 'fails with HexNotConnected for a -Session that was disconnected' {
        $session = Connect-HexTest -Emulator $emulator -StatePath $TestDrive
        Disconnect-Hex -Session $session

        $id = Get-TerminatingErrorId { Get-HexProject -Session $session }

        $id | Should -BeLike 'HexNotConnected*'
    }

    It 'fails with HexNotConnected in a new runspace that never connected' {
        # Connected here: a default session belongs to its runspace, so the new one still has none.
        $null = Connect-HexTest -Emulator $emulator -StatePath $TestDrive
        $probe = {
            param($ModulePath)
            $ErrorActionPreference = 'Stop'
            Import-Module -Name $ModulePath
            try {
                $null = Get-HexProject
                'no error'
            }
            catch {
                $_.FullyQualifiedErrorId
            }
        }

        $result = Invoke-WithoutHexEnvironment {
            # CreateDefault2: the engine's own commands only, the same on 5.1 and 7 (and in any host).
            $state = [System.Management.Automation.Runspaces.InitialSessionState]::CreateDefault2()
            if ([System.Environment]::OSVersion.Platform -eq [System.PlatformID]::Win32NT -and $state.PSObject.Properties['ExecutionPolicy']) {
                # Windows only (elsewhere opening the runspace fails): the module's manifest and format file load whatever the machine's policy.
                $state.ExecutionPolicy = [Microsoft.PowerShell.ExecutionPolicy]::Bypass
            }
            $runspace = [System.Management.Automation.Runspaces.RunspaceFactory]::CreateRunspace($state)
            $shell = [System.Management.Automation.PowerShell]::Create()
            try {
                $runspace.Open()
                $shell.Runspace = $runspace
                $null = $shell.AddScript($probe.ToString()).AddArgument($manifestPath)
                $shell.Invoke()
                foreach ($record in $shell.Streams.Error) {
                    "stream error: $($record.FullyQualifiedErrorId)"
                }
            }
            finally {
                $shell.Dispose()
                $runspace.Dispose()
            }
        }

        @($result) -join '; ' | Should -BeLike 'HexNotConnected*'
        @($result).Count | Should -Be 1
    }

    It 'connects from $env:HEX_API_TOKEN and $env:HEX_API_BASE_URL when not connected' {
        $names = @('HEX_API_TOKEN', 'HEX_API_BASE_URL', 'HEXCOST_HOME')
        $saved = @{}
        foreach ($name in $names) {
            $saved[$name] = [System.Environment]::GetEnvironmentVariable($name)
        }
        try {
            [System.Environment]::SetEnvironmentVariable('HEX_API_TOKEN', $emulator.Token)
            [System.Environment]::SetEnvironmentVariable('HEX_API_BASE_URL', $emulator.BaseUri)
            # The implicit connection keeps its state in $env:HEXCOST_HOME: not in the user's profile.
            [System.Environment]::SetEnvironmentVariable('HEXCOST_HOME', (New-HexTestStatePath -Root $TestDrive))

            $projects = @(Get-HexProject -ErrorAction Stop)

            $projects.Count | Should -BeGreaterThan 0
        }
        finally {
            Disconnect-Hex -ErrorAction SilentlyContinue
            foreach ($name in $names) {
                [System.Environment]::SetEnvironmentVariable($name, $saved[$name])
            }
        }
    }
}
