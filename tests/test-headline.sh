#!/usr/bin/env bash
# test-headline.sh: the product's headline scripted check,
#   nbdcli 'nbds+unix://USER@/?socket=S&tls-psk-file=F' -c 'sr; starttls; info'
# exits 3 against a server that keeps the structured-reply request
# across STARTTLS (CVE-2021-3716; the flawed server's --fault keep-sr),
# and exits 0 with no flag against the correct flawed server and
# against nbdkit.

# shellcheck source=tests/functions.sh
. "${srcdir:-tests}/functions.sh"
set -e
set -x

requires "$FLAWED" --list-faults

psk=$tmp/keys.psk
make_psk "$psk" alice
key=$(cut -d: -f2 "$psk")
seq='sr; starttls; info'

# headline SOCKET: run the check against the server on SOCKET.
headline ()
{
    local want=$1 sock=$2
    expect_status "$want" "$NBDCLI" -t 5 \
        "nbds+unix://alice@/?socket=$sock&tls-psk-file=$psk" -c "$seq"
    # What went over the wire, in that order, and TLS came up.
    grep -E '^-> NBD_OPT_' "$tmp/out" | sed 's/ (.*//' >"$tmp/sent"
    printf '%s\n' '-> NBD_OPT_STRUCTURED_REPLY' '-> NBD_OPT_STARTTLS' \
        '-> NBD_OPT_INFO' >"$tmp/sent.want"
    if ! cmp -s "$tmp/sent" "$tmp/sent.want"; then
        _show "$tmp/out"
        fail "the options sent were not exactly SR, STARTTLS, INFO"
    fi
    assert_grep -F '== TLS handshake done' "$tmp/out"
    assert_grep -F 'PSK user "alice"' "$tmp/out"
    assert_grep -E '^<- NBD_REP_INFO \(3\) to NBD_OPT_INFO \(6\), length 12: NBD_INFO_EXPORT \(0\): size 1048576 ' "$tmp/out"
    # The key never appears.
    assert_not_grep -i -F "$key" "$tmp/out"
}

# ---------------------------------------------------------------------
# The flawed server with --fault keep-sr: flagged, exit 3, and only
# for the kept structured reply.
sock=$tmp/keep-sr.sock
start_bg pid "$FLAWED" -U "$sock" --tls=on --tls-psk "$psk" --timeout 10 \
    --pidfile "$tmp/keep-sr.pid" --fault keep-sr >"$tmp/keep-sr.log" 2>&1
# The pid file is written once the server listens.
wait_for_file "$tmp/keep-sr.pid"
wait_for_socket "$sock"
headline 3 "$sock"
assert_grep -E '^FLAG tls-state-kept-sr: .*SEND_DF.*structured reply from before STARTTLS kept' "$tmp/out"
ids=$(grep -o '^FLAG [a-z0-9-]*' "$tmp/out" | sort -u | tr '\n' ' ')
[ "$ids" = "FLAG tls-state-kept-sr " ] ||
    { _show "$tmp/out"; fail "flags raised: $ids"; }
kill_pid "$pid"

# ---------------------------------------------------------------------
# The flawed server without faults: exit 0, no flag.
sock=$tmp/good.sock
start_bg pid "$FLAWED" -U "$sock" --tls=on --tls-psk "$psk" --timeout 10 \
    --pidfile "$tmp/good.pid" >"$tmp/good.log" 2>&1
wait_for_file "$tmp/good.pid"
wait_for_socket "$sock"
headline 0 "$sock"
assert_not_grep '^FLAG ' "$tmp/out"
assert_not_grep -F 'SEND_DF' "$tmp/out"
kill_pid "$pid"

# ---------------------------------------------------------------------
# nbdkit: exit 0, no flag.
requires nbdkit --version
requires nbdkit memory --version
sock=$tmp/nbdkit.sock
start_bg pid nbdkit -f -U "$sock" -P "$tmp/nbdkit.pid" --tls=on \
    --tls-psk="$psk" memory 1M >"$tmp/nbdkit.log" 2>&1
wait_for_file "$tmp/nbdkit.pid"
wait_for_socket "$sock"
headline 0 "$sock"
assert_not_grep '^FLAG ' "$tmp/out"
assert_not_grep -F 'SEND_DF' "$tmp/out"
# nbdkit serves many connections: the check is repeatable.
headline 0 "$sock"
assert_not_grep '^FLAG ' "$tmp/out"
