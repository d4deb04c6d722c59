#!/usr/bin/env bash
# test-check-slow-setup.sh: a probe's short reply wait does not bound
# connecting, the greeting or the TLS handshake.  A server command
# that takes 0.8 s to start gives each probe's connection a greeting
# later than a probe's reply wait (20 times the slowest reply of
# discovery, at least 500 ms): the audit must give the same verdicts
# as with a server that starts at once, and no ERROR (a slow start is
# the client's environment, not a silent server).

# shellcheck source=tests/functions.sh
. "${srcdir:-tests}/functions.sh"
# shellcheck source=tests/check-functions.sh
. "${srcdir:-tests}/check-functions.sh"
set -e
set -x

requires nbdkit --version

# A server command is started for each connection, with socket
# activation (nbdkit serves it without -s).

probes="greeting client-flags-unknown unknown-option info-requests read-past-end zero-length-read sr-read"

audit fast 0 check [ nbdkit memory 1M ] $probes
rows "$out" | cut -f1,2 >"$tmp/fast.rows"

audit slow 0 check --jobs 4 \
    [ sh -c 'sleep 0.8; exec nbdkit memory 1M' ] $probes
rows "$out" | cut -f1,2 >"$tmp/slow.rows"
assert_not_grep '^ERROR' "$out"
diff "$tmp/fast.rows" "$tmp/slow.rows" ||
    fail "a slow server start changed the verdicts"
# Every probe named ran: none skipped for want of a connection.
[ "$(grep -c '^PASS' "$tmp/slow.rows")" -ge 3 ] ||
    fail "fewer than 3 probes passed against the slow server"
