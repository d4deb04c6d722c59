#!/usr/bin/env bash
# Transmission phase against nbdkit: the issue's sequence, data written
# and read back, holes, block status, error replies from the error
# filter, big reads split by the maximum payload, a read to a file.
. "${srcdir:-tests}/functions.sh"
set -e
set -x

requires nbdkit --version
requires nbdkit memory --version
requires nbdkit --filter=error memory --version

sock=$tmp/sock
start_bg pid nbdkit -f -U "$sock" memory 1M
wait_for_socket "$sock"
uri="nbd+unix:///?socket=$sock"

# The issue's "done when" sequence: every reply decoded, read returns
# hello, exit 0.
expect_status 0 $NBDCLI "$uri" -c 'sr; smc base:allocation; go; write 0 "hello"; read 0 5; block-status 0 1M; trim 4k 4k; flush; disc'
out=$tmp/out
assert_grep -F -- '-> NBD_CMD_WRITE (1), flags 0x0000 (none), cookie 1, offset 0, length 5' $out
assert_grep -F '<- simple reply, cookie 1, error 0' $out
assert_grep -F '<- structured chunk NBD_REPLY_TYPE_OFFSET_DATA (1), flags 0x0001 (DONE), cookie 2, length 13' $out
assert_grep -F '00000000  68 65 6c 6c 6f' $out
assert_grep -F '|hello|' $out
assert_grep -F 'block status for context id 1 (base:allocation)' $out
assert_grep -E '\+0 +length [0-9]+ +flags 0x0 \(data\)' $out
assert_grep -F 'flags 0x3 (hole, reads as zeroes)' $out
assert_grep -F -- '-> NBD_CMD_TRIM (4)' $out
assert_grep -F -- '-> NBD_CMD_FLUSH (3)' $out
assert_grep -F -- '-> NBD_CMD_DISC (2)' $out
assert_grep -F 'connection closed (disconnected (NBD_CMD_DISC))' $out
assert_not_grep '^FLAG ' $out

# Without structured replies: simple replies carry the data.
expect_status 0 $NBDCLI "$uri" -c 'go; write 512 de ad be ef; read 512 4; zero 512 4 --no-hole; read 512 4; cache 0 4k'
assert_grep -F '<- simple reply, cookie 2, error 0' $out
assert_grep -F '00000200  de ad be ef' $out
assert_grep -F -- '-> NBD_CMD_WRITE_ZEROES (6), flags 0x0002 (NO_HOLE)' $out
assert_grep -F '00000200  00 00 00 00' $out
assert_grep -F -- '-> NBD_CMD_CACHE (5)' $out
assert_not_grep '^FLAG ' $out

# A read past the end sent on purpose (--force): an error reply is a
# result, not a failure.
expect_status 0 $NBDCLI "$uri" -c 'sr; go; read 1M 512 --force'
assert_grep -E 'error (22 \(NBD_EINVAL\)|[0-9]+ \(NBD_E)' $out

# Big reads are split by the maximum payload; --out streams to a file.
expect_status 0 $NBDCLI "$uri" -c "sr; go --block-size; write 0 --pattern 0x41 --length 1M; read 0 1M --out $tmp/data"
test "$(stat -c %s "$tmp/data")" = 1048576
test "$(tr -d A < "$tmp/data" | wc -c)" = 0
assert_grep -F '(to the file)' $out

# --single refuses nothing but sends one request of the whole length.
expect_status 0 $NBDCLI "$uri" -c 'go; read 0 64k --single --out /dev/null'
test "$(grep -c -- '-> NBD_CMD_READ' $out)" = 1

# The error filter makes the server fail requests with a chosen error.
sock2=$tmp/sock2
start_bg pid2 nbdkit -f -U "$sock2" --filter=error memory 1M error=EIO error-pread-rate=100%
wait_for_socket "$sock2"
expect_status 0 $NBDCLI "nbd+unix:///?socket=$sock2" -c 'sr; go; read 0 512'
assert_grep -F 'NBD_REPLY_TYPE_ERROR' $out
assert_grep -F 'error 5 (NBD_EIO)' $out
expect_status 0 $NBDCLI "nbd+unix:///?socket=$sock2" -c 'go; read 0 512'
assert_grep -F '<- simple reply, cookie 1, error 5 (NBD_EIO)' $out
assert_not_grep '^FLAG ' $out

# Commands only in transmission: a clear error in option haggling.
expect_status 1 $NBDCLI "$uri" -c 'read 0 1'
assert_grep -F 'only in the transmission phase' $out
