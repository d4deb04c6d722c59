#!/usr/bin/env bash
# test-qemu-nbd.sh: nbdcli against qemu-nbd: a named export with a
# description, qemu:allocation-depth (-A) and a dirty bitmap (-B) as
# meta contexts, the server's error messages, export-name, and a
# read-only export over TCP.

# The *_pid variables are set by start_bg.
# shellcheck disable=SC2154
# shellcheck source=tests/functions.sh
. "${srcdir:-tests}/functions.sh"
set -e
set -x

requires qemu-nbd --version
requires qemu-img --version

img=$tmp/disk.qcow2
qemu-img create -f qcow2 "$img" 1M >"$tmp/qemu-img.log" 2>&1 ||
    { _show "$tmp/qemu-img.log"; fail "qemu-img create failed"; }
# qemu-img bitmap appeared in QEMU 5.2.
qemu-img bitmap --add "$img" bm0 >>"$tmp/qemu-img.log" 2>&1 ||
    skip "qemu-img bitmap --add is not supported"

# -t: persistent, several connections one after the other.
sock=$tmp/qemu.sock
start_bg qemu_pid qemu-nbd -t -k "$sock" -x disk -D 'qemu test disk' \
    -A -B bm0 -f qcow2 "$img" >"$tmp/qemu-nbd.log" 2>&1
wait_for_socket "$sock"
uri="nbd+unix:///disk?socket=$sock"

# ---------------------------------------------------------------------
# list, info with every request, the meta contexts qemu offers, go.
expect_status 0 "$NBDCLI" "$uri" -t 5 \
    -c 'list; info --all; sr; lmc qemu:; lmc' \
    -c 'smc qemu:allocation-depth qemu:dirty-bitmap:bm0 base:allocation' \
    -c 'go; state' \
    -c 'assert context qemu:allocation-depth; assert context qemu:dirty-bitmap:bm0' \
    -c 'assert context base:allocation; assert phase transmission; assert flags 0'
out=$tmp/main.out
mv "$tmp/out" "$out"
assert_grep -x -F '<- NBD_REP_SERVER (2) to NBD_OPT_LIST (3), length 22: export "disk", description "qemu test disk"' "$out"
assert_grep -x -F -e '-> NBD_OPT_INFO (6), length 16: export "disk", 3 info requests: NBD_INFO_NAME NBD_INFO_DESCRIPTION NBD_INFO_BLOCK_SIZE' "$out"
assert_grep -x -F '<- NBD_REP_INFO (3) to NBD_OPT_INFO (6), length 6: NBD_INFO_NAME (1): "disk"' "$out"
assert_grep -x -F '<- NBD_REP_INFO (3) to NBD_OPT_INFO (6), length 16: NBD_INFO_DESCRIPTION (2): "qemu test disk"' "$out"
assert_grep -x -E '<- NBD_REP_INFO \(3\) to NBD_OPT_INFO \(6\), length 14: NBD_INFO_BLOCK_SIZE \(3\): minimum [0-9]+, preferred [0-9]+, maximum [0-9]+' "$out"
assert_grep -x -E '<- NBD_REP_INFO \(3\) to NBD_OPT_INFO \(6\), length 12: NBD_INFO_EXPORT \(0\): size 1048576 \(1 MiB\), flags 0x[0-9a-f]{4} \(HAS_FLAGS .*\)' "$out"
# lmc qemu: lists both qemu contexts, and lmc with no query adds
# base:allocation.
assert_grep -x -F -e '-> NBD_OPT_LIST_META_CONTEXT (9), length 21: export "disk", 1 query: "qemu:"' "$out"
assert_grep -x -F '<- NBD_REP_META_CONTEXT (4) to NBD_OPT_LIST_META_CONTEXT (9), length 25: id 0, "qemu:allocation-depth"' "$out"
assert_grep -x -F '<- NBD_REP_META_CONTEXT (4) to NBD_OPT_LIST_META_CONTEXT (9), length 25: id 0, "qemu:dirty-bitmap:bm0"' "$out"
assert_grep -x -F -e '-> NBD_OPT_LIST_META_CONTEXT (9), length 12: export "disk", 0 queries' "$out"
assert_grep -x -F '<- NBD_REP_META_CONTEXT (4) to NBD_OPT_LIST_META_CONTEXT (9), length 19: id 0, "base:allocation"' "$out"
# smc: an id for each, and state lists the same ids.
assert_grep -x -F -e '-> NBD_OPT_SET_META_CONTEXT (10), length 81: export "disk", 3 queries: "qemu:allocation-depth" "qemu:dirty-bitmap:bm0" "base:allocation"' "$out"
for ctx in qemu:allocation-depth qemu:dirty-bitmap:bm0 base:allocation; do
    id=$(sed -n "s/^<- NBD_REP_META_CONTEXT (4) to NBD_OPT_SET_META_CONTEXT (10), length [0-9]*: id \([0-9]*\), \"$ctx\"\$/\1/p" "$out")
    [ -n "$id" ] || fail "no id for $ctx in the smc replies"
    assert_grep -x -F "  id $id: $ctx" "$out"
done
assert_grep -x 'meta contexts: *3 for export "disk"' "$out"
assert_grep -x 'phase: *transmission' "$out"
assert_grep -x 'export: *"disk", size 1048576 (1 MiB)' "$out"

# A second SET replaces the first: only the dirty bitmap is left.
expect_status 0 "$NBDCLI" "$uri" -t 5 \
    -c 'sr; smc qemu:allocation-depth base:allocation; smc qemu:dirty-bitmap:bm0; state' \
    -c 'assert context qemu:dirty-bitmap:bm0; assert not context base:allocation' \
    -c 'assert not context qemu:allocation-depth'
assert_grep -x 'meta contexts: *1 for export "disk"' "$tmp/out"

# ---------------------------------------------------------------------
# qemu-nbd's error replies carry a message: nbdcli shows it.
expect_status 0 "$NBDCLI" "$uri" -t 5 \
    -c 'info no-such; assert reply NBD_REP_ERR_UNKNOWN; go no-such; assert reply NBD_REP_ERR_UNKNOWN' \
    -c 'smc base:allocation; assert reply NBD_REP_ERR_INVALID; assert phase negotiating' \
    -c 'lmc --export no-such base:; opt 4; eh'
out=$tmp/errors.out
mv "$tmp/out" "$out"
assert_grep -x -F "<- NBD_REP_ERR_UNKNOWN (0x80000006) to NBD_OPT_INFO (6), length 28: message \"export 'no-such' not present\"" "$out"
assert_grep -x -F "<- NBD_REP_ERR_UNKNOWN (0x80000006) to NBD_OPT_GO (7), length 28: message \"export 'no-such' not present\"" "$out"
assert_grep -x -F "<- NBD_REP_ERR_UNKNOWN (0x80000006) to NBD_OPT_LIST_META_CONTEXT (9), length 28: message \"export 'no-such' not present\"" "$out"
# SET_META_CONTEXT without structured replies.
assert_grep -x -E '<- NBD_REP_ERR_INVALID \(0x80000003\) to NBD_OPT_SET_META_CONTEXT \(10\), length [0-9]+: message ".*structured reply.*"' "$out"
assert_grep -x -E '<- NBD_REP_ERR_UNSUP \(0x80000001\) to NBD_OPT_PEEK_EXPORT \(4\), length [0-9]+: message ".+"' "$out"
# Extended headers: QEMU 8.2 and later accept them.
if ! grep -q -x -F '<- NBD_REP_ACK (1) to NBD_OPT_EXTENDED_HEADERS (11), length 0' "$out"; then
    assert_grep -x -E '<- NBD_REP_ERR_UNSUP \(0x80000001\) to NBD_OPT_EXTENDED_HEADERS \(11\), length [0-9]+: message ".+"' "$out"
fi

# ---------------------------------------------------------------------
# export-name: the export by its name (the URI's), and a refusal.
expect_status 0 "$NBDCLI" "$uri" -t 5 -c 'export-name; assert phase transmission; assert size 1048576'
assert_grep -x -F -e '-> NBD_OPT_EXPORT_NAME (1), length 4: export "disk"' "$tmp/out"
assert_grep -x -E '<- export size 1048576 \(1 MiB\), flags 0x[0-9a-f]{4} \(HAS_FLAGS .*\), no padding \(NO_ZEROES\)' "$tmp/out"
expect_status 0 "$NBDCLI" --client-flags 1 "$uri" -t 5 -c 'export-name disk'
assert_grep -E '^<- export size 1048576 .*, 124 bytes of padding$' "$tmp/out"
expect_status 0 "$NBDCLI" "$uri" -t 5 -c 'export-name no-such; assert not connected'
assert_grep -x -F 'connection closed (export refused)' "$tmp/out"

# abort is acknowledged.
expect_status 0 "$NBDCLI" "$uri" -t 5 -c 'abort; assert not connected'
assert_grep -x -F '<- NBD_REP_ACK (1) to NBD_OPT_ABORT (2), length 0' "$tmp/out"

# ---------------------------------------------------------------------
# A read-only raw export on a free TCP port.
raw=$tmp/disk.raw
truncate -s 2M "$raw"
port=$(free_port)
start_bg qemu2_pid qemu-nbd -t -b 127.0.0.1 -p "$port" -x ro -r -f raw "$raw" \
    >"$tmp/qemu-nbd2.log" 2>&1
wait_for_port "$port"
expect_status 0 "$NBDCLI" "nbd://127.0.0.1:$port/ro" -t 5 \
    -c 'list; go; state; assert tflag READ_ONLY; assert size 2097152'
assert_grep -x -F "connected to 127.0.0.1:$port" "$tmp/out"
assert_grep -x -F '<- NBD_REP_SERVER (2) to NBD_OPT_LIST (3), length 6: export "ro"' "$tmp/out"
assert_grep -x -E '<- NBD_REP_INFO \(3\) to NBD_OPT_GO \(7\), length 12: NBD_INFO_EXPORT \(0\): size 2097152 \(2 MiB\), flags 0x[0-9a-f]{4} \(HAS_FLAGS READ_ONLY.*\)' "$tmp/out"
assert_grep -x 'export: *"ro", size 2097152 (2 MiB)' "$tmp/out"

kill -0 "$qemu_pid" || fail "qemu-nbd died"
kill -0 "$qemu2_pid" || fail "qemu-nbd (TCP) died"
