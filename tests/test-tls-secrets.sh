#!/usr/bin/env bash
# test-tls-secrets.sh: secrets never appear in any output.  A PSK keys
# file and X.509 client credentials are used in every way nbdcli takes
# them (--tls-psk, the URI's tls-psk-file, `set tls-psk' in a script on
# stdin and in an interactive session with history, --tls-certificates),
# with and without --json, with `state' and `set', and in error paths
# (wrong key, malformed keys file, a private key given as a keys file,
# a client key that does not match its certificate).  Then all stdout,
# stderr, JSON and the history file are searched for the hex PSK keys
# and for every base64 line of the private keys: none may appear.
# The same search covers recordings (--record, `record FILE'), their
# replay, the plain capture (--pcap-plain, also as hex), the socket
# capture outside its secrets block, and the warnings; the session
# secrets themselves (from --keylog) join the patterns: they may appear
# only in the key log and the --pcap file asked for.
# Also: SSLKEYLOGFILE makes GnuTLS write the session keys.

# shellcheck source=tests/functions.sh
. "${srcdir:-tests}/functions.sh"
set -e
set -x

requires nbdkit --version
requires nbdkit memory --version
requires sh -c 'nbdkit --dump-config | grep -q "^tls=yes"'
# shellcheck disable=SC2016 # $NBDCLI is expanded by sh (exported)
requires sh -c '"$NBDCLI" --dump-config | grep -q "^tls=gnutls"'

pki=$tmp/pki
make_pki "$pki"
psk=$tmp/keys.psk
make_psk "$psk" alice
key=$(sed -n 's/^alice://p' "$psk")
[ "${#key}" -ge 32 ] || fail "no key for alice in $psk"

# Everything nbdcli prints goes to $sec.
sec=$tmp/secrets
mkdir "$sec"

# run NAME STATUS CMD...: stdout in $sec/NAME.out, stderr in
# $sec/NAME.err (stdin from /dev/null); CMD must exit with STATUS.
run ()
{
    local name=$1 want=$2 st=0
    shift 2
    "$@" >"$sec/$name.out" 2>"$sec/$name.err" </dev/null || st=$?
    if [ "$st" != "$want" ]; then
        { set +x; } 2>/dev/null
        _show "$sec/$name.out"
        _show "$sec/$name.err"
        fail "$name: exit status $st, expected $want: $*"
    fi
}

start_bg pid nbdkit -f -U "$tmp/psk.sock" --tls=require --tls-psk="$psk" \
    memory 1M >"$tmp/psk.log" 2>&1
start_bg pid nbdkit -f -U "$tmp/x509.sock" --tls=require \
    --tls-certificates="$pki" --tls-verify-peer memory 1M >"$tmp/x509.log" 2>&1
wait_for_socket "$tmp/psk.sock"
wait_for_socket "$tmp/x509.sock"

cmds='set; starttls; state; set; sr; smc base:allocation; go; state; read 0 512; block-status 0 4096; disc'

# ---------------------------------------------------------------------
# PSK as options, as URI parameters, with and without --json.
for json in "" --json; do
    n=${json:+-json}
    run "psk-opt$n" 0 "$NBDCLI" -t 5 $json --tls-psk "$psk" --tls-username alice \
        "nbd+unix:///?socket=$tmp/psk.sock" -c "$cmds"
    run "psk-uri$n" 0 "$NBDCLI" -t 5 $json \
        "nbds+unix://alice@/?socket=$tmp/psk.sock&tls-psk-file=$psk" -c "$cmds"
    # X.509 with a client certificate and key.
    run "x509$n" 0 "$NBDCLI" -t 5 $json \
        "nbds+unix:///?socket=$tmp/x509.sock&tls-certificates=$pki" -c "$cmds"
    run "x509-opt$n" 0 "$NBDCLI" -t 5 $json --tls-certificates "$pki" \
        "nbd+unix:///?socket=$tmp/x509.sock" -c "$cmds"
done
# The sessions did happen.
assert_grep -x -F '   PSK user "alice"' "$sec/psk-opt.out"
assert_grep -x -F '   PSK user "alice"' "$sec/psk-uri.out"
assert_grep -x "tls-psk *$psk" "$sec/psk-opt.out"
assert_grep -F '"event":"tls"' "$sec/psk-uri-json.out"
assert_grep -F '"psk_username":"alice"' "$sec/psk-opt-json.out"
assert_grep -F 'credentials X.509' "$sec/x509.out"
assert_grep -F '"event":"tls"' "$sec/x509-json.out"
assert_grep -x "tls-certificates *$pki" "$sec/x509-opt.out"
for f in "$sec"/*-json.out; do
    assert_grep -F '"event":"state"' "$f"
done

# A script on stdin (not a terminal) with `set tls-psk', and the same
# as a -f script file.
printf '%s\n' "set tls-psk $psk" 'set tls-username alice' 'set' 'starttls' \
    'state' 'set' 'go' 'state' 'disc' >"$tmp/script.nbd"
st=0
"$NBDCLI" -t 5 "nbd+unix:///?socket=$tmp/psk.sock" \
    <"$tmp/script.nbd" >"$sec/stdin.out" 2>"$sec/stdin.err" || st=$?
[ "$st" = 0 ] || { _show "$sec/stdin.out"; _show "$sec/stdin.err"; fail "stdin script: exit $st"; }
assert_grep -x -F '   PSK user "alice"' "$sec/stdin.out"
run script-file 0 "$NBDCLI" -t 5 --json "nbd+unix:///?socket=$tmp/psk.sock" -f "$tmp/script.nbd"
# The wire trace (with raw bytes) of a PSK and an X.509 session.
run trace-psk 0 "$NBDCLI" -t 5 --trace=hex --tls-psk "$psk" --tls-username alice \
    "nbd+unix:///?socket=$tmp/psk.sock" -c 'starttls; sr; go; read 0 16; state; set'
run trace-x509 0 "$NBDCLI" -t 5 --trace=hex --tls-certificates "$pki" \
    "nbds+unix:///?socket=$tmp/x509.sock" -c 'starttls; info; state'
assert_grep -F '"psk_username":"alice"' "$sec/script-file.out"
# `connect' inside the session.
run connect 0 "$NBDCLI" -t 5 \
    -c "connect nbds+unix://alice@/?socket=$tmp/psk.sock&tls-psk-file=$psk" \
    -c 'starttls; state; set; disconnect'
assert_grep -x -F '   PSK user "alice"' "$sec/connect.out"

# An interactive session (a terminal, through script(1)) writes the
# history file.
if command -v script >/dev/null 2>&1; then
    hist=$sec/history
    printf '%s\n' "set tls-psk $psk" 'set tls-username alice' 'set' 'starttls' \
        'state' 'set' 'go' 'state' 'disc' 'quit' |
        NBDCLI_HISTFILE=$hist timeout 10 script -qec \
            "$(printf '%q ' "$NBDCLI" -t 5 "nbd+unix:///?socket=$tmp/psk.sock")" \
            /dev/null >"$sec/interactive.out" 2>&1 || true
    assert_grep -F 'PSK user "alice"' "$sec/interactive.out"
    assert_grep -x -F "set tls-psk $psk" "$hist"
    assert_grep -x -F 'starttls' "$hist"
fi

# ---------------------------------------------------------------------
# Evidence: recordings, captures, the key log.
kl=$tmp/keylog
run evidence-psk 0 "$NBDCLI" -t 5 --tls-psk "$psk" --tls-username alice \
    --record "$sec/rec-psk.nbd" --pcap "$tmp/psk.pcapng" \
    --pcap-plain "$sec/plain-psk.pcapng" --keylog "$kl" \
    "nbds+unix:///?socket=$tmp/psk.sock" -c "$cmds"
run evidence-x509 0 "$NBDCLI" -t 5 --record "$sec/rec-x509.nbd" \
    --pcap "$tmp/x509.pcapng" --pcap-plain "$sec/plain-x509.pcapng" --keylog "$kl" \
    "nbds+unix:///?socket=$tmp/x509.sock&tls-certificates=$pki" -c "$cmds"
run evidence-json 0 "$NBDCLI" -t 5 --json --tls-psk "$psk" --tls-username alice \
    -c "connect nbds+unix://alice@/?socket=$tmp/psk.sock&tls-psk-file=$psk" \
    -c "record $sec/rec-shell.nbd; starttls; state; set; go; read 0 16; record off"
run replay-psk 0 "$NBDCLI" -t 5 --tls-psk "$psk" --tls-username alice \
    --replay "$sec/rec-psk.nbd"
run replay-x509 0 "$NBDCLI" -t 5 --replay "$sec/rec-x509.nbd"
assert_grep -F "# tls: required, PSK keys file $psk, user alice" "$sec/rec-psk.nbd"
assert_grep -F "# tls: required, X.509 certificates in $pki" "$sec/rec-x509.nbd"
assert_grep -F '#json {"event":"tls"' "$sec/rec-shell.nbd"
assert_grep -F 'warning: the TLS session keys are appended to' "$sec/evidence-psk.err"
assert_grep -E '^CLIENT_TRAFFIC_SECRET_0 [0-9a-f]{64} [0-9a-f]+$' "$kl"
# Captures are binary: their bytes as hex too, so that a key written
# raw would be found.
for f in "$sec"/*.pcapng; do
    od -An -tx1 -v "$f" | tr -d ' \n' >"$f.hex"
done
# The socket captures hold the session secrets (asked for): searched
# below outside their secrets block, and as hex for long-term keys.
for f in "$tmp/psk.pcapng" "$tmp/x509.pcapng"; do
    grep -a -q 'CLIENT_TRAFFIC_SECRET_0' "$f" || fail "$f has no secrets block"
    grep -a -v '_SECRET' "$f" >"$sec/$(basename "$f").rest" || :
    od -An -tx1 -v "$f" | tr -d ' \n' >"$tmp/$(basename "$f").hex"
done

# ---------------------------------------------------------------------
# Error paths.
# A key the server does not share (its hex must not show either).
wrong=$tmp/wrong.psk
wrongkey=00112233445566778899aabbccddeeff00112233445566778899aabbccddee
echo "alice:$wrongkey" >"$wrong"
run wrong 1 "$NBDCLI" -t 5 --tls-psk "$wrong" --tls-username alice \
    "nbd+unix:///?socket=$tmp/psk.sock" -c 'starttls'
run wrong-json 1 "$NBDCLI" -t 5 --json --tls-psk "$wrong" --tls-username alice \
    "nbd+unix:///?socket=$tmp/psk.sock" -c 'starttls'
# A key that is not hex.
badhex=$tmp/badhex.psk
badkey=zz${key:2}
echo "alice:$badkey" >"$badhex"
run badhex 1 "$NBDCLI" -t 5 --tls-psk "$badhex" --tls-username alice \
    "nbd+unix:///?socket=$tmp/psk.sock" -c 'starttls'
assert_grep -F 'not valid hex' "$sec/badhex.err"
# A keys file without the user, but with other users' keys.
other=$tmp/other.psk
echo "bob:$key" >"$other"
run nouser 1 "$NBDCLI" -t 5 --tls-psk "$other" --tls-username alice \
    "nbd+unix:///?socket=$tmp/psk.sock" -c 'starttls'
assert_grep -F 'no key for user "alice"' "$sec/nouser.err"
# A private key given as the keys file, and a user name that is the
# start of one of its lines.
run pem-as-psk 1 "$NBDCLI" -t 5 --tls-psk "$pki/client-key.pem" --tls-username alice \
    "nbd+unix:///?socket=$tmp/psk.sock" -c 'starttls'
run pem-as-psk-json 1 "$NBDCLI" -t 5 --json --tls-psk "$pki/client-key.pem" \
    --tls-username '-----BEGIN PRIVATE KEY-----' \
    "nbd+unix:///?socket=$tmp/psk.sock" -c 'starttls'
# A client key that does not belong to the client certificate.
mism=$(tmpdir)
cp "$pki/ca-cert.pem" "$pki/client-cert.pem" "$mism/"
cp "$pki/server-key.pem" "$mism/client-key.pem"
run mismatch 1 "$NBDCLI" -t 5 --tls-certificates "$mism" \
    "nbd+unix:///?socket=$tmp/x509.sock" -c 'starttls'
run mismatch-json 1 "$NBDCLI" -t 5 --json --tls-certificates "$mism" \
    "nbd+unix:///?socket=$tmp/x509.sock" -c 'starttls'
# A keys file in place of the client key.
pskkey=$(tmpdir)
cp "$pki/ca-cert.pem" "$pki/client-cert.pem" "$pskkey/"
cp "$psk" "$pskkey/client-key.pem"
run psk-as-key 1 "$NBDCLI" -t 5 --tls-certificates "$pskkey" \
    "nbd+unix:///?socket=$tmp/x509.sock" -c 'starttls'

# ---------------------------------------------------------------------
# The search.  JSON may escape "/" as "\/": search a copy without the
# escapes too.
for f in "$sec"/*; do
    sed 's#\\/#/#g' "$f" >"$f.unescaped"
done

# The secrets, one fixed string a line: each hex key whole, every run
# of 16 of its hex digits, and its first bytes as a spaced hex dump;
# every base64 line of the private keys (between the BEGIN and END
# lines; certtool also writes a text description before them).
pats=$tmp/secret-patterns
: >"$pats"
for k in "$key" "$wrongkey" "$badkey"; do
    echo "$k" >>"$pats"
    for (( i = 0; i + 16 <= ${#k}; i++ )); do
        echo "${k:i:16}" >>"$pats"
    done
    echo "${k:0:16}" | sed 's/../& /g; s/ $//' >>"$pats"
done
for pem in "$pki/client-key.pem" "$pki/server-key.pem"; do
    sed -n '/^-----BEGIN/,/^-----END/{/^-----/d;/^$/d;p;}' "$pem" >>"$pats"
done
# Long-term secrets only, for the socket captures' hex (their session
# secrets are there on purpose).
for f in "$tmp/psk.pcapng.hex" "$tmp/x509.pcapng.hex"; do
    if grep -i -F -f "$pats" "$f" >"$tmp/leaks"; then
        fail "long-term secrets in $f"
    fi
done
# The session secrets of the evidence runs: each whole, and its first
# 16 hex digits.
awk '/^[A-Z_0-9]+ [0-9a-f]+ [0-9a-f]+$/ { print $3; print substr($3, 1, 16) }' "$kl" >>"$pats"
[ "$(grep -c '' "$pats")" -gt 100 ] || fail "too few secret patterns in $pats"

if grep -r -i -F -f "$pats" "$sec" >"$tmp/leaks"; then
    { set +x; } 2>/dev/null
    _show "$tmp/leaks"
    fail "secrets appear in nbdcli's output (above: file:line)"
fi

# ---------------------------------------------------------------------
# SSLKEYLOGFILE: GnuTLS writes the session keys there.
run keylog 0 env SSLKEYLOGFILE="$tmp/keys" "$NBDCLI" -t 5 \
    "nbds+unix:///?socket=$tmp/x509.sock&tls-certificates=$pki" -c 'starttls; list'
[ -s "$tmp/keys" ] || fail "SSLKEYLOGFILE: $tmp/keys is missing or empty"
assert_grep -E '^(CLIENT_HANDSHAKE_TRAFFIC_SECRET|CLIENT_RANDOM) [0-9a-f]+ [0-9a-f]+$' "$tmp/keys"
run keylog-psk 0 env SSLKEYLOGFILE="$tmp/keys-psk" "$NBDCLI" -t 5 \
    "nbds+unix://alice@/?socket=$tmp/psk.sock&tls-psk-file=$psk" -c 'starttls; list'
assert_grep -E '^(CLIENT_HANDSHAKE_TRAFFIC_SECRET|CLIENT_RANDOM) ' "$tmp/keys-psk"
# ... and they are not printed.
secret=$(awk '/^CLIENT_HANDSHAKE_TRAFFIC_SECRET|^CLIENT_RANDOM/ { print $3; exit }' "$tmp/keys")
assert_not_grep -i -F "${secret:0:32}" "$sec/keylog.out"
