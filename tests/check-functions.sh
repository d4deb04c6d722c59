# tests/check-functions.sh: helpers for the tests of the conformance
# audit, `nbdcli check' (test-check-flawed.sh, test-check-real.sh).
# Source it after functions.sh.  bash only.
#
# An audit's output (stdout) is a discovery line, one row per probe
#   VERDICT  ID  RULE (spec: SECTION)
# each followed by an evidence line indented by six spaces (left out
# when the evidence is empty), then the summary line
#   N probes: N pass, N flag, N warn, N skip, N error  ("1 probe: ...")
# and, when TLS was asked for or offered but could not be used,
#   TLS not tested: CAUSE

# shellcheck disable=SC2154 # $tmp is set by functions.sh

# The catalogue, in order.
mapfile -t probe_ids < <("$NBDCLI" check --list | awk '{ print $1 }')
[ "${#probe_ids[@]}" -ge 30 ] ||
    fail "check --list: only ${#probe_ids[@]} probes"

# audit NAME STATUS NBDCLI-ARGS...: run nbdcli ARGS (an audit: ARGS hold
# `check'), which must exit with STATUS (`-': any; the status is left
# in $audit_status); stdout in $tmp/NAME.out ($out), stderr in
# $tmp/NAME.err, the rows in $tmp/NAME.rows (VERDICT TAB ID TAB
# EVIDENCE).  The output must be well formed (audit_sane).
audit ()
{
    local name=$1 want=$2
    shift 2
    out=$tmp/$name.out
    audit_status=0
    "$NBDCLI" "$@" >"$out" 2>"$tmp/$name.err" </dev/null || audit_status=$?
    if [ "$want" != - ] && [ "$audit_status" != "$want" ]; then
        { set +x; } 2>/dev/null
        echo "FAIL: expected exit status $want, got $audit_status: nbdcli $*" >&2
        _show "$out"
        _show "$tmp/$name.err"
        exit 1
    fi
    audit_sane "$out"
}

# rows FILE: the rows of an audit, one per line: VERDICT TAB ID TAB
# EVIDENCE.
rows ()
{
    awk '
        function flush() { if (v != "") print v "\t" id "\t" ev; v = "" }
        /^(PASS|FLAG|WARN|SKIP|ERROR) / { flush(); v = $1; id = $2; ev = ""; next }
        /^      [^ ]/ && v != "" { ev = substr($0, 7); next }
        { flush() }
        END { flush() }' "$1"
}

# audit_sane FILE: the discovery line comes first and names a TLS mode;
# every row has a known verdict, a catalogued id (each at most once, in
# catalogue order), a rule and a spec section; every SKIP, WARN, FLAG
# and ERROR row has evidence; the summary line is last and counts the
# rows right; the exit status agrees with the counts.
audit_sane ()
{
    local xt=${-//[^x]/}
    { set +x; } 2>/dev/null
    local file=$1 r=${1%.out}.rows line n=0 i=0 id v ev
    local -A count=([PASS]=0 [FLAG]=0 [WARN]=0 [SKIP]=0 [ERROR]=0)
    head -n 1 "$file" | grep -q -E '^check .*: (TLS mode (none \(NOTLS\)|selective \(SELECTIVETLS\)|forced \(FORCEDTLS\))|oldstyle negotiation: |not fixed newstyle: )' ||
        { _show "$file"; fail "audit_sane: no discovery line in $file"; }
    grep -E '^(PASS|FLAG|WARN|SKIP|ERROR) ' "$file" |
        grep -v -E '^(PASS|FLAG|WARN|SKIP|ERROR) +[a-z0-9-]+ +[^ ].* \(spec: [^)]+\)$' >"$tmp/bad-rows" || :
    [ ! -s "$tmp/bad-rows" ] ||
        { _show "$file"; fail "audit_sane: malformed rows in $file"; }
    rows "$file" >"$r"
    while IFS=$'\t' read -r v id ev; do
        n=$((n + 1))
        count[$v]=$((${count[$v]} + 1))
        # In catalogue order, each id once.
        while [ "$i" -lt "${#probe_ids[@]}" ] && [ "${probe_ids[i]}" != "$id" ]; do
            i=$((i + 1))
        done
        [ "$i" -lt "${#probe_ids[@]}" ] ||
            { _show "$file"; fail "audit_sane: $id unknown, repeated or out of order in $file"; }
        i=$((i + 1))
        if [ "$v" != PASS ] && [ -z "$ev" ]; then
            _show "$file"; fail "audit_sane: $v $id without evidence in $file"
        fi
    done <"$r"
    [ "$n" -gt 0 ] || { _show "$file"; fail "audit_sane: no rows in $file"; }
    local word=probes
    [ "$n" = 1 ] && word=probe
    line="$n $word: ${count[PASS]} pass, ${count[FLAG]} flag, ${count[WARN]} warn, ${count[SKIP]} skip, ${count[ERROR]} error"
    # The summary, then "TLS not tested: CAUSE" when TLS was asked for
    # or offered and could not be used.
    local last not_tested=no
    last=$(tail -n 1 "$file")
    if [[ $last == "TLS not tested: "?* ]]; then
        not_tested=yes
        last=$(tail -n 2 "$file" | head -n 1)
    fi
    [ "$last" = "$line" ] ||
        { _show "$file"; fail "audit_sane: the summary of $file is not \"$line\""; }
    if [ "${count[FLAG]}" -gt 0 ]; then i=3
    elif [ "${count[ERROR]}" -gt 0 ] || [ $not_tested = yes ]; then i=1
    else i=0
    fi
    [ "$audit_status" = "$i" ] ||
        { _show "$file"; fail "audit_sane: exit status $audit_status, the rows say $i"; }
    [ -z "$xt" ] || set -x
}

# expect_mode FILE none|selective|forced: the TLS mode discovered.
expect_mode ()
{
    assert_grep -E "^check .*: TLS mode $2 \(" "$1"
}

# expect_row FILE VERDICTS ID [EVIDENCE-ERE]: the row of probe ID has
# one of VERDICTS (an ERE such as `PASS' or `ERROR|FLAG') and its
# evidence matches EVIDENCE-ERE.
expect_row ()
{
    local xt=${-//[^x]/}
    { set +x; } 2>/dev/null
    local file=$1 want=$2 id=$3 re=${4-} v ev
    IFS=$'\t' read -r v ev < <(awk -F '\t' -v id="$id" '$2 == id { print $1 "\t" $3 }' "${file%.out}.rows")
    if [ -z "$v" ]; then
        _show "$file"; fail "expect_row: no row for $id in $file"
    fi
    if ! [[ $v =~ ^($want)$ ]]; then
        _show "$file"; fail "expect_row: $id is $v, expected $want in $file"
    fi
    if [ -n "$re" ] && ! grep -q -E -e "$re" <<<"$ev"; then
        _show "$file"; fail "expect_row: the evidence of $id does not match \"$re\" in $file"
    fi
    [ -z "$xt" ] || set -x
}

# expect_rows FILE VERDICTS ID...: each ID has one of VERDICTS.
expect_rows ()
{
    local file=$1 want=$2 id
    shift 2
    for id in "$@"; do
        expect_row "$file" "$want" "$id"
    done
}

# expect_set FILE VERDICT [ID...]: the probes with VERDICT are exactly
# the IDs (none if no ID is given).
expect_set ()
{
    local file=$1 v=$2 got want
    shift 2
    got=$(awk -F '\t' -v v="$v" '$1 == v { print $2 }' "${file%.out}.rows" | sort)
    want=$(printf '%s\n' "$@" | sed '/^$/d' | sort)
    if [ "$got" != "$want" ]; then
        _show "$file"
        fail "expect_set: the $v probes in $file are [${got//$'\n'/ }], expected [${want//$'\n'/ }]"
    fi
}

# known_bug NAME FUNCTION: run FUNCTION (assertions of the right
# behaviour where nbdcli is known to be wrong) in a subshell and note
# NAME if it fails; known_bugs_report then fails the test, naming them
# all, so that every known bug is checked on each run.
known_failed=()
known_bug ()
{
    if ! ( "$2" ); then
        known_failed+=("$1")
    fi
}
known_bugs_report ()
{
    [ "${#known_failed[@]}" = 0 ] ||
        fail "known nbdcli bugs still present: ${known_failed[*]}"
}
