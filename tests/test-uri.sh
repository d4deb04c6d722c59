#!/usr/bin/env bash
# test-uri.sh: the target forms, on the command line and with `connect':
# nbd+unix:///EXPORT?socket=PATH, nbd://HOST:PORT/EXPORT, HOST:PORT, a
# socket path, [ SERVER-CMD ARGS... ], percent-encoded export names,
# IPv6; and bad URIs: a clear error, exit 2 from the command line.

# The *_pid variables are set by start_bg.
# shellcheck disable=SC2154
# shellcheck source=tests/functions.sh
. "${srcdir:-tests}/functions.sh"
set -e
set -x

requires nbdkit --version
requires nbdkit --filter=exportname memory --version

# Both servers accept only the exports "foo" and "my disk" (no
# default export), so the export nbdcli sends is visible in the reply.
exports=(exportname=foo 'exportname=my disk' exportname-strict=true)

sock=$tmp/uri.sock
start_bg unix_pid nbdkit -f -U "$sock" --filter=exportname memory 2M \
    "${exports[@]}" >"$tmp/unix.log" 2>&1
port=$(free_port)
start_bg tcp_pid nbdkit -f -i 127.0.0.1 -p "$port" --filter=exportname \
    memory 1M "${exports[@]}" >"$tmp/tcp.log" 2>&1
wait_for_socket "$sock"
wait_for_port "$port"

# try TARGET EXPECTED-CONNECTED-LINE EXPECTED-DEFAULT-EXPORT SIZE:
# nbdcli TARGET -c 'state; info' connects where it should, takes the
# default export from the target, and the server answers for it.
try ()
{
    local target=$1 conn=$2 export=$3 size=$4
    expect_status 0 "$NBDCLI" -t 5 "$target" -c 'state; info'
    assert_grep -x -F "connected to $conn" "$tmp/out"
    assert_grep -x -F "default export:     \"$export\"" "$tmp/out"
    assert_grep -x -F -e "-> NBD_OPT_INFO (6), length $((6 + ${#export})): export \"$export\", 0 info requests" "$tmp/out"
    if [ -n "$size" ]; then
        assert_grep -E "^<- NBD_REP_INFO \(3\) to NBD_OPT_INFO \(6\), length 12: NBD_INFO_EXPORT \(0\): size $size " "$tmp/out"
    else
        assert_grep -x -F '<- NBD_REP_ERR_UNKNOWN (0x80000006) to NBD_OPT_INFO (6), length 0' "$tmp/out"
    fi
}

# ---------------------------------------------------------------------
# Unix sockets.
try "nbd+unix:///foo?socket=$sock" "unix:$sock" foo 2097152
try "nbd+unix:///my%20disk?socket=$sock" "unix:$sock" "my disk" 2097152
try "nbd+unix:///f%6F%6f?socket=$sock" "unix:$sock" foo 2097152
try "nbd+unix:///?socket=$sock" "unix:$sock" "" ""
try "nbd+unix://?socket=$sock" "unix:$sock" "" ""
try "$sock" "unix:$sock" "" ""

# TCP.
try "nbd://127.0.0.1:$port/foo" "127.0.0.1:$port" foo 1048576
try "nbd://127.0.0.1:$port/my%20disk" "127.0.0.1:$port" "my disk" 1048576
try "nbd://127.0.0.1:$port/" "127.0.0.1:$port" "" ""
try "nbd://127.0.0.1:$port" "127.0.0.1:$port" "" ""
try "127.0.0.1:$port" "127.0.0.1:$port" "" ""
# Only the first slash separates the path: the export is "/foo".
expect_status 0 "$NBDCLI" -t 5 "nbd://127.0.0.1:$port//foo" -c 'info'
assert_grep -x -F -e '-> NBD_OPT_INFO (6), length 10: export "/foo", 0 info requests' "$tmp/out"

# A server command on a socketpair; nbdcli's options before or after.
expect_status 0 "$NBDCLI" -t 5 [ nbdkit -s memory 3M ] -c 'info; state'
assert_grep -x -F 'connected to [ nbdkit -s memory 3M ]' "$tmp/out"
assert_grep -E '^<- NBD_REP_INFO \(3\) to NBD_OPT_INFO \(6\), length 12: NBD_INFO_EXPORT \(0\): size 3145728 ' "$tmp/out"
assert_grep -x 'target: *\[ nbdkit -s memory 3M \]' "$tmp/out"
expect_status 0 "$NBDCLI" -c 'info' -t 5 [ nbdkit -s memory 3M ]
assert_grep -E '^<- NBD_REP_INFO .*size 3145728 ' "$tmp/out"

# IPv6 loopback, when there is one.
if grep -q '^0\{31\}1 ' /proc/net/if_inet6 2>/dev/null; then
    port6=$(free_port)
    start_bg tcp6_pid nbdkit -f -i ::1 -p "$port6" memory 1M >"$tmp/tcp6.log" 2>&1
    wait_for_port "$port6"
    try "nbd://[::1]:$port6/" "[::1]:$port6" "" 1048576
    try "[::1]:$port6" "[::1]:$port6" "" 1048576
fi

# ---------------------------------------------------------------------
# connect with each form in one session; the URI's export becomes the
# default export.
expect_status 0 "$NBDCLI" -t 5 \
    -c "connect nbd+unix:///foo?socket=$sock; info; assert size 2097152; close" \
    -c "connect nbd://127.0.0.1:$port/my%20disk; info; assert size 1048576; disconnect" \
    -c "connect $sock; info foo; assert size 2097152; close" \
    -c "connect 127.0.0.1:$port; info foo; assert size 1048576; close" \
    -c 'connect [ nbdkit -s memory 3M ]; info; assert size 3145728; state'
out=$tmp/connect.out
mv "$tmp/out" "$out"
[ "$(grep -c -x -F "connected to unix:$sock" "$out")" = 2 ] || fail "unix connects"
[ "$(grep -c -x -F "connected to 127.0.0.1:$port" "$out")" = 2 ] || fail "tcp connects"
assert_grep -x -F 'connected to [ nbdkit -s memory 3M ]' "$out"
assert_grep -x -F -e '-> NBD_OPT_INFO (6), length 13: export "my disk", 0 info requests' "$out"
assert_grep -x 'phase: *negotiating' "$out"

# set export changes the default.
expect_status 0 "$NBDCLI" -t 5 "$sock" -c 'set export foo; info; assert size 2097152'
assert_grep -x -F -e '-> NBD_OPT_INFO (6), length 9: export "foo", 0 info requests' "$tmp/out"

# ---------------------------------------------------------------------
# Bad targets on the command line: a clear message, exit 2, nothing
# connected.
bad ()
{
    local target=$1 msg=$2
    expect_status 2 "$NBDCLI" -t 5 "$target" -c 'echo not-reached'
    assert_grep -F -e "$msg" "$tmp/out"
    assert_not_grep 'not-reached' "$tmp/out"
    assert_not_grep '^connected to' "$tmp/out"
}
bad "nbd+unix:///foo?socket=$sock&bogus=1" 'unknown URI query parameter "bogus"'
bad "nbd+unix:///foo" 'needs ?socket='
bad "nbd://127.0.0.1:abc/foo" 'port is not a number'
bad "nbd://127.0.0.1:-1/foo" 'port'
bad "127.0.0.1:" 'the port is not a number from 1 to 65535'
bad "http://127.0.0.1/foo" 'not an NBD URI'
bad "nbd://[::1/foo" 'unterminated'
expect_status 2 "$NBDCLI" -c 'echo not-reached' [ nbdkit -s memory 1M
assert_grep -F '"[" without a matching "]"' "$tmp/out"
expect_status 2 "$NBDCLI" -c 'echo not-reached' [ ]
assert_grep -F 'empty server command' "$tmp/out"
expect_status 2 "$NBDCLI" "$sock" "$sock" -c 'echo not-reached'
assert_grep -F 'more than one target' "$tmp/out"

# With `connect' in a script the same mistakes are a failed command
# (exit 1) with the same message.
expect_status 1 "$NBDCLI" -c 'connect nbd://127.0.0.1:abc/; echo not-reached'
assert_grep -F 'connect: nbd://127.0.0.1:abc/: the port is not a number from 1 to 65535' "$tmp/out"
expect_status 1 "$NBDCLI" -c "connect nbd+unix:///foo?socket=$sock&bogus=1"
assert_grep -F 'unknown URI query parameter "bogus"' "$tmp/out"
expect_status 1 "$NBDCLI" -c 'connect [ nbdkit -s memory 1M'
assert_grep -F '[ CMD ARGS... ]' "$tmp/out"

# Nothing listening: a connection error is exit 1, not a usage error.
expect_status 1 "$NBDCLI" -t 5 "$tmp/no-such.sock" -c 'echo not-reached'
assert_grep -F "$tmp/no-such.sock" "$tmp/out"
assert_not_grep 'not-reached' "$tmp/out"

# Ports out of range and empty socket paths are bad URIs too (known
# nbdcli bugs when written: they reach connect(), exit 1).
bad "nbd://127.0.0.1:99999/foo" 'port'
bad "nbd://127.0.0.1:65536/foo" 'port'
bad "nbd+unix:///foo?socket=" 'socket'

kill -0 "$unix_pid" || fail "nbdkit (unix) died"
kill -0 "$tcp_pid" || fail "nbdkit (tcp) died"
