#!/usr/bin/env bash
# test-nbd-server.sh: nbdcli against nbd-server (the reference server)
# with a config file: two exports (one read-only) and allowlist on, on
# a Unix socket and on a free TCP port.  list, info and go on each,
# export-name, the server's error messages.

# shellcheck source=tests/functions.sh
. "${srcdir:-tests}/functions.sh"
set -e
set -x

requires nbd-server -V

truncate -s 1M "$tmp/alpha.img"
truncate -s 2M "$tmp/beta.img"

# start_nbd_server NAME: run nbd-server with $tmp/NAME.conf.  With -d
# nbd-server serves a single connection, so let it daemonize and kill
# it at exit by the pid it writes.
start_nbd_server ()
{
    local name=$1 pid
    nbd-server -C "$tmp/$name.conf" -p "$tmp/$name.pid" \
        >"$tmp/$name.log" 2>&1 ||
        { _show "$tmp/$name.log"; fail "nbd-server $name did not start"; }
    wait_for_file "$tmp/$name.pid"
    pid=$(cat "$tmp/$name.pid")
    cleanup_fn kill_pid "$pid"
}

sock=$tmp/nbd-server.sock
cat >"$tmp/unix.conf" <<EOF
[generic]
allowlist = true
unixsock = $sock
[alpha]
exportname = $tmp/alpha.img
[beta]
exportname = $tmp/beta.img
readonly = true
EOF
start_nbd_server unix
wait_for_socket "$sock"

# ---------------------------------------------------------------------
# list: both exports, then the ACK.
expect_status 0 "$NBDCLI" "$sock" -t 5 -c 'list; assert reply NBD_REP_ACK'
grep '^<- NBD_REP_' "$tmp/out" >"$tmp/replies"
cat >"$tmp/want" <<'EOF'
<- NBD_REP_SERVER (2) to NBD_OPT_LIST (3), length 9: export "alpha"
<- NBD_REP_SERVER (2) to NBD_OPT_LIST (3), length 8: export "beta"
<- NBD_REP_ACK (1) to NBD_OPT_LIST (3), length 0
EOF
diff -u "$tmp/want" "$tmp/replies" || fail "list replies differ"

# info on each: NBD_INFO_EXPORT, beta read-only.  (nbd-server does not
# open the file for NBD_OPT_INFO, so it reports size 0 there.)
expect_status 0 "$NBDCLI" "$sock" -t 5 -c 'info alpha --all; info beta'
assert_grep -x -F -e '-> NBD_OPT_INFO (6), length 17: export "alpha", 3 info requests: NBD_INFO_NAME NBD_INFO_DESCRIPTION NBD_INFO_BLOCK_SIZE' "$tmp/out"
assert_grep -x -E '<- NBD_REP_INFO \(3\) to NBD_OPT_INFO \(6\), length 12: NBD_INFO_EXPORT \(0\): size [0-9]+ \([^)]*\), flags 0x[0-9a-f]{4} \(HAS_FLAGS( [A-Z_]+)*\)' "$tmp/out"
assert_grep -x -E '<- NBD_REP_INFO \(3\) to NBD_OPT_INFO \(6\), length 12: NBD_INFO_EXPORT \(0\): size [0-9]+ \([^)]*\), flags 0x[0-9a-f]{4} \(HAS_FLAGS READ_ONLY( [A-Z_]+)*\)' "$tmp/out"
[ "$(grep -c -x -F '<- NBD_REP_ACK (1) to NBD_OPT_INFO (6), length 0' "$tmp/out")" = 2 ] ||
    fail "expected two ACKs to NBD_OPT_INFO"

# nbd-server (3.24) really breaks a rule here: NBD_OPT_INFO reports
# size 0, because it does not open the file for INFO, and the NBD_OPT_GO
# right after it, with the same data, reports the real size.  The spec
# says a successful INFO followed by GO with identical parameters MUST
# give the same information, so nbdcli flags it (exit 3).  A fixed
# nbd-server reports the same size twice and is not flagged.
st=0
"$NBDCLI" "$sock" -t 5 -c 'info alpha; go alpha; disc' >"$tmp/out" 2>&1 || st=$?
if grep -q -F 'to NBD_OPT_INFO (6), length 12: NBD_INFO_EXPORT (0): size 0 ' "$tmp/out"; then
    [ "$st" = 3 ] || { _show "$tmp/out"; fail "info-go-mismatch: exit $st, expected 3"; }
    assert_grep -E '^FLAG info-go-mismatch: NBD_OPT_INFO answered size 0 flags 0x[0-9a-f]{4}, the NBD_OPT_GO right after it size 1048576' "$tmp/out"
    [ "$(grep -c '^FLAG ' "$tmp/out")" = 1 ] || { _show "$tmp/out"; fail "other flags"; }
else
    [ "$st" = 0 ] || { _show "$tmp/out"; fail "info; go: exit $st, expected 0"; }
    assert_not_grep '^FLAG ' "$tmp/out"
fi

# go on each export, in its own session.
expect_status 0 "$NBDCLI" "nbd+unix:///alpha?socket=$sock" -t 5 \
    -c 'go; state; assert size 1048576; assert not tflag READ_ONLY'
assert_grep -x -E '<- NBD_REP_INFO \(3\) to NBD_OPT_GO \(7\), length 12: NBD_INFO_EXPORT \(0\): size 1048576 \(1 MiB\), flags 0x[0-9a-f]{4} \(HAS_FLAGS( [A-Z_]+)*\)' "$tmp/out"
assert_grep -x -F '<- NBD_REP_ACK (1) to NBD_OPT_GO (7), length 0' "$tmp/out"
assert_grep -x 'phase: *transmission' "$tmp/out"
assert_grep -x 'export: *"alpha", size 1048576 (1 MiB)' "$tmp/out"
expect_status 0 "$NBDCLI" "$sock" -t 5 \
    -c 'go beta; assert size 2097152; assert tflag READ_ONLY; disconnect'
assert_grep -x -E '<- NBD_REP_INFO \(3\) to NBD_OPT_GO \(7\), length 12: NBD_INFO_EXPORT \(0\): size 2097152 \(2 MiB\), flags 0x[0-9a-f]{4} \(HAS_FLAGS READ_ONLY( [A-Z_]+)*\)' "$tmp/out"
assert_grep -x -E -e '-> NBD_CMD_DISC \(2\), flags 0x0000 \(none\), cookie [0-9]+, offset 0, length 0' "$tmp/out"

# Unknown export and unsupported options: nbd-server's messages shown.
expect_status 0 "$NBDCLI" "$sock" -t 5 \
    -c 'info no-such; assert reply NBD_REP_ERR_UNKNOWN; go no-such; assert phase negotiating' \
    -c 'sr; assert not structured-reply; opt 4'
assert_grep -x -E '<- NBD_REP_ERR_UNKNOWN \(0x80000006\) to NBD_OPT_INFO \(6\), length [0-9]+: message ".+"' "$tmp/out"
assert_grep -x -E '<- NBD_REP_ERR_UNKNOWN \(0x80000006\) to NBD_OPT_GO \(7\), length [0-9]+: message ".+"' "$tmp/out"
if ! grep -q -x -F '<- NBD_REP_ACK (1) to NBD_OPT_STRUCTURED_REPLY (8), length 0' "$tmp/out"; then
    assert_grep -x -E '<- NBD_REP_ERR_UNSUP \(0x80000001\) to NBD_OPT_STRUCTURED_REPLY \(8\), length [0-9]+: message ".+"' "$tmp/out"
fi
assert_grep -x -E '<- NBD_REP_ERR_UNSUP \(0x80000001\) to NBD_OPT_PEEK_EXPORT \(4\), length [0-9]+: message ".+"' "$tmp/out"

# export-name: NO_ZEROES, with the padding, and refused.
expect_status 0 "$NBDCLI" "$sock" -t 5 -c 'export-name alpha; assert phase transmission; assert size 1048576'
assert_grep -x -F -e '-> NBD_OPT_EXPORT_NAME (1), length 5: export "alpha"' "$tmp/out"
assert_grep -x -E '<- export size 1048576 \(1 MiB\), flags 0x[0-9a-f]{4} \(HAS_FLAGS( [A-Z_]+)*\), no padding \(NO_ZEROES\)' "$tmp/out"
expect_status 0 "$NBDCLI" --client-flags 1 "$sock" -t 5 -c 'export-name beta; assert tflag READ_ONLY'
assert_grep -x -F -e '-> client flags 0x00000001 (C_FIXED_NEWSTYLE)' "$tmp/out"
assert_grep -x -E '<- export size 2097152 \(2 MiB\), flags 0x[0-9a-f]{4} \(HAS_FLAGS READ_ONLY( [A-Z_]+)*\), 124 bytes of padding' "$tmp/out"
expect_status 0 "$NBDCLI" "$sock" -t 5 -c 'export-name no-such; assert not connected'
assert_grep -x -F 'connection closed (export refused)' "$tmp/out"

# abort: nbd-server may close without the ACK (the spec allows it).
expect_status 0 "$NBDCLI" "$sock" -t 5 -c 'abort; assert not connected'
assert_grep -x -F -e '-> NBD_OPT_ABORT (2), length 0' "$tmp/out"
assert_grep -x -F 'connection closed (aborted)' "$tmp/out"
assert_not_grep '^FLAG' "$tmp/out"

# ---------------------------------------------------------------------
# The same server on a free TCP port on loopback.
port=$(free_port)
cat >"$tmp/tcp.conf" <<EOF
[generic]
allowlist = true
port = $port
listenaddr = 127.0.0.1
[alpha]
exportname = $tmp/alpha.img
EOF
start_nbd_server tcp
wait_for_port "$port"
expect_status 0 "$NBDCLI" "nbd://127.0.0.1:$port/alpha" -t 5 -c 'list; go; state'
assert_grep -x -F "connected to 127.0.0.1:$port" "$tmp/out"
assert_grep -x -F '<- NBD_REP_SERVER (2) to NBD_OPT_LIST (3), length 9: export "alpha"' "$tmp/out"
assert_grep -x 'export: *"alpha", size 1048576 (1 MiB)' "$tmp/out"

# Transmission: nbd-server has no structured replies (sr gets
# NBD_REP_ERR_UNSUP), so every reply is a simple one; the data written
# reads back.
expect_status 0 "$NBDCLI" "nbd+unix:///alpha?socket=$sock" -t 5 \
    -c 'sr; go; write 0 "nbd-server"; read 0 10; flush; read 1M 512 --force; disc'
assert_grep -F '<- simple reply, cookie 1, error 0' "$tmp/out"
assert_grep -F '<- simple reply, cookie 2, error 0' "$tmp/out"
assert_grep -F '|nbd-server|' "$tmp/out"
assert_grep -E '<- simple reply, cookie 4, error [0-9]+ \(NBD_E[A-Z]+\)' "$tmp/out"
assert_not_grep -F 'structured chunk' "$tmp/out"
assert_not_grep '^FLAG ' "$tmp/out"
