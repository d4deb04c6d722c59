#!/usr/bin/env bash
# test-record-replay.sh: --record and `record FILE|off' write a script
# that nbdcli runs again; --replay runs it against the recorded target
# or another one and compares message by message.  Against nbdkit: the
# same (exit 0); against qemu-nbd: the differences, field by field
# (exit 4); against the flawed server with keep-sr on: the difference
# and its FLAG (exit 4).  A recording of scripts/tour.nbd replays with
# no difference against its own server, and with the differences the
# man page lists against qemu-nbd.

# shellcheck source=tests/functions.sh
. "${srcdir:-tests}/functions.sh"
set -e
set -x

requires nbdkit memory --version
requires qemu-nbd --version
requires qemu-img --version
test -x "$FLAWED" || fail "no flawed server at $FLAWED"
top=$(cd "$srcdir/.." && pwd)
export PATH="$(dirname "$NBDCLI"):$PATH"

img=$tmp/disk.qcow2
qemu-img create -f qcow2 "$img" 1M >"$tmp/qemu-img.log" 2>&1 ||
    { _show "$tmp/qemu-img.log"; fail "qemu-img create failed"; }

# ---------------------------------------------------------------------
# Record against nbdkit.
rec=$tmp/rec.nbd
expect_status 0 "$NBDCLI" -t 5 --record "$rec" [ nbdkit -s memory 64M ] \
    -c 'list; info --all; sr; smc base:allocation; go' \
    -c 'write 0 "hello"; read 0 5; block-status 0 1M; disc'
# The header, each command as typed, each message as text and JSON.
assert_grep -x '# An nbdcli recording.  Run it again with nbdcli -f FILE, or' "$rec"
assert_grep -x "# nbdcli: $("$NBDCLI" --version | cut -d' ' -f2)" "$rec"
assert_grep -E '^# recorded: [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' "$rec"
assert_grep -x -F '# target: [ nbdkit -s memory 64M ]' "$rec"
assert_grep -x -F '# tls: not required, verify peer yes' "$rec"
assert_order "$rec" 'connect [ nbdkit -s memory 64M ]' \
    '# <- greeting: newstyle' '#json {"event":"received","message":"greeting"' \
    'list' '# -> NBD_OPT_LIST (3), length 0' \
    'info --all' 'write 0 "hello"' '# -> NBD_CMD_WRITE (1)' \
    '#json {"event":"sent","message":"request","command":1,' 'disc'
assert_grep -x -F 'write 0 "hello"' "$rec"
# Every #json line is a JSON object with its time.
grep '^#json ' "$rec" | sed 's/^#json //' >"$tmp/rec.json"
[ "$(grep -c '' "$tmp/rec.json")" -ge 20 ] || fail "too few #json lines in $rec"
if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import json, sys
for line in open(sys.argv[1]):
    o = json.loads(line)
    assert "event" in o and "t" in o, line' "$tmp/rec.json" ||
        fail "a #json line of $rec is not a JSON object with event and t"
fi
# nbdcli runs it again as a script.
expect_status 0 "$NBDCLI" -t 5 -f "$rec"
assert_grep -F '|hello|' "$tmp/out"

# Replay against the recorded target: nothing differs.
expect_status 0 "$NBDCLI" -t 5 --replay "$rec"
assert_grep -x -F "replaying $rec (recorded against [ nbdkit -s memory 64M ])" "$tmp/out"
assert_grep -E '^replay: 10 commands, 0 differ; messages: [0-9]+ identical, 0 different, 0 missing, 0 extra$' "$tmp/out"
# Another nbdkit, another size: --ignore size says it is not a difference.
expect_status 4 "$NBDCLI" -t 5 --replay "$rec" [ nbdkit -s memory 1M ]
assert_grep -F '      size: 67108864 -> 1048576' "$tmp/out"
expect_status 0 "$NBDCLI" -t 5 --replay "$rec" --ignore size [ nbdkit -s memory 1M ]
assert_grep -E '^replay: 10 commands, 0 differ; ' "$tmp/out"

# Against qemu-nbd: each difference with its field, old and new value.
expect_status 4 "$NBDCLI" -t 5 --replay "$rec" [ qemu-nbd -f qcow2 "$img" ]
out=$tmp/qemu.out
mv "$tmp/out" "$out"
assert_grep -F "replaying $rec (recorded against [ nbdkit -s memory 64M ]) against [ qemu-nbd -f qcow2 $img ]" "$out"
assert_order "$out" ': info --all' \
    '  different: <- NBD_REP_INFO (3) to NBD_OPT_INFO (6), length 12: NBD_INFO_EXPORT (0): size 67108864' \
    '      size: 67108864 -> 1048576' \
    '  extra:     <- NBD_REP_INFO (3) to NBD_OPT_INFO (6), length 14: NBD_INFO_BLOCK_SIZE (3)'
assert_grep -F '      context_id: 1 -> 0' "$out"
assert_grep -F '  different: block status for context id 1 (base:allocation), 2 extents:' "$out"
assert_grep -E '^replay: 10 commands, [1-9][0-9]* differ; ' "$out"
# --ignore takes event names too: no block status compared.
expect_status 4 "$NBDCLI" -t 5 --replay "$rec" --ignore=block_status,size \
    [ qemu-nbd -f qcow2 "$img" ]
assert_not_grep -F 'block status for' "$tmp/out"
assert_not_grep -F 'size:' "$tmp/out"

# Against the flawed server with keep-sr: SEND_DF after STARTTLS, and
# the FLAG it raises, both shown.  Recorded with TLS against nbdkit.
requires psktool --version
make_psk "$tmp/keys.psk" alice
cred=(--tls-psk "$tmp/keys.psk" --tls-username alice)
tls=$tmp/tls.nbd
expect_status 0 "$NBDCLI" -t 5 "${cred[@]}" --record "$tls" \
    [ nbdkit -s --tls=on --tls-psk="$tmp/keys.psk" memory 1M ] -c 'sr; starttls; info; go'
assert_grep -F "# tls: not required, PSK keys file $tmp/keys.psk, user alice" "$tls"
expect_status 0 "$NBDCLI" -t 5 "${cred[@]}" --replay "$tls"
expect_status 4 "$NBDCLI" -t 5 "${cred[@]}" --replay "$tls" \
    [ "$FLAWED" --fault keep-sr --tls=on --tls-psk "$tmp/keys.psk" ]
out=$tmp/flawed.out
mv "$tmp/out" "$out"
assert_order "$out" ': info' \
    '  different: <- NBD_REP_INFO (3) to NBD_OPT_INFO (6), length 12: NBD_INFO_EXPORT (0)' \
    '"SEND_DF"' \
    '  extra:     FLAG tls-state-kept-sr: NBD_INFO_EXPORT sets NBD_FLAG_SEND_DF'
# Recorded against the flawed server: the same flag again is no
# difference, but the server is still flagged (3).
flawed_rec=$tmp/flawed.nbd
expect_status 3 "$NBDCLI" -t 5 "${cred[@]}" --record "$flawed_rec" \
    [ "$FLAWED" --fault keep-sr --tls=on --tls-psk "$tmp/keys.psk" ] -c 'sr; starttls; info'
assert_grep -F '# FLAG tls-state-kept-sr: ' "$flawed_rec"
assert_grep -F '#json {"event":"flag","id":"tls-state-kept-sr"' "$flawed_rec"
expect_status 3 "$NBDCLI" -t 5 "${cred[@]}" --replay "$flawed_rec"
# ... and the fixed server: the flag is missing, so it differs (4).
expect_status 4 "$NBDCLI" -t 5 "${cred[@]}" --replay "$flawed_rec" \
    [ "$FLAWED" --tls=on --tls-psk "$tmp/keys.psk" ]
assert_grep -F '  missing:   FLAG tls-state-kept-sr: ' "$tmp/out"

# ---------------------------------------------------------------------
# `record FILE' and `record off' in a session; a recording begun in an
# open session replays from a new connection.
mid=$tmp/mid.nbd
expect_status 0 "$NBDCLI" -t 5 [ nbdkit -s memory 1M ] \
    -c "list; record $mid; record; info; record off; record; sr"
assert_grep -x "recording to $mid" "$tmp/out"
assert_grep -x 'not recording' "$tmp/out"
assert_grep -x '# phase: negotiating' "$mid"
assert_grep -x -F '# connect: [ nbdkit -s memory 1M ]' "$mid"
assert_not_grep -x 'list' "$mid"
assert_not_grep -x 'sr' "$mid"
assert_not_grep '^record' "$mid"
assert_grep -x 'info' "$mid"
expect_status 0 "$NBDCLI" -t 5 --replay "$mid"
assert_grep -E '^replay: 1 command, 0 differ; ' "$tmp/out"
# Usage and errors.
expect_status 2 "$NBDCLI" --ignore size -c 'echo'
expect_status 2 "$NBDCLI" --replay "$mid" -c 'list'
expect_status 1 "$NBDCLI" --replay "$top/scripts/tour.nbd"
assert_grep -F 'not an nbdcli recording' "$tmp/out"
expect_status 1 "$NBDCLI" --replay "$tmp/none.nbd"

# ---------------------------------------------------------------------
# The tour, recorded, replays with no difference against its server...
tour=$tmp/tour.nbd
expect_status 0 "$NBDCLI" --record "$tour" -f "$top/scripts/tour.nbd"
expect_status 0 "$NBDCLI" -t 5 --replay "$tour"
assert_grep -E '^replay: [0-9]+ commands, 0 differ; messages: [0-9]+ identical, 0 different, 0 missing, 0 extra$' "$tmp/out"
# ... and against qemu-nbd with the differences nbdcli.1 lists: the
# export's size and flags (CAN_MULTI_CONN) in INFO and GO, an extra
# NBD_INFO_BLOCK_SIZE, the error message of the unknown option, the
# context id 0 instead of 1, and the extents.
expect_status 4 "$NBDCLI" -t 5 --replay "$tour" [ qemu-nbd -f qcow2 "$img" ]
out=$tmp/tour-qemu.out
mv "$tmp/out" "$out"
assert_grep -F '      size: 67108864 -> 1048576' "$out"
assert_grep -F '"CAN_MULTI_CONN","SEND_CACHE","SEND_FAST_ZERO"] -> 3181 ["HAS_FLAGS"' "$out"
assert_grep -F '  extra:     <- NBD_REP_INFO (3) to NBD_OPT_GO (7), length 14: NBD_INFO_BLOCK_SIZE (3)' "$out"
assert_grep -F '      error_message: "" -> "Unsupported option 4' "$out"
assert_grep -F '      context_id: 1 -> 0' "$out"
assert_grep -F '      extents: ' "$out"
assert_grep -E '^replay: [0-9]+ commands, 5 differ; messages: [0-9]+ identical, 5 different, 0 missing, 2 extra$' "$out"
