#!/usr/bin/env bash
# test-capture.sh: --pcap, --pcap-plain and --keylog.  Debian's tshark
# opens the captures without errors; the socket capture of an X.509
# session carries its secrets in a Decryption Secrets Block, so tshark
# decrypts the handshake (Encrypted Extensions, Certificate, Certificate
# Verify, Finished) with no other file; the plain capture of the same
# session is one TCP stream on port 10809 that tshark's NBD dissector
# reads (Read Request).  The key log: NSS format, mode 0600, appended,
# never through a symbolic link, with a warning.

# shellcheck source=tests/functions.sh
. "${srcdir:-tests}/functions.sh"
set -e
set -x

requires nbdkit memory --version
requires sh -c 'nbdkit --dump-config | grep -q "^tls=yes"'
requires tshark --version
pki=$tmp/pki
make_pki "$pki"

start_bg pid nbdkit -f -U "$tmp/x509.sock" --tls=require \
    --tls-certificates="$pki" memory 1M >"$tmp/nbdkit.log" 2>&1
wait_for_socket "$tmp/x509.sock"
uri="nbds+unix:///?socket=$tmp/x509.sock&tls-certificates=$pki"

# tshark FILE ARGS...: tshark's view of FILE in $tmp/tshark.out; it
# must open it without complaint.
tshark_read ()
{
    local file=$1
    shift
    tshark -r "$file" "$@" >"$tmp/tshark.out" 2>"$tmp/tshark.err" ||
        { _show "$tmp/tshark.err"; fail "tshark -r $file failed"; }
    # tshark warns about running as root; nothing else may appear.
    if grep -v -i -e 'running as user "root"' -e 'this could be dangerous' \
           "$tmp/tshark.err" | grep -q .; then
        _show "$tmp/tshark.err"
        fail "tshark complained about $file"
    fi
}

cap=$tmp/tls.pcapng
plain=$tmp/plain.pcapng
keys=$tmp/keys.log
echo '# an earlier line, kept' >"$keys"
expect_status 0 "$NBDCLI" -t 5 --pcap "$cap" --pcap-plain="$plain" --keylog "$keys" \
    "$uri" -c 'starttls; sr; go; write 0 "evidence"; read 0 8; disc'
assert_grep -F "warning: the TLS session keys are appended to $keys: whoever can read it can decrypt the session" "$tmp/out"
assert_grep -F "warning: $cap holds the TLS session keys" "$tmp/out"
assert_not_grep -F "$plain holds" "$tmp/out"

# The key log: appended, 0600 (a new file), NSS lines.
assert_grep -x '# an earlier line, kept' "$keys"
assert_grep -E '^CLIENT_HANDSHAKE_TRAFFIC_SECRET [0-9a-f]{64} [0-9a-f]+$' "$keys"
assert_grep -E '^SERVER_TRAFFIC_SECRET_0 [0-9a-f]{64} [0-9a-f]+$' "$keys"
new=$tmp/new-keys.log
expect_status 0 "$NBDCLI" -t 5 --keylog="$new" "$uri" -c 'starttls'
[ "$(stat -c %a "$new")" = 600 ] || fail "--keylog $new: mode $(stat -c %a "$new"), not 600"
[ "$(stat -c %a "$cap")" = 600 ] || fail "--pcap $cap: mode $(stat -c %a "$cap"), not 600"
n=$(grep -c '' "$new")
expect_status 0 "$NBDCLI" -t 5 --keylog="$new" "$uri" -c 'starttls'
[ "$(grep -c '' "$new")" -gt "$n" ] || fail "--keylog did not append to $new"
# Never through a symbolic link, never onto something else.
ln -s "$tmp/target" "$tmp/link"
expect_status 1 "$NBDCLI" --keylog "$tmp/link" -c 'echo'
[ ! -e "$tmp/target" ] || fail "--keylog followed a symbolic link"
expect_status 1 "$NBDCLI" --pcap "$tmp/link" -c 'echo'
expect_status 1 "$NBDCLI" --keylog "$tmp" -c 'echo'

# The socket capture: TCP on port 10809, the TLS handshake decrypted
# with the embedded secrets only.
tshark_read "$cap"
assert_grep -F '192.0.2.1 → 192.0.2.2' "$tmp/tshark.out"
assert_grep -F '49152 → 10809 [SYN]' "$tmp/tshark.out"
assert_grep -F 'Client Hello' "$tmp/tshark.out"
assert_grep -F 'Encrypted Extensions, Certificate, Certificate Verify, Finished' "$tmp/tshark.out"
tshark_read "$cap" -Y 'tls.handshake.type == 11' -T fields -e frame.number
[ -s "$tmp/tshark.out" ] || fail "tshark did not decrypt the server's Certificate in $cap"
tshark_read "$cap" -Y 'tls.handshake.type == 15' -T fields -e frame.number
[ -s "$tmp/tshark.out" ] || fail "tshark did not decrypt the Certificate Verify in $cap"
# The decrypted records hold the NBD options sent inside TLS.
tshark_read "$cap" -x
assert_grep -F 'Decrypted TLS' "$tmp/tshark.out"
assert_grep -F 'IHAVEOPT' "$tmp/tshark.out"
# No TCP sequence trouble, no malformed packet.
tshark_read "$cap" -Y 'tcp.analysis.flags || _ws.malformed || _ws.expert.severity >= 6291456'
[ ! -s "$tmp/tshark.out" ] || { _show "$tmp/tshark.out"; fail "tshark found errors in $cap"; }
# Without the secrets the handshake stays encrypted: they came from the
# file itself.
assert_grep -F 'CLIENT_TRAFFIC_SECRET_0' "$cap"

# The plain capture of the same session: the decrypted NBD stream, the
# read request dissected, no secret.
tshark_read "$plain"
assert_grep -F 'NBD' "$tmp/tshark.out"
assert_grep -F 'Read Request' "$tmp/tshark.out"
assert_grep -F 'Write Request' "$tmp/tshark.out"
assert_not_grep -F 'Client Hello' "$tmp/tshark.out"
assert_not_grep -F 'SECRET' "$plain"
[ "$(stat -c %a "$plain")" = 644 ] || fail "--pcap-plain: mode $(stat -c %a "$plain")"
tshark_read "$plain" -Y 'tcp.analysis.flags || _ws.malformed'
[ ! -s "$tmp/tshark.out" ] || { _show "$tmp/tshark.out"; fail "tshark found errors in $plain"; }
# The plaintext "evidence" written is in both the plain capture and
# (decrypted) the socket capture.
tshark_read "$plain" -x
assert_grep -F 'evidence' "$tmp/tshark.out"

# A session without TLS: both captures hold the same NBD stream, and
# tshark reads the requests in either.
expect_status 0 "$NBDCLI" -t 5 --pcap "$tmp/p1.pcapng" --pcap-plain "$tmp/p2.pcapng" \
    [ nbdkit -s memory 1M ] -c 'go; read 0 512; connect [ nbdkit -s memory 1M ]; go; read 512 512'
for f in "$tmp/p1.pcapng" "$tmp/p2.pcapng"; do
    tshark_read "$f"
    [ "$(grep -c 'Read Request' "$tmp/tshark.out")" = 2 ] || { _show "$tmp/tshark.out"; fail "$f: not two read requests"; }
    # Two connections, two TCP streams.
    assert_grep -F '49152 → 10809 [SYN]' "$tmp/tshark.out"
    assert_grep -F '49153 → 10809 [SYN]' "$tmp/tshark.out"
done
