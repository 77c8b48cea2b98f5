# Pester 5.1+: the Redis state store as a user meets it in real pwsh: Connect-Hex -StateStore (and
# $env:HEXCOST_STATE_STORE), one run per idempotency key across processes, a server that cannot be reached
# (HexStateStoreUnavailable, no fallback to a folder), and an ACL user whose password is shown nowhere.
# Starts a redis-server of its own on a free loopback port; skipped only when redis-server is not installed.
BeforeDiscovery {
    $script:redisServer = @(Get-Command -Name 'redis-server' -CommandType Application -ErrorAction SilentlyContinue)[0]
    $script:noRedis = $null -eq $script:redisServer
    if ($script:noRedis) {
        Write-Warning 'Redis.Tests.ps1 is skipped: redis-server is not installed (apt-get install redis-server).'
    }
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $null = Import-HexCostUnderTest

    function Invoke-OnRealClock {
        # Runs $Block with the programs it starts on the real clock: under faketime, redis-server and redis-cli keep the
        # real clock, as a server elsewhere would (libfaketime crashes or hangs them).
        param([Parameter(Mandatory = $true)] [scriptblock] $Block)
        $faked = @{}
        foreach ($name in @('LD_PRELOAD', 'FAKETIME', 'FAKETIME_SHARED')) {
            $faked[$name] = [Environment]::GetEnvironmentVariable($name)
        }
        if (-not $faked['FAKETIME']) {
            return (& $Block)
        }
        try {
            foreach ($name in $faked.Keys) {
                [Environment]::SetEnvironmentVariable($name, $null)
            }
            return (& $Block)
        }
        finally {
            foreach ($name in $faked.Keys) {
                [Environment]::SetEnvironmentVariable($name, $faked[$name])
            }
        }
    }

    function Start-TestRedis {
        # A redis-server on a free loopback port, append-only file on, in a folder under $Root; stop it with Stop-TestRedis.
        param([Parameter(Mandatory = $true)] [string] $Root)
        $dir = Join-Path $Root ('redis-' + [guid]::NewGuid().ToString('N'))
        $null = New-Item -ItemType Directory -Path $dir -Force
        $redis = (Get-Command -Name 'redis-server' -CommandType Application -ErrorAction Stop | Select-Object -First 1).Path
        for ($attempt = 1; $attempt -le 3; $attempt++) {
            $port = Get-FreeTcpPort
            $arguments = @('--bind', '127.0.0.1', '--port', [string]$port, '--dir', $dir, '--appendonly', 'yes', '--appendfsync', 'always',
                '--daemonize', 'no', '--logfile', (Join-Path $dir 'redis.log'))
            $process = Invoke-OnRealClock { Start-Process -FilePath $redis -ArgumentList ($arguments -join ' ') -NoNewWindow -PassThru }
            $deadline = [DateTime]::UtcNow.AddSeconds(30)
            while ([DateTime]::UtcNow -lt $deadline -and -not $process.HasExited) {
                if ((Read-SharedFile -Path (Join-Path $dir 'redis.log')) -match 'Ready to accept connections') {
                    return [pscustomobject]@{ Port = $port; Process = $process; Directory = $dir; Uri = "redis://127.0.0.1:$port" }
                }
                Start-Sleep -Milliseconds 50
            }
            Stop-ProcessTree -Process $process
        }
        throw "redis-server did not start: $(Read-SharedFile -Path (Join-Path $dir 'redis.log'))"
    }

    function Stop-TestRedis {
        param($Redis)
        if ($null -ne $Redis) {
            Stop-ProcessTree -Process $Redis.Process
        }
    }

    function Invoke-TestRedisCli {
        # One command to the test server as its default user.
        param([Parameter(Mandatory = $true)] $Redis, [Parameter(Mandatory = $true)] [string[]] $Command)
        $output = Invoke-OnRealClock { & redis-cli -h 127.0.0.1 -p $Redis.Port @Command 2>&1 }
        if ($LASTEXITCODE -ne 0) {
            throw "redis-cli $($Command[0]) failed: $output"
        }
        return $output
    }

    function Connect-HexRedis {
        # Connect-Hex to the emulator with the state on -StateStore (or none: $env:HEXCOST_STATE_STORE), -PassThru.
        param([Parameter(Mandatory = $true)] $Emulator, [string] $StateStore, [pscredential] $Credential, [switch] $ShowVerbose)
        $connect = @{
            Token     = (ConvertTo-SecureString -String $Emulator.Token -AsPlainText -Force)
            BaseUri   = $Emulator.BaseUri
            RateLimit = (Get-HexTestRateLimit)
            PassThru  = $true
        }
        if ($StateStore) { $connect.StateStore = $StateStore }
        if ($Credential) { $connect.StateStoreCredential = $Credential }
        if ($ShowVerbose) { $connect.Verbose = $true }
        return (Connect-Hex @connect -ErrorAction Stop)
    }

    $script:savedHome = $env:HEXCOST_HOME
    $script:savedStore = $env:HEXCOST_STATE_STORE
}

AfterAll {
    $env:HEXCOST_HOME = $script:savedHome
    $env:HEXCOST_STATE_STORE = $script:savedStore
}

Describe 'Redis state store' -Tag 'CI' -Skip:$script:noRedis {
    BeforeAll {
        $emulator = Start-HexEmulator
        $redis = Start-TestRedis -Root $TestDrive
        # A home of this file's own: whatever HexCost would write there is looked for.
        $env:HEXCOST_HOME = Join-Path $TestDrive 'home'
        $env:HEXCOST_STATE_STORE = $null
        $null = Connect-HexRedis -Emulator $emulator -StateStore $redis.Uri
        $projectId = (Get-PublishedHexProject).ProjectId
        Disconnect-Hex
    }
    AfterAll {
        Disconnect-Hex -ErrorAction SilentlyContinue
        Stop-TestRedis -Redis $redis
        Stop-HexEmulator -Emulator $emulator
    }

    It 'Connect-Hex -StateStore redis://: the session says so and has no state folder' {
        $session = Connect-HexRedis -Emulator $emulator -StateStore $redis.Uri
        $session.StateStore | Should -Be $redis.Uri
        $session.StatePath | Should -BeNullOrEmpty
        $run = Invoke-HexRun -ProjectId $projectId -ErrorAction Stop
        $run.RunId | Should -Not -BeNullOrEmpty
        Test-Path -LiteralPath (Join-Path $env:HEXCOST_HOME 'workspaces') | Should -BeFalse -Because 'a Redis store keeps no state in a folder'
        # The run's Trigger record is in the workspace's stream on the server.
        $ledger = Invoke-TestRedisCli -Redis $redis -Command @('XLEN', "hexcost:{$($session.OrgId)}:ledger")
        [int]$ledger | Should -BeGreaterThan 0
        Disconnect-Hex
    }

    It 'Invoke-HexRun -IdempotencyKey from this pwsh and a child pwsh at once: one run' {
        $null = Connect-HexRedis -Emulator $emulator -StateStore $redis.Uri
        $key = 'pester-redis-' + [guid]::NewGuid().ToString('N')
        $go = Join-Path $TestDrive ('go-' + [guid]::NewGuid().ToString('N'))
        $ready = "$go.ready"
        $before = Get-HexEmulatorStats -Emulator $emulator
        $child = Start-HexPowerShell -Root $TestDrive -Script @"
`$ErrorActionPreference = 'Stop'
`$env:HEXCOST_HOME = '$(Join-Path $TestDrive 'child-home')'
Import-Module `$HexCostModule
Connect-Hex -Token (ConvertTo-SecureString -String '$($emulator.Token)' -AsPlainText -Force) -BaseUri '$($emulator.BaseUri)' -StateStore '$($redis.Uri)' -RateLimit @{ RunProject = '10000/1m'; Request = '10000/1m'; Read = '10000/1m' }
[System.IO.File]::WriteAllText('$ready', '')
while (-not [System.IO.File]::Exists('$go')) { Start-Sleep -Milliseconds 5 }
`$run = Invoke-HexRun -ProjectId '$projectId' -IdempotencyKey '$key'
"run `$(`$run.RunId)"
"@
        $deadline = [DateTime]::UtcNow.AddMinutes(2)
        while (-not (Test-Path -LiteralPath $ready) -and -not $child.Process.HasExited -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 20 }
        [System.IO.File]::WriteAllText($go, '')
        $mine = Invoke-HexRun -ProjectId $projectId -IdempotencyKey $key -ErrorAction Stop
        $result = Wait-HexPowerShell -Child $child
        $after = Get-HexEmulatorStats -Emulator $emulator

        $result.ExitCode | Should -Be 0 -Because $result.Error
        $result.Output | Should -Contain "run $($mine.RunId)"
        ($after.RunsCreated - $before.RunsCreated) | Should -Be 1
        Disconnect-Hex
    }

    It 'An unreachable port: HexStateStoreUnavailable naming 127.0.0.1:port, and no state folder' {
        $port = Get-FreeTcpPort
        $env:HEXCOST_HOME = Join-Path $TestDrive ('unreachable-' + [guid]::NewGuid().ToString('N'))
        try {
            $captured = Invoke-HexCapture { Connect-HexRedis -Emulator $emulator -StateStore "redis://127.0.0.1:$port" }
        }
        finally {
            $unreachableHome = $env:HEXCOST_HOME
            $env:HEXCOST_HOME = Join-Path $TestDrive 'home'
        }
        @($captured.Errors).Count | Should -BeGreaterThan 0
        $record = $captured.Errors[0]
        $record.FullyQualifiedErrorId | Should -BeLike 'HexStateStoreUnavailable,*'
        $record.CategoryInfo.Category | Should -Be 'ConnectionError'
        $record.Exception.Message | Should -Match ([regex]::Escape("127.0.0.1:$port"))
        Test-Path -LiteralPath $unreachableHome | Should -BeFalse -Because 'there is no fallback to a state folder'
    }

    It 'An ACL user with a password through -StateStoreCredential works, and the password is shown nowhere' {
        $password = 'Pw-' + [guid]::NewGuid().ToString('N')
        $user = 'hexcost-' + [guid]::NewGuid().ToString('N').Substring(0, 8)
        $null = Invoke-TestRedisCli -Redis $redis -Command @('ACL', 'SETUSER', $user, 'on', ">$password", '~hexcost:*', '+@all', '-@dangerous', '+acl|whoami')
        $credential = New-Object System.Management.Automation.PSCredential -ArgumentList $user, (ConvertTo-SecureString -String $password -AsPlainText -Force)
        $wrong = New-Object System.Management.Automation.PSCredential -ArgumentList $user, (ConvertTo-SecureString -String ($password + 'x') -AsPlainText -Force)

        $connected = Invoke-HexCapture {
            $session = Connect-HexRedis -Emulator $emulator -StateStore $redis.Uri -Credential $credential -ShowVerbose
            $session
            $session | Format-List * | Out-String
            Invoke-HexRun -ProjectId $projectId -IdempotencyKey ('acl-' + [guid]::NewGuid().ToString('N')) -Wait -Verbose
            Get-HexRun -ProjectId $projectId -Verbose | Select-Object -First 1
            Get-HexSpendLimit -Verbose
        }
        @($connected.Errors).Count | Should -Be 0 -Because ($connected.Errors -join '; ')
        $session = @($connected.Output | Where-Object { $_ -is [HexCost.Session.HexSession] })[0]
        $session.StateStore | Should -Be $redis.Uri
        (Invoke-TestRedisCli -Redis $redis -Command @('CLIENT', 'LIST')) -join "`n" | Should -Match "user=$user"
        Disconnect-Hex

        $refused = Invoke-HexCapture { Connect-HexRedis -Emulator $emulator -StateStore $redis.Uri -Credential $wrong -ShowVerbose }
        $refused.Errors[0].FullyQualifiedErrorId | Should -BeLike 'HexStateStoreUnavailable,*'

        $shown = @(foreach ($captured in @($connected, $refused)) {
                $captured.Output | ForEach-Object { $_ | Out-String }
                $captured.Warnings; $captured.Verbose; $captured.Debug; $captured.Information
                foreach ($record in $captured.Errors) { $record | Out-String; $record.Exception.ToString(); $record.ErrorDetails; $record.TargetObject | Out-String }
            }) -join "`n"
        $shown.Length | Should -BeGreaterThan 0
        $shown.Contains($password) | Should -BeFalse -Because 'no output, verbose line, warning or error shows the password'
        foreach ($file in Get-ChildItem -LiteralPath $TestDrive -Recurse -File -Force -ErrorAction SilentlyContinue) {
            if ($file.FullName.StartsWith($redis.Directory)) { continue } # the server's own files hold its ACL
            [System.IO.File]::ReadAllText($file.FullName).Contains($password) | Should -BeFalse -Because "$($file.FullName) must not hold the password"
        }
        # Nor the records HexCost keeps on the server.
        $records = (Invoke-TestRedisCli -Redis $redis -Command @('XRANGE', "hexcost:{$($session.OrgId)}:ledger", '-', '+')) -join "`n"
        $records.Contains($password) | Should -BeFalse
    }

    It '$env:HEXCOST_STATE_STORE without -StateStore: the session uses that server' {
        $env:HEXCOST_STATE_STORE = $redis.Uri
        try {
            $session = Connect-HexRedis -Emulator $emulator
            $session.StateStore | Should -Be $redis.Uri
            $session.StatePath | Should -BeNullOrEmpty
            $key = 'env-' + [guid]::NewGuid().ToString('N')
            $first = Invoke-HexRun -ProjectId $projectId -IdempotencyKey $key -ErrorAction Stop
            Disconnect-Hex
            # Another connect through the variable sees the key the first one recorded on the server.
            $null = Connect-HexRedis -Emulator $emulator
            $again = Invoke-HexRun -ProjectId $first.ProjectId -IdempotencyKey $key -ErrorAction Stop
            $again.RunId | Should -Be $first.RunId
        }
        finally {
            $env:HEXCOST_STATE_STORE = $null
            Disconnect-Hex -ErrorAction SilentlyContinue
        }
    }

    It 'Copy-HexState moves the state of a folder onto the server once; a session on the server then returns the same keyed run' {
        $folder = Join-Path $TestDrive ('laptop-' + [guid]::NewGuid().ToString('N'))
        $token = ConvertTo-SecureString -String $emulator.Token -AsPlainText -Force
        $null = Connect-Hex -Token $token -BaseUri $emulator.BaseUri -StatePath $folder -RateLimit (Get-HexTestRateLimit) -ErrorAction Stop
        $key = 'moved-' + [guid]::NewGuid().ToString('N')
        $local = Invoke-HexRun -ProjectId $projectId -IdempotencyKey $key -Wait -ErrorAction Stop
        $first = Copy-HexState -Destination $redis.Uri -PassThru -Confirm:$false -ErrorAction Stop
        $first.Destination | Should -Be $redis.Uri
        $first.RecordsCopied | Should -BeGreaterThan 0
        $second = Copy-HexState -Destination $redis.Uri -PassThru -Confirm:$false -ErrorAction Stop
        $second.RecordsCopied | Should -Be 0
        $second.RecordsAlreadyCopied | Should -Be $first.RecordsCopied
        Disconnect-Hex

        $created = (Get-HexEmulatorStats -Emulator $emulator).RunsCreated
        $null = Connect-HexRedis -Emulator $emulator -StateStore $redis.Uri
        try {
            (Invoke-HexRun -ProjectId $projectId -IdempotencyKey $key -ErrorAction Stop).RunId | Should -Be $local.RunId
            (Get-HexEmulatorStats -Emulator $emulator).RunsCreated | Should -Be $created
        }
        finally {
            Disconnect-Hex -ErrorAction SilentlyContinue
        }
    }
}
