#!/usr/bin/env bash
# The example scripts in scripts/ run directly (#!/usr/bin/env -S nbdcli -f):
# the guided tour against nbdkit, and the TLS audit against nbdkit and
# against the flawed server that keeps structured replies across STARTTLS.
. "${srcdir:-tests}/functions.sh"
set -e
set -x

requires nbdkit memory --version
requires psktool --version
test -x "$FLAWED" || fail "no flawed server at $FLAWED"
top=$(cd "$srcdir/.." && pwd)
export PATH="$(dirname "$NBDCLI"):$PATH"

# The tour: every step explained, every reply decoded, exit 0.
expect_status 0 "$top/scripts/tour.nbd"
out=$tmp/out
for step in 1 2 3 4 5 6 7 8 9 10 11; do
    assert_grep "^== $step\\. " $out
done
assert_grep -F 'NBD_REP_SERVER (2) to NBD_OPT_LIST (3)' $out
assert_grep -F 'NBD_REP_ERR_UNSUP (0x80000001) to NBD_OPT_PEEK_EXPORT (4)' $out
assert_grep -F 'C->S option request' $out         # the trace step
# Step 7 says what it sends: NBD_OPT_GO, traced.
assert_grep '^== 7\. Into transmission with NBD_OPT_GO' $out
assert_order $out '== 7. ' '-> NBD_OPT_GO (7)' 'C->S option request' '== 8. '
assert_not_grep -i 'same exchange again' $out
assert_grep -F '|hello, NBD|' $out
assert_grep -F 'block status for context id 1 (base:allocation)' $out
assert_grep -F 'connection closed (disconnected (NBD_CMD_DISC))' $out
assert_not_grep '^FLAG ' $out

# The TLS audit.
make_psk "$tmp/keys.psk" alice
cred=(--tls-psk "$tmp/keys.psk" --tls-username alice)
expect_status 0 "$top/scripts/tls-audit.nbd" "${cred[@]}" \
    [ nbdkit -s --tls=on --tls-psk="$tmp/keys.psk" memory 1M ]
for step in 1 2 3 4 5; do
    assert_grep "^== $step\\. " $out
done
assert_grep -E '^[0-9]+ probes: [0-9]+ pass, 0 flag, 0 warn, [0-9]+ skip, 0 error$' $out
assert_not_grep '^FLAG ' $out

expect_status 3 "$top/scripts/tls-audit.nbd" "${cred[@]}" \
    [ "$FLAWED" --fault keep-sr --tls=on --tls-psk "$tmp/keys.psk" ]
assert_grep '^FLAG tls-state-kept-sr: ' $out
assert_grep -E '^FLAG +tls-reset-sr-df ' $out
