#!/usr/bin/env bash
# test-tls-qemu.sh: STARTTLS against qemu-nbd with X.509 credentials
# (tls-creds-x509).  qemu-nbd is FORCEDTLS: every option before TLS gets
# NBD_REP_ERR_TLS_REQD (with a message), shown by name and no flag; the
# manual sequences of the CVE-2021-3716 probe run cleanly (exit 0, no
# FLAG), on a Unix socket and on a loopback TCP port.  qemu's server
# credentials verify the client by default (verify-peer=on): without a
# client certificate the server rejects the client after the TLS 1.3
# handshake, and nbdcli must say so.

# shellcheck source=tests/functions.sh
. "${srcdir:-tests}/functions.sh"
set -e
set -x

requires qemu-nbd --version
# shellcheck disable=SC2016 # $NBDCLI is expanded by sh (exported)
requires sh -c '"$NBDCLI" --dump-config | grep -q "^tls=gnutls"'

pki=$tmp/pki
make_pki "$pki"



# qemu-nbd locks its image, so each server gets its own.  --persistent:
# serve more than one connection.
for i in unix tcp noverify; do
    truncate -s 1M "$tmp/$i.img"
done
sock=$tmp/qemu.sock
start_bg pid qemu-nbd --persistent \
    --object "tls-creds-x509,id=tls0,endpoint=server,dir=$pki" \
    --tls-creds tls0 -k "$sock" -f raw "$tmp/unix.img" >"$tmp/unix.log" 2>&1
port=$(free_port)
start_bg pid qemu-nbd --persistent \
    --object "tls-creds-x509,id=tls0,endpoint=server,dir=$pki" \
    --tls-creds tls0 -p "$port" -b 127.0.0.1 -f raw "$tmp/tcp.img" >"$tmp/tcp.log" 2>&1
# The same without client verification.
sock2=$tmp/noverify.sock
start_bg pid qemu-nbd --persistent \
    --object "tls-creds-x509,id=tls0,endpoint=server,dir=$pki,verify-peer=off" \
    --tls-creds tls0 -k "$sock2" -f raw "$tmp/noverify.img" >"$tmp/noverify.log" 2>&1
wait_for_socket "$sock"
wait_for_socket "$sock2"
wait_for_port "$port"

for uri in "nbds+unix:///?socket=$sock&tls-certificates=$pki" \
           "nbds://127.0.0.1:$port/?tls-certificates=$pki" \
           "nbds://localhost:$port/?tls-certificates=$pki"; do
    n=${n:-0}
    n=$((n + 1))

    # 1. TLS first, then everything a well-behaved client does.
    session "q$n-1" 0 "$uri" -c 'starttls; sr; smc base:allocation; go; state'
    assert_not_grep '^FLAG' "$out"
    assert_order "$out" '-> NBD_OPT_STARTTLS (5), length 0' \
        '<- NBD_REP_ACK (1) to NBD_OPT_STARTTLS (5), length 0' \
        '== TLS handshake done (epoch 1)' \
        '<- NBD_REP_ACK (1) to NBD_OPT_STRUCTURED_REPLY (8), length 0' \
        '"base:allocation"' \
        '<- NBD_REP_ACK (1) to NBD_OPT_SET_META_CONTEXT (10), length 0' \
        '<- NBD_REP_ACK (1) to NBD_OPT_GO (7), length 0' \
        'phase:'
    assert_grep -F 'credentials X.509' "$out"
    assert_grep -x -F '   peer certificate subject "CN=localhost,O=nbdcli test"' "$out"
    assert_grep -F '   verified: the certificate chains to a trusted CA' "$out"
    assert_grep -E '^<- NBD_REP_INFO \(3\) to NBD_OPT_GO \(7\), length 12: NBD_INFO_EXPORT \(0\): size 1048576 \(1 MiB\), flags 0x[0-9a-f]{4} \(HAS_FLAGS .*SEND_DF.*\)$' "$out"
    assert_grep -x 'phase: *transmission' "$out"
    assert_grep -x 'TLS: *up, epoch 1' "$out"
    assert_grep -x 'structured replies: yes' "$out"
    assert_grep -x 'meta contexts: *1 for export ""' "$out"
    assert_grep -x 'flags raised: *0' "$out"

    # 2. SR before STARTTLS: TLS_REQD (FORCEDTLS); INFO after TLS.
    session "q$n-2" 0 "$uri" -c 'sr; starttls; info'
    assert_not_grep '^FLAG' "$out"
    assert_order "$out" '-> NBD_OPT_STRUCTURED_REPLY (8), length 0' \
        '<- NBD_REP_ERR_TLS_REQD (0x80000005) to NBD_OPT_STRUCTURED_REPLY (8)' \
        '-> NBD_OPT_STARTTLS (5), length 0' \
        '== TLS handshake done (epoch 1)' \
        '-> NBD_OPT_INFO (6)' \
        '<- NBD_REP_ACK (1) to NBD_OPT_INFO (6), length 0'
    assert_grep -F 'message "Option 0x8 not permitted before TLS"' "$out"
    grep -F 'to NBD_OPT_INFO (6), length 12: NBD_INFO_EXPORT (0)' "$out" >"$tmp/info-line"
    assert_not_grep -F 'SEND_DF' "$tmp/info-line"

    # 3. SR and SET_META_CONTEXT before STARTTLS, SR again after, GO.
    session "q$n-3" 0 "$uri" -c 'sr; smc base:allocation; starttls; sr; go'
    assert_not_grep '^FLAG' "$out"
    assert_order "$out" \
        '<- NBD_REP_ERR_TLS_REQD (0x80000005) to NBD_OPT_STRUCTURED_REPLY (8)' \
        '<- NBD_REP_ERR_TLS_REQD (0x80000005) to NBD_OPT_SET_META_CONTEXT (10)' \
        '== TLS handshake done (epoch 1)' \
        '<- NBD_REP_ACK (1) to NBD_OPT_STRUCTURED_REPLY (8), length 0' \
        '<- NBD_REP_ACK (1) to NBD_OPT_GO (7), length 0'
    assert_grep -E '^<- NBD_REP_INFO \(3\) to NBD_OPT_GO \(7\), length 12: NBD_INFO_EXPORT \(0\): .*SEND_DF' "$out"
done

# FORCEDTLS: LIST and an unknown option before TLS get TLS_REQD by name
# (a result, no flag); after TLS the list comes.  Then data under TLS.
session list 0 "nbds+unix:///?socket=$sock&tls-certificates=$pki" \
    -c 'list; assert reply NBD_REP_ERR_TLS_REQD; opt 0x1234; assert reply NBD_REP_ERR_TLS_REQD' \
    -c 'starttls; assert tls; list; sr; smc base:allocation; go' \
    -c 'write 0 --pattern 0xab --length 512; read 0 512; block-status 0 4096; disc'
assert_not_grep '^FLAG' "$out"
assert_grep -x -F '<- NBD_REP_ERR_TLS_REQD (0x80000005) to NBD_OPT_LIST (3), length 35: message "Option 0x3 not permitted before TLS"' "$out"
assert_grep -E '^<- NBD_REP_ERR_TLS_REQD \(0x80000005\) to option 4660 \(0x1234, unknown\)' "$out"
assert_grep -x -F '<- NBD_REP_SERVER (2) to NBD_OPT_LIST (3), length 4: export ""' "$out"
assert_grep -F '<- structured chunk NBD_REPLY_TYPE_OFFSET_DATA (1)' "$out"
assert_grep -F 'NBD_REPLY_TYPE_BLOCK_STATUS' "$out"

# nbds:// and no TLS: go is refused before anything is sent.
session refuse 1 "nbds+unix:///?socket=$sock&tls-certificates=$pki" -c 'go'
assert_grep -F 'set allow-plaintext on' "$out"
assert_not_grep -F -e '-> NBD_OPT_GO' "$out"

# Peer verification: a wrong host name fails, verification off connects.
session badhost 1 "nbds://127.0.0.1:$port/?tls-certificates=$pki&tls-hostname=wrong.example" \
    -c 'starttls'
assert_grep -F 'is not in the certificate (it names ' "$out"
assert_not_grep -F '== TLS handshake done' "$out"
session noverify 0 "nbds://127.0.0.1:$port/?tls-certificates=$pki&tls-hostname=wrong.example" \
    --tls-verify-peer=no -c 'starttls; go; disc'
assert_grep -F 'not verified (verification off)' "$out"

# A certificates directory with only the CA: fine when qemu does not ask
# for a client certificate ...
nocert=$(tmpdir)
cp "$pki/ca-cert.pem" "$nocert/"
session nocert-ok 0 "nbds+unix:///?socket=$sock2&tls-certificates=$nocert" \
    -c 'starttls; sr; go; disc'
assert_not_grep '^FLAG' "$out"

# ... and rejected after the handshake when it does (verify-peer=on, the
# default).  nbdcli must say that the credentials were rejected, not
# merely that the server closed the connection.  (Known nbdcli bug: a
# clean EOF that arrives before the next option is sent skips the TLS
# rejection diagnosis in proto/session.c session_option().)
session nocert-rejected 1 "nbds+unix:///?socket=$sock&tls-certificates=$nocert" \
    -c 'starttls; sr; smc base:allocation; go; state'
assert_not_grep '^FLAG' "$out"
assert_not_grep -F -e '<- NBD_REP_ACK (1) to NBD_OPT_GO' "$out"
assert_grep -F "rejects the client's credentials" "$out"
assert_grep -F 'client certificate' "$out"
assert_grep -x -F 'connection closed (TLS credentials rejected)' "$out"
# The same with a pause after starttls (a script on stdin), so that the
# server's close is surely there before the next option goes out.
out=$tmp/nocert-slow.out
st=0
{ echo starttls; sleep 0.5; echo info; } |
    "$NBDCLI" -t 5 "nbds+unix:///?socket=$sock&tls-certificates=$nocert" >"$out" 2>&1 || st=$?
[ "$st" = 1 ] || { _show "$out"; fail "nocert-slow: exit status $st, expected 1"; }
assert_not_grep '^FLAG' "$out"
assert_grep -F "rejects the client's credentials" "$out"
assert_grep -x -F 'connection closed (TLS credentials rejected)' "$out"
