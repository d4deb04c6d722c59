#!/usr/bin/env bash
# TLS errors name the cause: no credentials, a directory without
# ca-cert.pem, an unparsable ca-cert.pem, a host name the certificate
# does not name, an expired certificate; each suggests
# --tls-certificates DIR first and --tls-verify-peer=no last, with its
# risk.  PSK and certificates together are refused in words.
. "${srcdir:-tests}/functions.sh"
set -e
set -x

requires nbdkit memory --version
pki=$tmp/pki
make_pki "$pki"

# An expired server certificate from the same CA.
exp=$tmp/expired
mkdir "$exp"
cp "$pki/ca-cert.pem" "$pki/server-key.pem" "$exp/"
cat >"$exp/server.info" <<'T'
cn = localhost
dns_name = localhost
ip_address = 127.0.0.1
tls_www_server
encryption_key
signing_key
serial = 9
activation_date = "2020-01-01 00:00:00"
expiration_date = "2021-01-02 03:04:05"
T
certtool --generate-certificate --load-ca-certificate "$pki/ca-cert.pem" \
    --load-ca-privkey "$pki/ca-key.pem" --load-privkey "$exp/server-key.pem" \
    --template "$exp/server.info" --outfile "$exp/server-cert.pem" >"$exp/log" 2>&1 ||
    { _show "$exp/log"; fail "certtool: expired certificate"; }

sock=$tmp/x509.sock
start_bg pid nbdkit -f -U "$sock" --tls=require --tls-certificates="$pki" \
    memory 1M >"$tmp/nbdkit.log" 2>&1
esock=$tmp/expired.sock
start_bg epid nbdkit -f -U "$esock" --tls=require --tls-certificates="$exp" \
    memory 1M >"$tmp/nbdkit-exp.log" 2>&1
wait_for_socket "$sock"
wait_for_socket "$esock"
uri="nbds+unix:///?socket=$sock"

# advice FILE: the credentials first, --tls-verify-peer=no last, risk said.
advice ()
{
    assert_grep -F -- '--tls-certificates DIR' "$1"
    assert_grep -F -- 'then anyone between here and the server can pretend to be it' "$1"
    assert_not_grep -F 'The certificate issuer is unknown. (use' "$1"
    grep -q -- '--tls-certificates DIR.*--tls-verify-peer=no' "$1" ||
        { _show "$1"; fail "--tls-certificates must come before --tls-verify-peer=no"; }
}

# No credentials: the system's CAs were asked.
session none 1 "$uri" -c 'starttls'
assert_grep -F 'no CA certificate was given' "$out"
advice "$out"

# An empty directory: no ca-cert.pem.
mkdir "$tmp/empty"
session empty 1 --tls-certificates "$tmp/empty" "$uri" -c 'starttls'
assert_grep -F "no CA certificate: $tmp/empty/ca-cert.pem does not exist" "$out"
advice "$out"

# An unparsable ca-cert.pem: refused before the handshake.
mkdir "$tmp/junk"
echo 'this is not a certificate' >"$tmp/junk/ca-cert.pem"
session junk 1 --tls-certificates "$tmp/junk" "$uri" -c 'starttls'
assert_grep -F "$tmp/junk/ca-cert.pem is not a PEM certificate" "$out"

# The wrong CA.
mkdir "$tmp/other"
make_pki "$tmp/other-pki"
cp "$tmp/other-pki/ca-cert.pem" "$tmp/other/"
session other-ca 1 --tls-certificates "$tmp/other" "$uri" -c 'starttls'
assert_grep -F "it was not signed by the CA in $tmp/other/ca-cert.pem" "$out"
advice "$out"

# A host name the certificate does not name.
session hostname 1 --tls-certificates "$pki" --tls-hostname wrong.example "$uri" -c 'starttls'
assert_grep -F 'the host name wrong.example is not in the certificate (it names localhost, 127.0.0.1, ::1)' "$out"
advice "$out"

# Expired.
session expired 1 --tls-certificates "$pki" "nbds+unix:///?socket=$esock" -c 'starttls'
assert_grep -F 'the certificate expired on 2021-01-02 03:04:05 UTC' "$out"
advice "$out"

# The right credentials still work.
session good 0 --tls-certificates "$pki" "$uri" -c 'starttls; go'

# PSK and certificates together: refused in words, nothing sent after.
make_psk "$tmp/keys.psk" alice
session both 1 --tls-certificates "$pki" --tls-psk "$tmp/keys.psk" --tls-username alice "$uri" -c 'starttls'
assert_grep -F 'both a PSK keys file' "$out"
assert_grep -F 'TLS uses one or the other' "$out"
assert_not_grep -F 'Insufficient credentials' "$out"
