# The bad-input battery's generator, dot-sourced by BadInput.Battery.Tests.ps1 at discovery (to list the cases) and at
# run time (to build the values). Cases come from the cmdlets' own parameter metadata: every parameter of every HexCost
# cmdlet gets the bad values of its type.

$script:HexBatteryCommonParameters = @(
    [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
)

function Get-HexBatteryValueKind {
    # The names of the bad values for a parameter of type $Type.
    param([Parameter(Mandatory = $true)] [type] $Type)
    $element = if ($Type.IsArray) { $Type.GetElementType() } else { $Type }
    $underlying = [System.Nullable]::GetUnderlyingType($element)
    if ($underlying) { $element = $underlying }
    $kinds = switch ($element) {
        ([string]) { 'Null', 'Empty', 'Whitespace', 'TrailingNewline', 'Huge', 'LoneSurrogate', 'ControlCharacter', 'RightToLeftAndEmoji' }
        ([int]) { 'Null', 'Negative', 'Zero', 'Huge', 'Fraction', 'NaN', 'Infinity', 'WrongType' }
        ([uint64]) { 'Null', 'Negative', 'Huge', 'NaN', 'WrongType' }
        ([double]) { 'Null', 'Negative', 'Zero', 'Huge', 'NaN', 'Infinity', 'NegativeInfinity', 'WrongType' }
        ([decimal]) { 'Null', 'Negative', 'Zero', 'Huge', 'NaN', 'Infinity', 'WrongType' }
        ([timespan]) { 'Null', 'Negative', 'Zero', 'Huge', 'WrongType' }
        ([datetime]) { 'Null', 'MinValue', 'MaxValue', 'FarFuture', 'WrongType' }
        ([hashtable]) { 'Null', 'EmptyHashtable', 'SelfReference', 'TooDeep', 'NullEntry', 'WrongType' }
        ([object]) { 'Null', 'EmptyHashtable', 'SelfReference', 'TooDeep', 'NullEntry', 'WrongType' }
        ([uri]) { 'Null', 'Empty', 'NotAUri', 'Relative', 'OtherScheme' }
        ([securestring]) { 'Null', 'EmptySecret', 'WhitespaceSecret', 'TokenWithTrailingNewline' }
        default {
            if ($element.Name -eq 'HexSession') { 'Null', 'WrongType', 'Disconnected' } else { @() }
        }
    }
    if ($Type.IsArray -and $kinds) {
        $kinds = @($kinds) + @('EmptyArray', 'ArrayWithNull')
    }
    return @($kinds)
}

function Get-HexBatteryCase {
    # One case per (cmdlet, parameter, bad value): @{ Command; Parameter; Kind; Type }.
    $cases = foreach ($command in @(Get-Command -Module HexCost -CommandType Cmdlet | Sort-Object Name)) {
        foreach ($parameter in @($command.Parameters.Values | Sort-Object Name)) {
            if ($parameter.Name -in $script:HexBatteryCommonParameters) { continue }
            if ($parameter.ParameterType -eq [System.Management.Automation.SwitchParameter]) { continue }
            foreach ($kind in (Get-HexBatteryValueKind -Type $parameter.ParameterType)) {
                @{ Command = $command.Name; Parameter = $parameter.Name; Kind = $kind; Type = $parameter.ParameterType.Name }
            }
        }
    }
    return @($cases)
}

function New-HexBatteryValue {
    # The bad value $Kind for a parameter of type $Type; $Context gives what some values are made of (the token).
    param([Parameter(Mandatory = $true)] [string] $Kind, [Parameter(Mandatory = $true)] [type] $Type, $Context)
    $numeric = $Type -in @([int], [uint64], [double], [decimal], [int[]], [System.Nullable[int]], [System.Nullable[decimal]], [System.Nullable[double]])
    switch ($Kind) {
        'Null' { return $null }
        'Empty' { return '' }
        'Whitespace' { return "  `t " }
        'TrailingNewline' { return "value`n" }
        'Huge' {
            if ($Type -eq [timespan]) { return [timespan]::MaxValue }
            if ($numeric) { return 3000000000000000000000 }
            return ('x' * 100000)
        }
        'LoneSurrogate' { return ('a' + [char]0xD800 + 'b') }
        'ControlCharacter' { return ('a' + [char]0 + 'b' + [char]27 + '[31m') }
        'RightToLeftAndEmoji' { return ('r' + [char]0x202E + 'l ' + [char]::ConvertFromUtf32(0x1F600)) }
        'Negative' {
            if ($Type -eq [timespan]) { return [timespan]::FromMinutes(-5) }
            return -1
        }
        'Zero' {
            if ($Type -eq [timespan]) { return [timespan]::Zero }
            return 0
        }
        'Fraction' { return 0.8 }
        'NaN' { return [double]::NaN }
        'Infinity' { return [double]::PositiveInfinity }
        'NegativeInfinity' { return [double]::NegativeInfinity }
        'WrongType' { return 'lots' }
        'MinValue' { return [datetime]::MinValue }
        'MaxValue' { return [datetime]::MaxValue }
        'FarFuture' { return [datetime]::new(2099, 1, 1, 0, 0, 0, [System.DateTimeKind]::Utc) }
        'EmptyHashtable' { return @{} }
        'SelfReference' {
            $table = @{ name = 'loop' }
            $table['self'] = $table
            return $table
        }
        'TooDeep' {
            $table = @{ leaf = 1 }
            for ($i = 0; $i -lt 100; $i++) { $table = @{ nested = $table } }
            return $table
        }
        'NullEntry' { return @{ nothing = $null } }
        'NotAUri' { return 'not a uri' }
        'Relative' { return '/api/v1' }
        'OtherScheme' { return 'ftp://127.0.0.1/api/v1' }
        'EmptySecret' { return (New-Object System.Security.SecureString) }
        'WhitespaceSecret' { return (ConvertTo-SecureString -String '   ' -AsPlainText -Force) }
        'TokenWithTrailingNewline' { return (ConvertTo-SecureString -String ($Context.Token + "`r`n") -AsPlainText -Force) }
        'Disconnected' { return $Context.DisconnectedSession }
        'EmptyArray' { return , @() }
        'ArrayWithNull' { return , @($null) }
        default { throw "Unknown bad value kind '$Kind'." }
    }
}

function Test-HexBindingErrorId {
    # True for the ids PowerShell's parameter binder writes (the binder refuses before the cmdlet runs).
    param([Parameter(Mandatory = $true)] [string] $FullyQualifiedErrorId)
    $id = $FullyQualifiedErrorId.Split(',')[0]
    return ($id -like 'Parameter*' -or $id -like 'CannotConvert*' -or $id -like 'InputObject*' -or $id -in @(
            'MissingArgument', 'InputObjectNotBound', 'AmbiguousParameterSet', 'NamedParameterNotFound', 'PositionalParameterNotFound'))
}

# Bad-looking values that are fine, with the reason. 'AsIfAbsent': the call must then do exactly what it does without the
# parameter (the test compares the two). 'Valid': a value the parameter legitimately takes.
$script:HexBatteryAccepted = @{
    'Disconnect-Hex -Session Disconnected'                = @{ Means = 'Valid'; Why = 'disconnecting a session twice is harmless' }
    'Get-HexCreditBalance -PoolCredits Zero'              = @{ Means = 'Valid'; Why = 'a workspace without a shared pool' }
    'Get-HexCreditBalance -TopUpPackPrice Zero'           = @{ Means = 'Valid'; Why = 'top-ups given away' }
    'Get-HexScheduleAudit -EditorSeatPrice Zero'          = @{ Means = 'Valid'; Why = 'no money in the findings' }
    'Get-HexScheduleAudit -MaxRunsPerWeek Zero'           = @{ Means = 'Valid'; Why = 'no scheduled runs wanted: every schedule is a finding' }
    'Set-HexSpendLimit -MonthlyAddOnLimit Zero'           = @{ Means = 'Valid'; Why = 'no add-on credits bought' }
    'Set-HexSpendLimit -TopUpPackPrice Zero'              = @{ Means = 'Valid'; Why = 'top-ups given away' }
    'Set-HexSpendLimit -WeeklyRunBudget Zero'             = @{ Means = 'Valid'; Why = 'no runs this week: the admin stops them all' }
    'Set-HexSpendLimit -MaxRunsPerProjectPerWeek Zero'    = @{ Means = 'Valid'; Why = 'no runs per project: the admin stops them all' }
    'Set-HexSpendLimit -WeeklyRunBudget Null'             = @{ Means = 'Valid'; Why = '$null removes the budget (documented)' }
    'Set-HexSpendLimit -MaxRunsPerProjectPerWeek Null'    = @{ Means = 'Valid'; Why = '$null removes the limit (documented)' }
    'Set-HexSpendLimit -MonthlyAddOnLimit Null'           = @{ Means = 'Valid'; Why = '$null removes the limit (documented)' }
    'Set-HexSpendLimit -TopUpPackCredits Null'            = @{ Means = 'Valid'; Why = '$null goes back to the plan default (documented)' }
    'Set-HexSpendLimit -TopUpPackPrice Null'              = @{ Means = 'Valid'; Why = '$null goes back to the plan default (documented)' }
    'Set-HexSpendLimit -AlertThreshold EmptyArray'        = @{ Means = 'Valid'; Why = 'no alert thresholds' }
    'Export-HexCostReport -Path RightToLeftAndEmoji'      = @{ Means = 'Valid'; Why = 'a legal file name' }
    'Connect-Hex -StatePath RightToLeftAndEmoji'          = @{ Means = 'Valid'; Why = 'a legal folder name' }
    'Copy-HexState -Destination RightToLeftAndEmoji'      = @{ Means = 'Valid'; Why = 'a legal folder name' }
    'Connect-Hex -Token TokenWithTrailingNewline'         = @{ Means = 'Valid'; Why = 'the token is trimmed, as Get-Content -Raw gives it' }
    'Invoke-HexRun -IdempotencyKey TrailingNewline'       = @{ Means = 'Valid'; Why = 'trimmed, as a line of Get-Content or a CSV cell gives it' }
    'Invoke-HexRun -SourceVersion TrailingNewline'        = @{ Means = 'Valid'; Why = 'trimmed, as a line of Get-Content or a CSV cell gives it' }
    'Invoke-HexRun -IdempotencyKey Huge'                  = @{ Means = 'Valid'; Why = 'opaque text, compared exactly' }
    'Invoke-HexRun -IdempotencyKey LoneSurrogate'         = @{ Means = 'Valid'; Why = 'opaque text, compared exactly' }
    'Invoke-HexRun -IdempotencyKey ControlCharacter'      = @{ Means = 'Valid'; Why = 'opaque text, compared exactly' }
    'Invoke-HexRun -IdempotencyKey RightToLeftAndEmoji'   = @{ Means = 'Valid'; Why = 'opaque text, compared exactly' }
    'Invoke-HexRun -SourceVersion Huge'                   = @{ Means = 'Valid'; Why = 'opaque text, compared exactly' }
    'Invoke-HexRun -SourceVersion LoneSurrogate'          = @{ Means = 'Valid'; Why = 'opaque text, compared exactly' }
    'Invoke-HexRun -SourceVersion ControlCharacter'       = @{ Means = 'Valid'; Why = 'opaque text, compared exactly' }
    'Invoke-HexRun -SourceVersion RightToLeftAndEmoji'    = @{ Means = 'Valid'; Why = 'opaque text, compared exactly' }
}

function Get-HexBatteryAcceptance {
    # Why the value $Kind may be neither refused nor warned about, or $null. Blank values ($null, '', whitespace, an
    # empty hashtable or array) of an optional parameter mean the same as leaving it out (a blank CSV cell), unless the
    # table above says what they mean.
    param([Parameter(Mandatory = $true)] [string] $Command, [Parameter(Mandatory = $true)] [string] $Parameter, [Parameter(Mandatory = $true)] [string] $Kind)
    $entry = $script:HexBatteryAccepted["$Command -$Parameter $Kind"]
    if ($entry) { return $entry }
    $metadata = (Get-Command -Name $Command).Parameters[$Parameter]
    $mandatory = @($metadata.ParameterSets.Values | Where-Object { $_.IsMandatory }).Count -gt 0
    if (-not $mandatory -and $Kind -in @('Null', 'Empty', 'Whitespace', 'EmptyHashtable', 'EmptyArray')) {
        return @{ Means = 'AsIfAbsent'; Why = 'a blank value of an optional parameter is the same as leaving it out' }
    }
    return $null
}
