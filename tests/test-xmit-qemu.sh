#!/usr/bin/env bash
# Transmission phase against qemu-nbd: a qcow2 image with data, a dirty
# bitmap and allocation depth; block status names each context's extents.
. "${srcdir:-tests}/functions.sh"
set -e
set -x

requires qemu-nbd --version
requires qemu-img --version
requires qemu-io --version

img=$tmp/img.qcow2
qemu-img create -q -f qcow2 "$img" 1M
qemu-img bitmap --add "$img" bm0
qemu-io -f qcow2 -c 'write -P 0x55 64k 64k' "$img" >/dev/null

sock=$tmp/sock
start_bg pid qemu-nbd -t -k "$sock" -f qcow2 -B bm0 -A -x disk "$img"
wait_for_socket "$sock"
uri="nbd+unix:///disk?socket=$sock"

expect_status 0 $NBDCLI "$uri" -c 'sr; smc base:allocation qemu:dirty-bitmap:bm0 qemu:allocation-depth; go; block-status 0 1M; read 64k 16; block-status 0 1M --req-one; disc'
out=$tmp/out
assert_grep -E 'block status for context id [0-9]+ \(qemu:dirty-bitmap:bm0\), 3 extents' $out
assert_grep -E '\+65536 +length 65536 +flags 0x1 \(dirty\)' $out
assert_grep -E '\+0 +length 65536 +flags 0x0 \(clean\)' $out
assert_grep -E '\+65536 +length 65536 +flags 0x1 \(allocated in this image\)' $out
assert_grep -E '\+0 +length 65536 +flags 0x0 \(unallocated\)' $out
assert_grep -E '\+65536 +length 65536 +flags 0x0 \(data\)' $out
assert_grep -F '|UUUUUUUUUUUUUUUU|' $out
# With REQ_ONE each context answers with exactly one extent.
test "$(grep -c 'context id [0-9]* (.*), 1 extent:' $out)" = 3
assert_not_grep '^FLAG ' $out

# Block status without any context selected: the server answers with an
# error, which is shown, and nbdcli does not flag a conforming server.
expect_status 0 $NBDCLI "$uri" -c 'sr; go; block-status 0 4k'
assert_grep -E 'error [0-9]+ \(NBD_E' $out
assert_not_grep '^FLAG ' $out

# Writes and zeroes go through and read back.
expect_status 0 $NBDCLI "$uri" -c 'sr; go; write 4k "qemu"; read 4k 4; zero 4k 4k; read 4k 4'
assert_grep -F '|qemu|' $out
assert_grep -F '00001000  00 00 00 00' $out
assert_not_grep '^FLAG ' $out
