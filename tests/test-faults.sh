#!/usr/bin/env bash
# test-faults.sh: every fault of the flawed test server raises its flag,
# and only that flag.
#
# For each fault in `$FLAWED --list-faults' there is at least one case
# below: a command sequence that makes the fault show.  Each case
# asserts that
#   (a) nbdcli exits with status 3 against `[ $FLAWED --fault NAME ]',
#   (b) the expected flag id is raised,
#   (c) no other flag id is raised (the set of `^FLAG ID' lines is
#       exactly the expected set),
#   (d) the same sequence against the server without the fault exits 0
#       and prints no FLAG line at all.
# A fault without a case, or a case for a fault the server does not
# list, fails the test: a new fault must get a case here.
#
# All cases run even when one fails; the failures are listed at the end.

# shellcheck source=tests/functions.sh
. "${srcdir:-tests}/functions.sh"
set -e
set -x

requires "$FLAWED" --list-faults

psk=$tmp/keys.psk
make_psk "$psk" alice
psk_key=$(cut -d: -f2 "$psk")

# The TLS modes of a case: the server's and nbdcli's extra arguments.
#   plain  the server's default (NOTLS), no credentials
#   tls    SELECTIVETLS with a PSK; nbdcli has the key
#   notls  --tls=off given explicitly (needed by tls-reqd-no-tls)
#   many   plain, but the server listens on a Unix socket and forks a
#          child per connection (--serve-many): for faults that need two
#          connections to one server (multi-conn-private)
server_args ()
{
    case $1 in
    plain|many) ;;
    tls)   printf '%s\n' --tls=on --tls-psk "$psk" ;;
    notls) printf '%s\n' --tls=off ;;
    *)     fail "unknown mode $1" ;;
    esac
}
client_args ()
{
    case $1 in
    tls) printf '%s\n' --tls-psk "$psk" --tls-username alice ;;
    esac
}

# The cases: FAULT|MODE|EXPECTED FLAG IDS (space separated)|SEQUENCE.
# A fault may have several cases.
cases=(
    'keep-sr|tls|tls-state-kept-sr|sr; starttls; info'
    'keep-meta|tls|tls-state-kept-meta|sr; smc base:allocation; starttls; sr; go; block-status 0 64k'
    'keep-eh|tls|tls-state-kept-eh|eh; starttls; go; read 0 512'
    'keep-export|tls|tls-state-kept-export|info disk; starttls; info "" --name'
    'df-without-sr|plain|df-without-sr|info'
    'sr-without-negotiation|plain|sr-not-negotiated|go; read 0 512'
    'double-starttls|tls|starttls-twice|starttls; starttls'
    # The second ACK is seen when the next option is about to be sent;
    # the sleep lets it arrive first (without it, it is read as the
    # reply to LIST and flagged as reply-echo).
    'two-finals|plain|two-finals|sr; sleep 0.3; list'
    'wrong-echo|plain|reply-echo|list'
    # The framing is lost: the run stops, but a flag was raised.
    'wrong-magic|plain|reply-magic|list'
    'ack-payload|plain|ack-payload|sr'
    'info-export-len|plain|info-export-length|info'
    'bad-block-size|plain|block-size-invalid|info --block-size'
    'no-has-flags|plain|has-flags-missing|info'
    'fast-zero-without-wz|plain|fast-zero-without-write-zeroes|info'
    'tls-reqd-after-tls|tls|tls-reqd-after-tls|starttls; list'
    # STARTTLS is refused (ERR_POLICY) first, then LIST gets TLS_REQD.
    'tls-reqd-no-tls|notls|tls-reqd-without-tls|starttls; list'
    # base:unrequested was not asked for: a leaf query in the base:
    # namespace selects exactly that context.
    'meta-unrequested|plain|meta-unrequested|sr; smc base:allocation'
    'meta-unrequested|plain|meta-unrequested|sr; smc x-flawed:foo'
    # A SET with no query MUST select no context.
    'meta-unrequested|plain|meta-unrequested|sr; smc'
    'dup-context-id|plain|meta-dup-id|sr; smc base:allocation x-flawed:dup'
    'unsolicited-reply|plain|unsolicited-reply|sleep 0.3; sr'
    'bad-cookie|plain|cookie-mismatch|go; read 0 512'
    'reply-to-disc|plain|reply-to-disc|go; disc'

    # The same checks inside TLS (epoch 1).
    'ack-payload|tls|ack-payload|starttls; sr'
    'wrong-echo|tls|reply-echo|starttls; list'
    'wrong-magic|tls|reply-magic|starttls; list'
    'two-finals|tls|two-finals|starttls; sr; sleep 0.3; list'
    'unsolicited-reply|tls|unsolicited-reply|sleep 0.3; starttls; list'
    'meta-unrequested|tls|meta-unrequested|starttls; sr; smc x-flawed:foo'
    'dup-context-id|tls|meta-dup-id|starttls; sr; smc base:allocation x-flawed:dup'
    'sr-without-negotiation|tls|sr-not-negotiated|starttls; go; read 0 512'
    'bad-cookie|tls|cookie-mismatch|starttls; sr; go; read 0 512'
    'reply-to-disc|tls|reply-to-disc|starttls; sr; go; disc'
    # Malformed replies in transmission (issue 4), structured and extended.
    'chunk-outside|plain|chunk-outside-request|sr; go; read 0 512'
    'chunk-outside|plain|chunk-outside-request|eh; go; read 0 512'
    'chunk-overlap|plain|chunk-overlap|sr; go; read 0 512'
    'no-done|plain|no-done|set timeout 1; sr; go; read 0 512'
    'hole-zero|plain|chunk-length|sr; go; read 0 512'
    'none-no-done|plain|none-without-done|sr; go; flush'
    'error-undefined|plain|error-value-undefined|sr; go; read 0 512'
    'error-undefined|plain|error-value-undefined|go; read 0 512'
    'bs-empty-extent|plain|block-status-empty-extent|sr; smc base:allocation; go; block-status 0 64k'
    'bs-beyond|plain|block-status-beyond-request|sr; smc base:allocation; go; block-status 0 64k'
    'bs-beyond|plain|block-status-beyond-request|eh; smc base:allocation; go; block-status 0 64k'
    'bs-unknown-context|plain|block-status-unknown-context|sr; smc base:allocation; go; block-status 0 64k'
    'bs-no-extents|plain|block-status-no-extents|sr; smc base:allocation; go; block-status 0 64k'
    'simple-long|plain|unsolicited-data|go; read 0 512; sleep 0.2; read 0 512'
    # Two connections to one server (issue 14).
    'multi-conn-private|many|multi-conn-not-shared|sr; go; write 0 "x"; multi-conn-check'
)

# ---------------------------------------------------------------------
# Every listed fault has a case, every case a listed fault.
"$FLAWED" --list-faults >"$tmp/faults"
[ -s "$tmp/faults" ] || fail "$FLAWED --list-faults printed nothing"
for c in "${cases[@]}"; do
    echo "${c%%|*}"
done | sort -u >"$tmp/covered"
sort -u "$tmp/faults" >"$tmp/listed"
missing=$(comm -23 "$tmp/listed" "$tmp/covered")
stale=$(comm -13 "$tmp/listed" "$tmp/covered")
[ -z "$missing" ] || fail "faults without a case in $0: ${missing//$'\n'/ }"
[ -z "$stale" ] || fail "cases for faults the server does not list: ${stale//$'\n'/ }"

# flag_ids FILE: the flag ids raised in FILE, sorted, one line.
flag_ids ()
{
    grep -o '^FLAG [a-z0-9-]*' "$1" | sed 's/^FLAG //' | sort -u |
        tr '\n' ' ' | sed 's/ $//'
}

# many_server NAME ARGS...: the flawed server on $tmp/manyNAME, a child
# per connection, stopped at exit.
many_server ()
{
    local name=$1 pid
    shift
    start_bg pid "$FLAWED" -U "$tmp/many$name" --serve-many --timeout 10 "$@"
    wait_for_socket "$tmp/many$name"
}

# run_case N FAULT MODE EXPECTED SEQUENCE: (a) to (d) above.  Runs in
# a subshell, so that a failure (fail, expect_status, assert_* exit)
# ends only this case.
run_case ()
{
    local n=$1 fault=$2 mode=$3 want=$4 seq=$5 got
    local -a sargs cargs
    mapfile -t sargs < <(server_args "$mode")
    mapfile -t cargs < <(client_args "$mode")

    # (a) With the fault: status 3.
    if [ "$mode" = many ]; then
        many_server "$n.fault" --fault "$fault"
        expect_status 3 "$NBDCLI" -t 5 "nbd+unix:///?socket=$tmp/many$n.fault" \
            -c "$seq"
    else
    expect_status 3 "$NBDCLI" -t 5 "${cargs[@]}" \
        [ "$FLAWED" --fault "$fault" "${sargs[@]}" ] -c "$seq"
    fi
    cp "$tmp/out" "$tmp/case$n.fault.out"
    # (b), (c) Exactly the expected flag ids.
    want=$(tr ' ' '\n' <<<"$want" | sort -u | tr '\n' ' ' | sed 's/ $//')
    got=$(flag_ids "$tmp/case$n.fault.out")
    if [ "$got" != "$want" ]; then
        { set +x; } 2>/dev/null
        _show "$tmp/case$n.fault.out"
        fail "--fault $fault, '$seq': flags raised: [$got], expected [$want]"
    fi
    # No secret in the output.
    assert_not_grep -i -F "$psk_key" "$tmp/case$n.fault.out"

    # (d) Without the fault: status 0, no flag.
    if [ "$mode" = many ]; then
        many_server "$n.good"
        expect_status 0 "$NBDCLI" -t 5 "nbd+unix:///?socket=$tmp/many$n.good" \
            -c "$seq"
    else
    expect_status 0 "$NBDCLI" -t 5 "${cargs[@]}" \
        [ "$FLAWED" "${sargs[@]}" ] -c "$seq"
    fi
    cp "$tmp/out" "$tmp/case$n.good.out"
    assert_not_grep '^FLAG ' "$tmp/case$n.good.out"
    assert_not_grep -i -F "$psk_key" "$tmp/case$n.good.out"
}

failed=()
n=0
for c in "${cases[@]}"; do
    n=$((n + 1))
    IFS='|' read -r fault mode want seq <<<"$c"
    if ! ( run_case "$n" "$fault" "$mode" "$want" "$seq" ); then
        failed+=("--fault $fault: $seq")
    fi
done

# ---------------------------------------------------------------------
# The headline check, in more detail: the flag names the cause.
n=$(( $(printf '%s\n' "${cases[@]}" | grep -n '^keep-sr|' | head -n 1 | cut -d: -f1) ))
if [ -f "$tmp/case$n.fault.out" ]; then
    ( assert_grep -E '^FLAG tls-state-kept-sr: .*structured reply from before STARTTLS kept' \
          "$tmp/case$n.fault.out" ) || failed+=("keep-sr: flag text")
    # The good server: the TLS session was set up and INFO answered.
    ( assert_grep -F '== TLS handshake done' "$tmp/case$n.good.out" &&
      assert_grep -E '^<- NBD_REP_INFO \(3\) to NBD_OPT_INFO \(6\), length 12: NBD_INFO_EXPORT' \
          "$tmp/case$n.good.out" ) || failed+=("keep-sr: good server output")
fi

# ---------------------------------------------------------------------
# Sequences that exercise the same checks but where the correct server
# must raise no flag (false positives).  SEND_DF is allowed once
# structured replies OR extended headers are negotiated.
good_seqs=(
    'eh; go; read 0 512'
    'eh; export-name'
    'eh; smc base:allocation; go; block-status 0 64k'
    'sr; smc base:allocation; go; block-status 0 64k; read 0 512'
    'lmc; lmc base:; sr; smc base:allocation; list'
)
for seq in "${good_seqs[@]}"; do
    if ! ( expect_status 0 "$NBDCLI" -t 5 [ "$FLAWED" ] -c "$seq" &&
           assert_not_grep '^FLAG ' "$tmp/out" ); then
        failed+=("correct server: $seq")
    fi
done

{ set +x; } 2>/dev/null
if [ ${#failed[@]} -gt 0 ]; then
    echo "FAIL: ${#failed[@]} case(s) failed:" >&2
    printf '  %s\n' "${failed[@]}" >&2
    exit 1
fi
echo "all ${#cases[@]} cases passed"
