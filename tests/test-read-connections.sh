#!/usr/bin/env bash
# test-read-connections.sh: a long read spread over several connections.
#  1. Against nbdkit (pattern, NBD_FLAG_CAN_MULTI_CONN) a 96 MiB read
#     into a file goes over 4 connections by default: a note says so,
#     every piece is sent once with its own cookie, in piece order, and
#     the file is the same as one connection's, with the pattern's
#     bytes at their offsets.  Likewise over TLS (nbds://, X.509).
#  2. One connection, with a note saying why, when more were asked for
#     but the server does not advertise multi-conn, the data goes to a
#     pipe, the target is a server command, or a capture is made.  A
#     server that limits its clients (qemu-nbd -e 2) gets what it can
#     take, and the connection over the limit costs little.
#  3. Flags raised on the extra connections count: the flawed server
#     with multi-conn and a chunk outside every read flags each piece,
#     and the exit status is 3.
#  4. --connections takes 1 to 16.

# shellcheck source=tests/functions.sh
. "${srcdir:-tests}/functions.sh"
set -e
set -x

requires nbdkit --version
requires certtool --version

pki=$tmp/pki
make_pki "$pki"

start_bg ppid nbdkit -f -U "$tmp/p.sock" pattern 96M
start_bg tpid nbdkit -f -U "$tmp/t.sock" --tls=require \
    --tls-certificates="$pki" pattern 80M
start_bg npid nbdkit -f -U "$tmp/n.sock" --filter=multi-conn pattern 96M \
    multi-conn-mode=disable
for s in p t n; do wait_for_socket "$tmp/$s.sock"; done
uri="nbd+unix:///?socket=$tmp/p.sock"

# pattern_at FILE OFFSET [BASE]: the 8 bytes at OFFSET of FILE, which
# holds the export from BASE (default 0) on, are BASE + OFFSET,
# big-endian (nbdkit's pattern plugin; BASE + OFFSET a multiple of 8).
pattern_at ()
{
    local got want
    got=$(od -A n -t x1 -j "$2" -N 8 "$1" | tr -d ' \n')
    want=$(printf '%016x' $(( ${3:-0} + $2 )))
    [ "$got" = "$want" ] || fail "$1 at $2: $got, not $want"
}

# --- 1. Four connections by default.
session four 0 "$uri" -c "sr; go; read 0 96M --out $tmp/four.bin"
assert_grep -F 'read: 192 pieces on 4 connections (the server advertises NBD_FLAG_CAN_MULTI_CONN): this one and 3 opened like it; cookies 1 to 192 in piece order' "$out"
[ "$(grep -c '^connected to' "$out")" = 4 ] || fail "expected 4 connections"
assert_not_grep '^FLAG' "$out"
grep -oE -e '-> NBD_CMD_READ \(0\), flags 0x0000 \(none\), cookie [0-9]+, offset [0-9]+' "$out" |
    awk '{print $8, $10}' | tr -d , | sort -n >"$tmp/four.sent"
[ "$(wc -l <"$tmp/four.sent")" = 192 ] || fail "expected 192 requests"
# Cookie N reads piece N: offset (N - 1) * 512 KiB.
awk '$2 != ($1 - 1) * 524288 { bad = 1 } END { exit bad }' "$tmp/four.sent" ||
    fail "a cookie does not match its piece"
[ "$(cut -d' ' -f1 "$tmp/four.sent" | uniq -d | wc -l)" = 0 ] || fail "a cookie was sent twice"
# The extra connections end politely, with cookies of their own.
[ "$(grep -c -e '-> NBD_CMD_DISC' "$out")" = 3 ] || fail "expected 3 DISC"
assert_grep -F -e '-> NBD_CMD_DISC (2), flags 0x0000 (none), cookie 193,' "$out"

session one 0 "$uri" -c "sr; go; read 0 96M --out $tmp/one.bin --connections 1"
[ "$(grep -c '^connected to' "$out")" = 1 ] || fail "--connections 1 opened more"
assert_not_grep 'pieces on' "$out"
cmp "$tmp/four.bin" "$tmp/one.bin" || fail "4 connections read other data than 1"
[ "$(stat -c %s "$tmp/four.bin")" = 100663296 ] || fail "the file is not 96 MiB"
for o in 0 524288 50331648 100663288; do pattern_at "$tmp/four.bin" "$o"; done

# Without structured replies, at an offset, 3 connections.
session three 0 "$uri" -c "go; read 1000 90M --out $tmp/three.bin --connections 3"
assert_grep -F 'read: 180 pieces on 3 connections' "$out"
pattern_at "$tmp/three.bin" 7000 1000
[ "$(stat -c %s "$tmp/three.bin")" = 94371840 ] || fail "the file is not 90 MiB"

# TLS: every connection does STARTTLS.
session tls 0 "nbds+unix:///?socket=$tmp/t.sock&tls-certificates=$pki" \
    -c "starttls; sr; go; read 0 80M --out $tmp/tls.bin"
assert_grep -F 'read: 160 pieces on 4 connections' "$out"
[ "$(grep -c -e '-> NBD_OPT_STARTTLS' "$out")" = 4 ] || fail "expected STARTTLS on 4 connections"
cmp "$tmp/tls.bin" <(head -c 83886080 "$tmp/one.bin") || fail "the TLS read differs"

# --- 2. One connection, and why.
session nomc 0 "nbd+unix:///?socket=$tmp/n.sock" \
    -c "sr; go; read 0 96M --out /dev/null --connections 3"
assert_grep -F 'read on one connection: the server does not advertise NBD_FLAG_CAN_MULTI_CONN' "$out"
[ "$(grep -c '^connected to' "$out")" = 1 ] || fail "opened more than one connection"
# Not asked for: no note.
session nomc-default 0 "nbd+unix:///?socket=$tmp/n.sock" \
    -c "sr; go; read 0 96M --out /dev/null"
assert_not_grep 'one connection' "$out"

session pipe 0 "$uri" -c "sr; go; read 0 64M --out /dev/fd/3 --connections 2" 3>/dev/null
"$NBDCLI" -t 5 "$uri" -c "sr; go; read 0 64M --out /dev/fd/3 --connections 2" \
    3>&1 >"$tmp/pipe.out" 2>&1 </dev/null | cmp - <(head -c 67108864 "$tmp/one.bin") ||
    fail "the piped read differs"
assert_grep -F 'read on one connection: the data is not going to a file that can seek' "$tmp/pipe.out"

session cmdtarget 0 [ nbdkit -s pattern 64M ] \
    -c "sr; go; read 0 64M --out /dev/null --connections 2"
assert_grep -F 'read on one connection: the target is a server command' "$out"

session capture 0 "$uri" --pcap "$tmp/c.pcap" \
    -c "sr; go; read 0 64M --out /dev/null --connections 2"
assert_grep -F 'read on one connection: a recording or capture follows one connection' "$out"
[ "$(grep -c '^connected to' "$out")" = 1 ] || fail "opened more than one connection"

# A server that serves two clients at a time (qemu-nbd -r -e 2, which
# advertises multi-conn): the connection over its limit gets no
# greeting, quickly, and the read goes on two.
if qemu-nbd --version >/dev/null 2>&1; then
    head -c 67108864 "$tmp/one.bin" >"$tmp/q.img"
    start_bg qpid qemu-nbd -k "$tmp/q.sock" -f raw -r -e 2 -t "$tmp/q.img"
    wait_for_socket "$tmp/q.sock"
    session qemu2 0 "nbd+unix:///?socket=$tmp/q.sock" -c "sr; go; read 0 64M --out $tmp/q.bin"
    assert_grep -F 'CAN_MULTI_CONN' "$out"
    assert_grep -F 'read: connection 3 of 4 could not be opened: reading on 2' "$out"
    assert_grep -E 'greeting: no reply within [0-9]+ m?s' "$out"
    cmp "$tmp/q.bin" "$tmp/q.img" || fail "the read from qemu-nbd -e 2 differs"
    kill_pid "$qpid"
elif [ "${CI:-}" = true ]; then
    fail "CI: qemu-nbd is not installed"
fi

# --- 3. Flags on the extra connections count.
test -x "$FLAWED" || fail "no flawed server at $FLAWED"
start_bg fpid "$FLAWED" -U "$tmp/f.sock" --serve-many --size 80M \
    --fault multi-conn-private --fault chunk-outside
wait_for_socket "$tmp/f.sock"
session flawed 3 "nbd+unix:///?socket=$tmp/f.sock" \
    -c "sr; go; read 0 64M --out $tmp/f.bin; state"
assert_grep -F 'read: 128 pieces on 4 connections' "$out"
[ "$(grep -c '^FLAG chunk-outside-request' "$out")" = 128 ] || fail "expected a flag for each piece"
assert_grep -x 'flags raised: *128' "$out"

# --- 4. Usage.
session bad0 2 "$uri" -c "go; read 0 1M --connections 0"
assert_grep -F -- '--connections 0: a number from 1 to 16' "$out"
session bad17 2 "$uri" -c "go; read 0 1M --connections 17"
