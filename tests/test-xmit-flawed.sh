#!/usr/bin/env bash
# Transmission against the flawed server without faults: every reply
# form (simple, structured, extended) and chunk type it sends, decoded,
# with no flag.
. "${srcdir:-tests}/functions.sh"
set -e
set -x

test -x "$FLAWED" || fail "no flawed server at $FLAWED"
out=$tmp/out

# Extended headers: 64-bit requests and extended reply chunks.
expect_status 0 $NBDCLI [ "$FLAWED" ] -c 'eh; smc base:allocation; go; write 0 "ext"; read 0 8; read 64k 4k; block-status 0 128k; read 2M 512 --force; disc'
assert_grep -F -- '-> NBD_CMD_WRITE (1), flags 0x0020 (PAYLOAD_LEN), cookie 1, offset 0, length 3' $out
assert_grep -F '<- extended chunk NBD_REPLY_TYPE_NONE (0), flags 0x0001 (DONE), cookie 1, offset 0, length 0' $out
assert_grep -F '<- extended chunk NBD_REPLY_TYPE_OFFSET_DATA (1), flags 0x0001 (DONE), cookie 2, offset 0, length 16' $out
assert_grep -F '|ext' $out
assert_grep -F '<- extended chunk NBD_REPLY_TYPE_OFFSET_HOLE (2)' $out
assert_grep -F 'hole: 4096 bytes of zeroes at offset 65536' $out
assert_grep -F '<- extended chunk NBD_REPLY_TYPE_BLOCK_STATUS_EXT (6)' $out
assert_grep -E '\+65536 +length 65536 +flags 0x3 \(hole, reads as zeroes\)' $out
assert_grep -F '<- extended chunk NBD_REPLY_TYPE_ERROR (32769)' $out
assert_grep -E 'error 22 \(NBD_EINVAL\): "request out of range"' $out
assert_not_grep '^FLAG ' $out

# The trace decodes the extended request and reply headers.
expect_status 0 $NBDCLI --trace [ "$FLAWED" ] -c 'eh; go; read 0 16'
assert_grep -F 'C->S extended request, 32 bytes' $out
assert_grep -E '^ +24 +8  length +16$' $out
assert_grep -F 'S->C extended reply chunk' $out
assert_grep -E 'offset +0 +\(echo of the request\)' $out

# Structured replies: data and holes in one read, DF gives one chunk.
expect_status 0 $NBDCLI [ "$FLAWED" ] -c 'sr; go; read 60k 8k; read 60k 8k --df'
assert_grep -F '<- structured chunk NBD_REPLY_TYPE_OFFSET_DATA (1), flags 0x0000 (none)' $out
assert_grep -F '<- structured chunk NBD_REPLY_TYPE_OFFSET_HOLE (2), flags 0x0001 (DONE)' $out
assert_grep -F -- '-> NBD_CMD_READ (0), flags 0x0004 (DF)' $out
test "$(grep -c 'structured chunk' $out)" = 3
assert_not_grep '^FLAG ' $out

# Simple replies with an error, and the JSON of a chunk.
expect_status 0 $NBDCLI [ "$FLAWED" ] -c 'go; read 2M 512 --force'
assert_grep -F '<- simple reply, cookie 1, error 22 (NBD_EINVAL)' $out
expect_status 0 $NBDCLI --json [ "$FLAWED" ] -c 'eh; go; read 0 4'
assert_grep -F '"message":"extended_chunk"' $out
assert_grep -F '"event":"data","offset":0,"length":4,"data_hex":"' $out

# A long read goes in 4 MiB pieces and lands whole in the file; with
# --single, a length above the maximum payload the server announced
# (32 MiB) is refused with a clear message and nothing is sent.
expect_status 0 $NBDCLI [ "$FLAWED" --size 64M ] -c "sr; go --block-size; read 0 10M --out $tmp/data"
test "$(grep -c -- '-> NBD_CMD_READ' $out)" = 3
assert_grep -F -- '-> NBD_CMD_READ (0), flags 0x0000 (none), cookie 3, offset 8388608, length 2097152' $out
test "$(stat -c %s "$tmp/data")" = 10485760
expect_status 1 $NBDCLI [ "$FLAWED" --size 64M ] -c "sr; go --block-size; read 0 40M --single --out /dev/null"
assert_grep -F 'exceed the export'"'"'s maximum payload of 33554432 bytes (32 MiB): without --single the request is split' $out
assert_not_grep -F -- '-> NBD_CMD_READ' $out
expect_status 0 $NBDCLI [ "$FLAWED" --size 64M ] -c "sr; go; read 0 32M --single --out /dev/null"
test "$(grep -c -- '-> NBD_CMD_READ (0), flags 0x0000 (none), cookie 1, offset 0, length 33554432' $out)" = 1
