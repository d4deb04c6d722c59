#!/usr/bin/env bash
# test-check-client-mistakes.sh: a verdict comes only from the server's
# behaviour.  Correct servers (nbdkit with X.509 and with PSK, qemu-nbd
# with TLS requiring client certificates) are audited with each mistake
# a client can make: no CA, the wrong CA, the wrong host name, a
# missing key file, the wrong PSK key, an unknown PSK user, no client
# certificate where one is required.  Each audit must
#   - raise no FLAG and no WARN beyond those the same server gets with
#     correct credentials (the server's own, e.g. qemu-nbd's ABORT);
#   - name the client's mistake, in words, in "TLS not tested: CAUSE";
#   - exit 1: TLS was asked for and not tested, which is not a pass.

# shellcheck source=tests/functions.sh
. "${srcdir:-tests}/functions.sh"
# shellcheck source=tests/check-functions.sh
. "${srcdir:-tests}/check-functions.sh"
set -e
set -x

requires nbdkit --version
requires qemu-nbd --version
requires certtool --version
requires psktool --version

pki=$tmp/pki
make_pki "$pki"
make_pki "$tmp/other"
mkdir "$tmp/empty" "$tmp/wrongca" "$tmp/nokey" "$tmp/caonly"
cp "$tmp/other/ca-cert.pem" "$tmp/wrongca/"
cp "$pki/ca-cert.pem" "$pki/client-cert.pem" "$tmp/nokey/"
cp "$pki/ca-cert.pem" "$tmp/caonly/"
make_psk "$tmp/keys.psk" alice
make_psk "$tmp/wrong.psk" alice          # the same user, another key
make_psk "$tmp/bob.psk" bob              # a user the server does not know

# flags_and_warns FILE: the FLAG and WARN rows' ids, sorted.
flags_and_warns ()
{
    awk -F '\t' '$1 == "FLAG" || $1 == "WARN" { print $1, $2 }' "${1%.out}.rows" | sort
}

# mistake NAME BASELINE CAUSE-REGEX NBDCLI-ARGS...: the audit with the
# mistake exits 1, adds no FLAG or WARN to BASELINE's, and says CAUSE.
mistake ()
{
    local name=$1 base=$2 cause=$3
    shift 3
    audit "$name" 1 "$@"
    flags_and_warns "$out" >"$tmp/$name.fw"
    if ! comm -23 "$tmp/$name.fw" "$tmp/$base.fw" | diff /dev/null - >/dev/null; then
        _show "$out"
        fail "$name: FLAG or WARN rows that the correct credentials do not get: $(comm -23 "$tmp/$name.fw" "$tmp/$base.fw")"
    fi
    assert_grep -E "^TLS not tested: .*$cause" "$out"
    # The cause is in the discovery line too, and no probe's evidence
    # blames the server for it.
    assert_grep -E "^check .*$cause" "$out"
}

# ---- nbdkit, X.509, TLS required.
sock=$tmp/x509.sock
start_bg kpid nbdkit -U "$sock" -f --tls=require --tls-certificates="$pki" memory 1M
wait_for_socket "$sock"
u="nbds+unix:///?socket=$sock"
audit x509-good 0 check "$u&tls-certificates=$pki"
flags_and_warns "$out" >"$tmp/x509-good.fw"
[ ! -s "$tmp/x509-good.fw" ] || { _show "$out"; fail "nbdkit X.509: FLAG or WARN with correct credentials"; }
mistake x509-no-ca x509-good "no CA certificate: $tmp/empty/ca-cert.pem does not exist" \
    check "$u&tls-certificates=$tmp/empty"
mistake x509-wrong-ca x509-good "not signed by the CA in $tmp/wrongca/ca-cert.pem" \
    check "$u&tls-certificates=$tmp/wrongca"
mistake x509-wrong-host x509-good "the host name wrong\\.example is not in the certificate" \
    check "$u&tls-certificates=$pki&tls-hostname=wrong.example"
mistake x509-no-key x509-good "has client-cert\\.pem but not client-key\\.pem" \
    check "$u&tls-certificates=$tmp/nokey"
# The same against the server in TLS mode "on": TLS offered but not
# usable is not tested either (a plain nbd:// target).
kill_pid "$kpid"
sock=$tmp/x509-on.sock
start_bg kpid nbdkit -U "$sock" -f --tls=on --tls-certificates="$pki" memory 1M
wait_for_socket "$sock"
audit x509-on-good 0 check "nbd+unix:///?socket=$sock&tls-certificates=$pki"
flags_and_warns "$out" >"$tmp/x509-on-good.fw"
mistake x509-on-no-ca x509-on-good "no CA certificate: $tmp/empty/ca-cert.pem does not exist" \
    check "nbd+unix:///?socket=$sock&tls-certificates=$tmp/empty"
kill_pid "$kpid"

# ---- nbdkit, PSK, TLS required.
sock=$tmp/psk.sock
start_bg kpid nbdkit -U "$sock" -f --tls=require --tls-psk="$tmp/keys.psk" memory 1M
wait_for_socket "$sock"
audit psk-good 0 check "nbds+unix://alice@/?socket=$sock&tls-psk-file=$tmp/keys.psk"
flags_and_warns "$out" >"$tmp/psk-good.fw"
[ ! -s "$tmp/psk-good.fw" ] || { _show "$out"; fail "nbdkit PSK: FLAG or WARN with correct credentials"; }
mistake psk-wrong-key psk-good "the server rejected the PSK identity or key" \
    check "nbds+unix://alice@/?socket=$sock&tls-psk-file=$tmp/wrong.psk"
mistake psk-unknown-user psk-good "the server rejected the PSK identity or key" \
    check "nbds+unix://bob@/?socket=$sock&tls-psk-file=$tmp/bob.psk"
mistake psk-no-such-user-in-file psk-good "has no key for user \"carol\"" \
    check "nbds+unix://carol@/?socket=$sock&tls-psk-file=$tmp/keys.psk"
kill_pid "$kpid"

# ---- qemu-nbd, X.509, client certificates required (verify-peer=on).
sock=$tmp/qemu.sock
truncate -s 1M "$tmp/disk.img"
start_bg qpid qemu-nbd -k "$sock" -f raw -t -e 8 \
    --object "tls-creds-x509,id=tls0,dir=$pki,endpoint=server,verify-peer=on" \
    --tls-creds tls0 "$tmp/disk.img"
wait_for_socket "$sock"
u="nbds+unix:///?socket=$sock"
audit qemu-good 0 check "$u&tls-certificates=$pki"
flags_and_warns "$out" >"$tmp/qemu-good.fw"
mistake qemu-no-client-cert qemu-good "the server wants a client certificate and none was given" \
    check "$u&tls-certificates=$tmp/caonly"
mistake qemu-no-ca qemu-good "no CA certificate: $tmp/empty/ca-cert.pem does not exist" \
    check "$u&tls-certificates=$tmp/empty"
kill_pid "$qpid"
echo "every client mistake was named, and none was blamed on the server"
