#!/usr/bin/env bash
# test-greetings.sh: the greetings nbdcli must understand or reject
# clearly, from the flawed test server's greeting variants: oldstyle,
# garbage, truncated, newstyle without FIXED_NEWSTYLE; and client flags
# the server refuses.

# shellcheck source=tests/functions.sh
. "${srcdir:-tests}/functions.sh"
set -e
set -x

requires "$FLAWED" --list-faults

# assert_no_flag FILE: no FLAG line.
assert_no_flag ()
{
    assert_not_grep '^FLAG ' "$1"
}

# ---------------------------------------------------------------------
# Oldstyle: straight into transmission, simple replies.
expect_status 0 "$NBDCLI" -t 5 [ "$FLAWED" --oldstyle ] \
    -c 'state; read 0 16; disc'
assert_grep -x -F '<- greeting: oldstyle, export size 1048576 (1 MiB), flags 0x0c6d (HAS_FLAGS SEND_FLUSH SEND_FUA SEND_TRIM SEND_WRITE_ZEROES SEND_CACHE SEND_FAST_ZERO)' "$tmp/out"
assert_grep -x -F 'phase:              transmission' "$tmp/out"
assert_grep -x -F 'greeting:           oldstyle' "$tmp/out"
assert_grep -x -F 'structured replies: no' "$tmp/out"
# No client flags are sent to an oldstyle server.
assert_not_grep -F -e '-> client flags' "$tmp/out"
assert_grep -x -F -e '-> NBD_CMD_READ (0), flags 0x0000 (none), cookie 1, offset 0, length 16' "$tmp/out"
assert_grep -x -F '<- simple reply, cookie 1, error 0' "$tmp/out"
assert_grep -F '00000000  01 02 03 04 05 06 07 08  09 0a 0b 0c 0d 0e 0f 10' "$tmp/out"
assert_grep -F 'connection closed (disconnected (NBD_CMD_DISC))' "$tmp/out"
assert_no_flag "$tmp/out"

# Options make no sense in transmission: a failed command, not a flag.
expect_status 1 "$NBDCLI" -t 5 [ "$FLAWED" --oldstyle ] -c 'list'
assert_grep -F 'the session is in transmission' "$tmp/out"
assert_not_grep -F -e '-> NBD_OPT_LIST' "$tmp/out"
assert_no_flag "$tmp/out"

# ---------------------------------------------------------------------
# Garbage instead of NBDMAGIC: a clear error naming NBDMAGIC, exit 1.
expect_status 1 "$NBDCLI" -t 5 [ "$FLAWED" --greeting=garbage ] -c 'list'
assert_grep -F 'not an NBD server' "$tmp/out"
assert_grep -F 'NBDMAGIC' "$tmp/out"
assert_grep -F '9c3e51d708b26fe4' "$tmp/out"
assert_not_grep -F -e '-> NBD_OPT_LIST' "$tmp/out"
assert_no_flag "$tmp/out"
# The same from a script on stdin (no -c).
st=0
"$NBDCLI" -t 5 [ "$FLAWED" --greeting=garbage ] >"$tmp/out" 2>&1 <<<'list' || st=$?
[ "$st" = 1 ] || { _show "$tmp/out"; fail "garbage greeting, script on stdin: status $st, expected 1"; }
assert_grep -F 'NBDMAGIC' "$tmp/out"

# ---------------------------------------------------------------------
# Truncated greeting: the server closed after 10 bytes.
expect_status 1 "$NBDCLI" -t 5 [ "$FLAWED" --greeting=truncated ] -c 'list'
assert_grep -F 'the server closed the connection after 10 bytes' "$tmp/out"
assert_not_grep -F -e '-> NBD_OPT_LIST' "$tmp/out"
assert_no_flag "$tmp/out"

# ---------------------------------------------------------------------
# Newstyle without FIXED_NEWSTYLE.  The server advertises NO_ZEROES
# (0x0002), so nbdcli's derived client flags are C_NO_ZEROES alone:
# no C_FIXED_NEWSTYLE, and no padding after the EXPORT_NAME reply.
expect_status 0 "$NBDCLI" -t 5 [ "$FLAWED" --no-fixed ] \
    -c 'export-name disk; state; read 0 16; disc'
assert_grep -x -F '<- greeting: newstyle, handshake flags 0x0002 (NO_ZEROES)' "$tmp/out"
assert_grep -F 'not fixed newstyle' "$tmp/out"
assert_grep -x -F -e '-> client flags 0x00000002 (C_NO_ZEROES)' "$tmp/out"
assert_grep -x -F -e '-> NBD_OPT_EXPORT_NAME (1), length 4: export "disk"' "$tmp/out"
assert_grep -E '^<- export size 1048576 \(1 MiB\), flags 0x0c6d .*, no padding \(NO_ZEROES\)$' "$tmp/out"
assert_grep -x -F 'phase:              transmission' "$tmp/out"
assert_grep -x -F 'export:             "disk", size 1048576 (1 MiB)' "$tmp/out"
assert_grep -x -F '<- simple reply, cookie 1, error 0' "$tmp/out"
assert_no_flag "$tmp/out"

# With client flags 0 the reply is 134 bytes: size, flags, 124 zeroes.
expect_status 0 "$NBDCLI" -t 5 --trace --client-flags 0 \
    [ "$FLAWED" --no-fixed ] -c 'export-name disk; read 0 16; disc'
assert_grep -x -F -e '-> client flags 0x00000000 (none)' "$tmp/out"
assert_grep -E '^<- export size 1048576 \(1 MiB\), flags 0x0c6d .*, 124 bytes of padding$' "$tmp/out"
assert_grep -F 'S->C export name reply, 134 bytes' "$tmp/out"
assert_grep -x -F '<- simple reply, cookie 1, error 0' "$tmp/out"
assert_no_flag "$tmp/out"

# Any other option closes the connection (allowed for a server that is
# not fixed newstyle): reported, exit 1, no flag.
expect_status 1 "$NBDCLI" -t 5 [ "$FLAWED" --no-fixed ] -c 'list'
assert_grep -F 'the server closed the connection' "$tmp/out"
assert_no_flag "$tmp/out"

# ---------------------------------------------------------------------
# Unknown client flags: the (correct) server drops the connection.
expect_status 1 "$NBDCLI" -t 5 --client-flags 0x4 [ "$FLAWED" ] -c 'list'
assert_grep -x -F -e '-> client flags 0x00000004 (unknown-bit-2)' "$tmp/out"
assert_grep -F 'the server closed the connection' "$tmp/out"
assert_no_flag "$tmp/out"
# Also when the close is noticed before the option goes out.
expect_status 1 "$NBDCLI" -t 5 --client-flags 0x4 [ "$FLAWED" ] \
    -c 'sleep 0.2; list'
assert_grep -F 'the server closed the connection' "$tmp/out"
assert_no_flag "$tmp/out"

# C_FIXED_NEWSTYLE to a server that did not advertise it: dropped too.
# Whether the close is seen before the option goes out (an error, exit
# 1) or as the answer to it (a refused export, exit 0) depends on timing.
st=0
"$NBDCLI" -t 5 --client-flags 1 [ "$FLAWED" --no-fixed ] \
    -c 'export-name disk' >"$tmp/out" 2>&1 </dev/null || st=$?
case $st in
0) assert_grep -F 'the server closed the connection: it refused the export' "$tmp/out" ;;
1) assert_grep -F 'before sending the option: the server closed the connection' "$tmp/out" ;;
*) _show "$tmp/out"; fail "exit status $st, expected 0 or 1" ;;
esac
assert_no_flag "$tmp/out"

# ---------------------------------------------------------------------
# The flag checks also apply to the oldstyle and non-fixed paths:
# SEND_DF without structured replies, in the oldstyle greeting and in
# the EXPORT_NAME reply.
expect_status 3 "$NBDCLI" -t 5 [ "$FLAWED" --oldstyle --fault df-without-sr ] \
    -c 'read 0 16; disc'
assert_grep -E '^FLAG df-without-sr: oldstyle greeting sets NBD_FLAG_SEND_DF' "$tmp/out"
[ "$(grep -c '^FLAG ' "$tmp/out")" = 1 ] || { _show "$tmp/out"; fail "oldstyle df-without-sr: more than one flag"; }
expect_status 3 "$NBDCLI" -t 5 [ "$FLAWED" --no-fixed --fault df-without-sr ] \
    -c 'export-name disk; disc'
assert_grep -E '^FLAG df-without-sr: NBD_OPT_EXPORT_NAME reply sets NBD_FLAG_SEND_DF' "$tmp/out"
[ "$(grep -c '^FLAG ' "$tmp/out")" = 1 ] || { _show "$tmp/out"; fail "no-fixed df-without-sr: more than one flag"; }
