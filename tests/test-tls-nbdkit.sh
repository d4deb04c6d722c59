#!/usr/bin/env bash
# test-tls-nbdkit.sh: STARTTLS against real nbdkit servers, with X.509
# certificates and with PSK keys, in --tls=on (opportunistic) and
# --tls=require (forced) mode, plus --tls-verify-peer (client
# certificate required): the manual sequences of the CVE-2021-3716
# probe run cleanly (exit 0, no FLAG); TLS_REQD is shown by name; an
# nbds:// session refuses to enter transmission in plaintext unless
# `set allow-plaintext on'; peer verification (host name, CA, system
# trust store, --tls-verify-peer=no); a server that rejects the client
# certificate after a TLS 1.3 handshake is reported as such.

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



# ---------------------------------------------------------------------
# The servers, each on its own Unix socket.
for mode in on require; do
    start_bg pid nbdkit -f -U "$tmp/$mode-x509.sock" --tls="$mode" \
        --tls-certificates="$pki" memory 1M >"$tmp/$mode-x509.log" 2>&1
    start_bg pid nbdkit -f -U "$tmp/$mode-psk.sock" --tls="$mode" \
        --tls-psk="$psk" memory 1M >"$tmp/$mode-psk.log" 2>&1
done
start_bg pid nbdkit -f -U "$tmp/vp.sock" --tls=require \
    --tls-certificates="$pki" --tls-verify-peer memory 1M >"$tmp/vp.log" 2>&1
port=$(free_port)
start_bg pid nbdkit -f -p "$port" -i 127.0.0.1 --tls=require \
    --tls-certificates="$pki" memory 1M >"$tmp/tcp.log" 2>&1
for s in on-x509 on-psk require-x509 require-psk vp; do
    wait_for_socket "$tmp/$s.sock"
done
wait_for_port "$port"

uri_x509 () { echo "nbds+unix:///?socket=$tmp/$1.sock&tls-certificates=$pki"; }
uri_psk () { echo "nbds+unix://alice@/?socket=$tmp/$1.sock&tls-psk-file=$psk"; }

# ---------------------------------------------------------------------
# The three manual sequences against every server: exit 0, no FLAG.
for srv in on-x509 on-psk require-x509 require-psk vp; do
    case $srv in
    *-psk) uri=$(uri_psk "$srv") ;;
    *)     uri=$(uri_x509 "$srv") ;;
    esac

    # 1. TLS first, then everything a well-behaved client does.
    session "$srv-1" 0 "$uri" -c 'starttls; sr; smc base:allocation; go; state'
    assert_not_grep '^FLAG' "$out"
    assert_order "$out" '-> NBD_OPT_STARTTLS (5), length 0' \
        '<- NBD_REP_ACK (1) to NBD_OPT_STARTTLS (5), length 0' \
        '== TLS handshake done (epoch 1)' \
        '<- NBD_REP_ACK (1) to NBD_OPT_STRUCTURED_REPLY (8), length 0' \
        '"base:allocation"' \
        '<- NBD_REP_ACK (1) to NBD_OPT_SET_META_CONTEXT (10), length 0' \
        '<- NBD_REP_ACK (1) to NBD_OPT_GO (7), length 0' \
        'phase:'
    assert_grep -E '^   version TLS1\.[23], cipher [^ ]+, MAC [^ ]+, key exchange [^ ]+, credentials (X\.509|PSK)$' "$out"
    case $srv in
    *-psk)
        assert_grep -F 'credentials PSK' "$out"
        assert_grep -x -F '   PSK user "alice"' "$out"
        assert_grep -x -F '   the server proved it knows the pre-shared key' "$out" ;;
    *)
        assert_grep -F 'credentials X.509' "$out"
        assert_grep -x -F '   peer certificate subject "CN=localhost,O=nbdcli test"' "$out"
        assert_grep -x -F '   peer certificate issuer "CN=nbdcli test CA"' "$out"
        assert_grep -x -E '   peer certificate valid from [0-9-]+ [0-9:]+ UTC to [0-9-]+ [0-9:]+ UTC' "$out"
        assert_grep -F '   verified: the certificate chains to a trusted CA' "$out" ;;
    esac
    assert_grep -E '^<- NBD_REP_INFO \(3\) to NBD_OPT_GO \(7\), length 12: NBD_INFO_EXPORT \(0\): size 1048576 \(1 MiB\), flags 0x[0-9a-f]{4} \(HAS_FLAGS .*SEND_DF.*\)$' "$out"
    assert_grep -x 'phase: *transmission' "$out"
    assert_grep -x 'TLS: *up, epoch 1' "$out"
    assert_grep -x 'TLS required: *yes' "$out"
    assert_grep -x 'structured replies: yes' "$out"
    assert_grep -x 'meta contexts: *1 for export ""' "$out"
    assert_grep -E '^  id [0-9]+: base:allocation$' "$out"
    assert_grep -x 'flags raised: *0' "$out"

    # 2. SR before STARTTLS, INFO after: the pre-TLS SR is forgotten, so
    # NBD_INFO_EXPORT must not offer SEND_DF.
    session "$srv-2" 0 "$uri" -c 'sr; starttls; info'
    assert_not_grep '^FLAG' "$out"
    assert_order "$out" '-> NBD_OPT_STRUCTURED_REPLY (8), length 0' \
        'to NBD_OPT_STRUCTURED_REPLY (8)' \
        '-> NBD_OPT_STARTTLS (5), length 0' \
        '== TLS handshake done (epoch 1)' \
        '-> NBD_OPT_INFO (6), length 6: export "", 0 info requests' \
        '<- NBD_REP_ACK (1) to NBD_OPT_INFO (6), length 0'
    case $srv in
    on-*) assert_grep -x -F '<- NBD_REP_ACK (1) to NBD_OPT_STRUCTURED_REPLY (8), length 0' "$out" ;;
    *)    assert_grep -x -F '<- NBD_REP_ERR_TLS_REQD (0x80000005) to NBD_OPT_STRUCTURED_REPLY (8), length 0' "$out" ;;
    esac
    grep -F 'to NBD_OPT_INFO (6), length 12: NBD_INFO_EXPORT (0)' "$out" >"$tmp/info-line"
    assert_grep -F 'size 1048576 (1 MiB)' "$tmp/info-line"
    assert_not_grep -F 'SEND_DF' "$tmp/info-line"

    # 3. SR and a meta context before STARTTLS, SR again after, GO.
    session "$srv-3" 0 "$uri" -c 'sr; smc base:allocation; starttls; sr; go'
    assert_not_grep '^FLAG' "$out"
    assert_order "$out" '-> NBD_OPT_STRUCTURED_REPLY (8), length 0' \
        '-> NBD_OPT_SET_META_CONTEXT (10), length 27: export "", 1 query: "base:allocation"' \
        '-> NBD_OPT_STARTTLS (5), length 0' \
        '== TLS handshake done (epoch 1)' \
        '-> NBD_OPT_STRUCTURED_REPLY (8), length 0' \
        '<- NBD_REP_ACK (1) to NBD_OPT_STRUCTURED_REPLY (8), length 0' \
        '-> NBD_OPT_GO (7)' \
        '<- NBD_REP_ACK (1) to NBD_OPT_GO (7), length 0'
    case $srv in
    on-*) assert_grep -E '^<- NBD_REP_META_CONTEXT \(4\) to NBD_OPT_SET_META_CONTEXT \(10\), length 19: id [0-9]+, "base:allocation"$' "$out" ;;
    *)    assert_grep -x -F '<- NBD_REP_ERR_TLS_REQD (0x80000005) to NBD_OPT_SET_META_CONTEXT (10), length 0' "$out" ;;
    esac
    assert_grep -E '^<- NBD_REP_INFO \(3\) to NBD_OPT_GO \(7\), length 12: NBD_INFO_EXPORT \(0\): .*SEND_DF' "$out"
done

# With --tls=on the state from before STARTTLS is shown apart from the
# (empty) state after it; a block status query after GO finds no
# context, and a read gets a structured reply (SR negotiated again).
session on-state 0 "$(uri_x509 on-x509)" \
    -c 'sr; smc base:allocation; starttls; state; sr; go; read 0 512; block-status 0 4096; disc'
assert_not_grep '^FLAG' "$out"
sed -n '/^before the last STARTTLS/,/^flags raised/p' "$out" >"$tmp/before"
assert_grep -x '  structured replies: yes' "$tmp/before"
assert_grep -x '  meta contexts: *1 for export ""' "$tmp/before"
sed -n '1,/^before the last STARTTLS/p' "$out" | sed -n '/^phase:/,$p' >"$tmp/after"
assert_grep -x 'structured replies: no' "$tmp/after"
assert_grep -x 'meta contexts: *none' "$tmp/after"
assert_grep -F '<- structured chunk NBD_REPLY_TYPE_OFFSET_DATA (1)' "$out"
assert_grep -F '<- structured chunk NBD_REPLY_TYPE_ERROR' "$out"

# ---------------------------------------------------------------------
# --tls=require: LIST before TLS gets NBD_REP_ERR_TLS_REQD, shown by
# name, which is a result and no flag; after TLS the list comes.
for srv in require-x509 require-psk; do
    case $srv in
    *-psk) uri=$(uri_psk "$srv") ;;
    *)     uri=$(uri_x509 "$srv") ;;
    esac
    session "$srv-list" 0 "$uri" \
        -c 'list; assert reply NBD_REP_ERR_TLS_REQD; starttls; list; assert tls'
    assert_not_grep '^FLAG' "$out"
    assert_order "$out" '-> NBD_OPT_LIST (3), length 0' \
        '<- NBD_REP_ERR_TLS_REQD (0x80000005) to NBD_OPT_LIST (3), length 0' \
        '== TLS handshake done (epoch 1)' \
        '-> NBD_OPT_LIST (3), length 0' \
        '<- NBD_REP_SERVER (2) to NBD_OPT_LIST (3), length 4: export ""' \
        '<- NBD_REP_ACK (1) to NBD_OPT_LIST (3), length 0'
    # GO before TLS (allowed by hand): TLS_REQD again, no flag.
    session "$srv-go" 0 "$uri" \
        -c 'set allow-plaintext on; go; assert reply NBD_REP_ERR_TLS_REQD; assert phase negotiating'
    assert_grep -x -F '<- NBD_REP_ERR_TLS_REQD (0x80000005) to NBD_OPT_GO (7), length 0' "$out"
    assert_not_grep '^FLAG' "$out"
done
# --tls=on: LIST in plaintext is answered.
session on-list 0 "$(uri_x509 on-x509)" -c 'list'
assert_grep -x -F '<- NBD_REP_SERVER (2) to NBD_OPT_LIST (3), length 4: export ""' "$out"
assert_not_grep 'TLS_REQD' "$out"

# ---------------------------------------------------------------------
# TLS asked for (nbds:// or `set tls require') but not up: go and
# export-name are refused before anything is sent, with exit 1 and a
# pointer to `set allow-plaintext on'.
uri=$(uri_x509 on-x509)
session refuse-go 1 "$uri" -c 'go; echo not-reached'
assert_grep -F 'set allow-plaintext on' "$out"
assert_grep -F 'go' "$out"
assert_not_grep -F -e '-> NBD_OPT_GO' "$out"
assert_not_grep 'not-reached' "$out"
session refuse-en 1 "$uri" -c 'export-name'
assert_grep -F 'set allow-plaintext on' "$out"
assert_not_grep -F -e '-> NBD_OPT_EXPORT_NAME' "$out"
session refuse-psk 1 "$(uri_psk on-psk)" -c 'go'
assert_grep -F 'set allow-plaintext on' "$out"
assert_not_grep -F -e '-> NBD_OPT_GO' "$out"
session refuse-set 1 "nbd+unix:///?socket=$tmp/on-x509.sock" \
    --tls-certificates "$pki" -c 'set tls require; go'
assert_grep -F 'set allow-plaintext on' "$out"
assert_not_grep -F -e '-> NBD_OPT_GO' "$out"
# The override: plaintext GO on purpose.
session allow 0 "$uri" -c 'set allow-plaintext on; go; assert not tls; state'
assert_grep -x -F '<- NBD_REP_ACK (1) to NBD_OPT_GO (7), length 0' "$out"
assert_grep -x 'TLS: *not started' "$out"
assert_grep -x 'phase: *transmission' "$out"
assert_not_grep '^FLAG' "$out"
# No TLS asked for: no refusal.
session plain-go 0 "nbd+unix:///?socket=$tmp/on-x509.sock" -c 'go'
assert_grep -x -F '<- NBD_REP_ACK (1) to NBD_OPT_GO (7), length 0' "$out"

# assert tls: holds after starttls, fails (exit 1) before.
session assert-tls 0 "$(uri_x509 require-x509)" -c 'starttls; assert tls'
session assert-tls-psk 0 "nbd+unix:///?socket=$tmp/require-psk.sock" \
    --tls-psk "$psk" --tls-username alice -c 'starttls; assert tls; state'
assert_grep -x -F '  PSK user "alice"' "$out"
session assert-notls 1 "$(uri_x509 require-x509)" -c 'assert tls'
assert_grep -F 'assertion failed' "$out"

# ---------------------------------------------------------------------
# Peer verification.
uri=$(uri_x509 require-x509)
# A host name the certificate does not carry: the handshake fails with
# a verification message, in all three spellings.
session badhost-uri 1 "$uri&tls-hostname=wrong.example" -c 'starttls; echo not-reached'
assert_grep -F "the server's certificate failed verification" "$out"
assert_grep -F 'is not in the certificate (it names ' "$out"
assert_grep -F -e '--tls-verify-peer=no' "$out"
assert_not_grep -F '== TLS handshake done' "$out"
assert_not_grep 'not-reached' "$out"
assert_not_grep '^FLAG' "$out"
session badhost-opt 1 "$uri" --tls-hostname wrong.example -c 'starttls'
assert_grep -F 'is not in the certificate (it names ' "$out"
session badhost-set 1 "$uri" -c 'set tls-hostname wrong.example; starttls'
assert_grep -F 'is not in the certificate (it names ' "$out"
# ... and with verification off it connects, saying it did not verify.
session noverify-opt 0 "$uri" --tls-hostname wrong.example --tls-verify-peer=no \
    -c 'starttls; assert tls; go'
assert_grep -F '== TLS handshake done (epoch 1)' "$out"
assert_grep -F '   not verified (verification off)' "$out"
assert_grep -x -F '<- NBD_REP_ACK (1) to NBD_OPT_GO (7), length 0' "$out"
session noverify-uri 0 "$uri&tls-hostname=wrong.example&tls-verify-peer=false" \
    -c 'starttls; assert tls'
assert_grep -F 'not verified (verification off)' "$out"
session noverify-set 0 "$uri" \
    -c 'set tls-hostname wrong.example; set tls-verify-peer no; starttls; assert tls'
assert_grep -F 'not verified (verification off)' "$out"

# A certificates directory without ca-cert.pem: the system trust store,
# which does not know the test CA.
noca=$(tmpdir)
cp "$pki/client-cert.pem" "$pki/client-key.pem" "$noca/"
session noca 1 "nbds+unix:///?socket=$tmp/require-x509.sock&tls-certificates=$noca" -c 'starttls'
assert_grep -F "the server's certificate failed verification" "$out"
assert_grep -F "no CA certificate: $noca/ca-cert.pem does not exist" "$out"
assert_not_grep -F '== TLS handshake done' "$out"
session noca-noverify 0 "nbds+unix:///?socket=$tmp/require-x509.sock&tls-certificates=$noca" \
    --tls-verify-peer=no -c 'starttls; assert tls'
# No credentials at all: X.509 with the system trust store, same result.
session nocreds 1 "nbd+unix:///?socket=$tmp/require-x509.sock" -c 'starttls'
assert_grep -F 'no CA certificate was given' "$out"

# Over TCP the host name comes from the URI: 127.0.0.1 and localhost
# are both in the server certificate.
for host in 127.0.0.1 localhost; do
    session "tcp-$host" 0 "nbds://$host:$port/?tls-certificates=$pki" \
        -c 'starttls; sr; go; assert tls'
    assert_grep -F '   verified: the certificate chains to a trusted CA' "$out"
    assert_not_grep '^FLAG' "$out"
done
session tcp-badhost 1 "nbds://127.0.0.1:$port/?tls-certificates=$pki&tls-hostname=other.example" \
    -c 'starttls'
assert_grep -F 'is not in the certificate (it names ' "$out"

# ---------------------------------------------------------------------
# nbdkit --tls-verify-peer with no client certificate: after a TLS 1.3
# handshake the server rejects the client, which shows up on the first
# read.  nbdcli must say so plainly: not a protocol fault, no FLAG.
nocert=$(tmpdir)
cp "$pki/ca-cert.pem" "$nocert/"
session vp-nocert 1 "nbds+unix:///?socket=$tmp/vp.sock&tls-certificates=$nocert" \
    -c 'starttls; sr; smc base:allocation; go; state'
assert_grep -F "rejects the client's credentials" "$out"
assert_grep -F 'client certificate' "$out"
assert_grep -F 'client-cert.pem' "$out"
assert_grep -x -F 'connection closed (TLS credentials rejected)' "$out"
assert_not_grep '^FLAG' "$out"
assert_not_grep -i 'protocol' "$out"
assert_not_grep -F -e '-> NBD_OPT_GO' "$out"
# The same with --json: an error event, then the close.
session vp-nocert-json 1 --json "nbds+unix:///?socket=$tmp/vp.sock&tls-certificates=$nocert" \
    -c 'starttls; info'
assert_grep -E '"event":"error".*rejects the client.s credentials' "$out"
assert_grep -F '"reason":"TLS credentials rejected"' "$out"
assert_not_grep -F '"event":"flag"' "$out"

# A PSK the server does not share: the handshake fails.
wrongpsk=$tmp/wrong.psk
echo "alice:00112233445566778899aabbccddeeff00112233445566778899aabbccddee" >"$wrongpsk"
session wrongpsk 1 "nbds+unix://alice@/?socket=$tmp/require-psk.sock&tls-psk-file=$wrongpsk" \
    -c 'starttls'
assert_grep -F 'TLS handshake failed' "$out"
assert_not_grep -F '== TLS handshake done' "$out"
assert_not_grep '^FLAG' "$out"

# ---------------------------------------------------------------------
# Known nbdcli bugs, last so that they do not hide the checks above.

# With verification off, "it would be: ..." must be what verification
# would have said for the same host name, i.e. not "trusted" for a
# host name the certificate does not carry.
session wouldbe 0 "$uri" --tls-hostname wrong.example --tls-verify-peer=no -c 'starttls'
assert_not_grep -F 'it would be: The certificate is trusted' "$out"
assert_grep -F 'it would be: The certificate is NOT trusted' "$out"

# On a Unix socket no host name is known (unless --tls-hostname): a
# certificate for another host must not be reported as matching "the
# host name".
other=$(tmpdir)
cp "$pki/ca-cert.pem" "$other/"
(
    cd "$other"
    certtool --generate-privkey --bits 2048 --outfile server-key.pem
    printf '%s\n' 'cn = elsewhere.example' 'dns_name = elsewhere.example' \
        tls_www_server encryption_key signing_key 'serial = 9' \
        'expiration_days = 30' >server.info
    certtool --generate-certificate --load-ca-certificate "$pki/ca-cert.pem" \
        --load-ca-privkey "$pki/ca-key.pem" --load-privkey server-key.pem \
        --template server.info --outfile server-cert.pem
) >"$tmp/other-pki.log" 2>&1 || { _show "$tmp/other-pki.log"; fail "certtool failed"; }
start_bg pid nbdkit -f -U "$tmp/other.sock" --tls=require \
    --tls-certificates="$other" memory 1M >"$tmp/other.log" 2>&1
wait_for_socket "$tmp/other.sock"
session other-named 0 "nbds+unix:///?socket=$tmp/other.sock&tls-certificates=$pki&tls-hostname=elsewhere.example" \
    -c 'starttls'
assert_grep -F 'matches the host name' "$out"
session other-localhost 1 "nbds+unix:///?socket=$tmp/other.sock&tls-certificates=$pki&tls-hostname=localhost" \
    -c 'starttls'
st=0
"$NBDCLI" -t 5 "nbds+unix:///?socket=$tmp/other.sock&tls-certificates=$pki" \
    -c 'starttls' >"$tmp/other-unnamed.out" 2>&1 || st=$?
if [ "$st" = 0 ]; then
    assert_not_grep -F 'matches the host name' "$tmp/other-unnamed.out"
fi

# `set' (no argument) lists the settings in force: with
# tls-verify-peer=false in the URI it must not claim that the peer is
# verified.
session set-uri 0 "$uri&tls-verify-peer=false" -c 'set; starttls'
assert_grep -F 'not verified (verification off)' "$out"
assert_not_grep -x 'tls-verify-peer *yes' "$out"
