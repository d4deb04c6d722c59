#!/usr/bin/env bash
# Bounds before bytes: with the export's size known, a request that
# ends past it is refused before anything is sent (status 1, the size
# and --force named); --force and `cmd' send it on purpose.  A split
# transfer stops at the first error reply, says where, and fails.
. "${srcdir:-tests}/functions.sh"
set -e
set -x

requires nbdkit memory --version

srv=('[' nbdkit -s memory 1M ']')
for c in 'read 0 5G' 'read 1M 1' 'write 1048575 aa bb' 'trim 0 2M' \
         'zero 1M 1' 'cache 4G 1' 'block-status 512k 1M' \
         'write 1M --pattern 0 --length 1'; do
    session refused 1 "${srv[@]}" -c "sr; smc base:allocation; go; $c; echo not-reached"
    assert_grep -F 'ends past the end of the export (size 1048576, 1 MiB): not sent; --force sends it anyway' "$out"
    assert_not_grep -F -e '-> NBD_CMD_' "$out"
    assert_not_grep 'not-reached' "$out"
done
# Up to the end is fine.
session at-end 0 "${srv[@]}" -c 'go; read 1048575 1; write 1048574 aa bb; zero 0 1M'
assert_not_grep -F 'past the end' "$out"

# --force sends it on purpose: the server's answer stops the split read
# (1280 pieces of 4 MiB were planned); with 8 requests in flight by
# default, at most 8 were sent, and with --inflight 1 exactly one.
session forced 1 "${srv[@]}" -c 'go; read 0 5G --force'
[ "$(grep -c -F -e '-> NBD_CMD_READ' "$out")" -le 8 ] || fail "more than 8 requests sent"
session forced1 1 "${srv[@]}" -c 'go; read 0 5G --force --inflight 1'
[ "$(grep -c -F -e '-> NBD_CMD_READ' "$out")" = 1 ] || fail "more than one request sent"
assert_grep -F 'read: stopped at offset 0: request 1 of 1280 failed with NBD_EINVAL' "$out"
# A single request's error reply is a result (status 0), with --force
# and with `cmd'.
session forced-one 0 "${srv[@]}" -c 'go; read 1M 512 --force; cmd READ 1M 512'
[ "$(grep -c -F 'error 22 (NBD_EINVAL)' "$out")" = 2 ] || fail "expected two EINVAL replies"

# A split transfer that fails part way: 4 MiB pieces over a 9 MiB
# export, the third one ends past it (nbdkit answers a write there
# with NBD_ENOSPC, as the spec allows).
session split 1 [ nbdkit -s memory 9M ] -c 'go; read 0 13M --force; echo not-reached'
[ "$(grep -c -F -e '-> NBD_CMD_READ' "$out")" -ge 3 ] || fail "expected 3 or 4 requests (in flight together)"
assert_grep -F 'read: stopped at offset 8388608: request 3 of 4 failed with NBD_EINVAL' "$out"
assert_not_grep 'not-reached' "$out"
session split-write 1 [ nbdkit -s memory 9M ] -c 'go; write 0 --pattern 0x55 --length 13M --force'
[ "$(grep -c -F -e '-> NBD_CMD_WRITE' "$out")" -ge 3 ] || fail "expected 3 or 4 write requests (in flight together)"
assert_grep -E 'write: stopped at offset 8388608: request 3 of 4 failed with NBD_E(INVAL|NOSPC)' "$out"
