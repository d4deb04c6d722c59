#!/usr/bin/env bash
# test-qemu-modern.sh: a real server with extended headers.  qemu-nbd
# 8.2 and later offer them (Debian 12: scripts/install-deps --modern
# installs qemu 10 from bookworm-backports; CI does).  Against it:
#  - an extended-header session: a write (PAYLOAD_LEN), a read back,
#    BLOCK_STATUS_EXT for base:allocation, qemu:allocation-depth and a
#    dirty bitmap, block-status payload filtering (only the context
#    named; a duplicate id gets NBD_EINVAL with the payload consumed,
#    so the next request works), every reply extended, no flag;
#  - the whole audit, plain and with TLS: the extended-header probes
#    pass, and no FLAG; the one WARN with TLS is qemu's ABORT before
#    TLS (see test-check-real.sh).

# shellcheck source=tests/functions.sh
. "${srcdir:-tests}/functions.sh"
# shellcheck source=tests/check-functions.sh
. "${srcdir:-tests}/check-functions.sh"
set -e
set -x

requires qemu-nbd --version
requires qemu-img --version
v=$(qemu-nbd --version | sed -n 's/^qemu-nbd \([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
read -r major minor <<<"$v"
if [ -z "$major" ] || [ "$major" -lt 8 ] || { [ "$major" = 8 ] && [ "$minor" -lt 2 ]; }; then
    skip "qemu-nbd $major.$minor has no extended headers (scripts/install-deps --modern)"
fi

img=$tmp/disk.qcow2
qemu-img create -q -f qcow2 "$img" 1M
qemu-img bitmap --add "$img" b0
sock=$tmp/qemu.sock
start_bg qpid qemu-nbd -k "$sock" -f qcow2 -A -B b0 -e 8 -t "$img"
wait_for_socket "$sock"
u="nbd+unix:///?socket=$sock"

expect_status 0 "$NBDCLI" -t 10 "$u" -c 'eh; smc base:allocation qemu:allocation-depth qemu:dirty-bitmap:b0; go; write 0 "hello"; read 0 5; block-status 0 1M; cmd BLOCK_STATUS 0 12 --flags 0x20 0000000000100000 00000002; cmd BLOCK_STATUS 0 16 --flags 0x20 0000000000100000 00000002 00000002; read 0 5; assert flags 0'
o=$tmp/out
assert_grep -F '<- NBD_REP_ACK (1) to NBD_OPT_EXTENDED_HEADERS (11)' "$o"
assert_grep -F -- '-> NBD_CMD_WRITE (1), flags 0x0020 (PAYLOAD_LEN)' "$o"
assert_not_grep -E '^<- (simple reply|structured chunk)' "$o"
assert_grep -E '^<- extended chunk NBD_REPLY_TYPE_OFFSET_DATA .*offset 0, length 13$' "$o"
assert_grep -F '|hello|' "$o"
for c in 'context id 0 (base:allocation)' 'context id 1 (qemu:allocation-depth)' \
         'context id 2 (qemu:dirty-bitmap:b0)'; do
    assert_grep -F "block status for $c" "$o"
done
assert_grep -F 'flags 0x1 (allocated in this image)' "$o"
assert_grep -F 'flags 0x1 (dirty)' "$o"
# The filtered request: exactly one chunk, for id 2 (cookie 4).
[ "$(grep -c 'BLOCK_STATUS_EXT (6), flags 0x0001 (DONE), cookie 4,' "$o")" = 1 ] ||
    { _show "$o"; fail "payload filtering: not one chunk for cookie 4"; }
grep -A1 'cookie 4, offset 0' "$o" | assert_grep -F 'context id 2 (qemu:dirty-bitmap:b0)' /dev/stdin
# A duplicate id: NBD_EINVAL, and the READ after it still parses.
assert_grep -E 'cookie 5, .*' "$o"
assert_grep -F 'error 22 (NBD_EINVAL)' "$o"
[ "$(grep -c '|hello|' "$o")" = 2 ] || { _show "$o"; fail "the read after the filtered requests"; }
assert_not_grep '^FLAG' "$o"

# The audit, plain: the extended-header probes pass, nothing flagged.
audit qemu-plain 0 check "$u"
assert_grep -E '^check .*; extended headers offered$' "$out"
expect_rows "$out" PASS eh-sr-after eh-replies eh-block-status sr-read
expect_set "$out" FLAG
expect_set "$out" WARN
expect_set "$out" ERROR
kill_pid "$qpid"

# The audit with TLS (X.509, client certificates verified).
pki=$tmp/pki
make_pki "$pki"
tsock=$tmp/qemu-tls.sock
start_bg tpid qemu-nbd -k "$tsock" -f qcow2 -A -B b0 -e 8 -t \
    --object "tls-creds-x509,id=tls0,dir=$pki,endpoint=server,verify-peer=on" \
    --tls-creds tls0 "$img"
wait_for_socket "$tsock"
audit qemu-tls 0 check "nbds+unix:///?socket=$tsock&tls-certificates=$pki"
assert_grep -E '^check .*: TLS mode forced \(FORCEDTLS\), TLS usable;.* extended headers offered$' "$out"
expect_rows "$out" PASS eh-sr-after eh-replies eh-block-status
expect_set "$out" FLAG
# qemu answers NBD_OPT_ABORT before TLS with NBD_REP_ERR_TLS_REQD; the
# spec says a FORCEDTLS server errors every option but STARTTLS, and
# that ABORT MUST get an ACK: WARN, as for qemu 7.2.
expect_set "$out" WARN forced-abort
expect_set "$out" ERROR
kill_pid "$tpid"
echo "qemu-nbd $major.$minor: extended headers session and audit"
