#!/usr/bin/env bash
# Credentials are loaded once and shared by the connections after, but
# a credentials file that changes is loaded again: one process does
# STARTTLS with a CA that signed server A, then, with a different CA
# moved over ca-cert.pem, with server B, which only the new CA signed.
# With stale credentials the second handshake fails verification.
. "${srcdir:-tests}/functions.sh"
set -e
set -x

requires nbdkit memory --version
make_pki "$tmp/pki-a"
make_pki "$tmp/pki-b"
start_bg apid nbdkit -f -U "$tmp/a.sock" --tls=require \
    --tls-certificates="$tmp/pki-a" memory 1M >"$tmp/a.log" 2>&1
start_bg bpid nbdkit -f -U "$tmp/b.sock" --tls=require \
    --tls-certificates="$tmp/pki-b" memory 2M >"$tmp/b.log" 2>&1
wait_for_socket "$tmp/a.sock"
wait_for_socket "$tmp/b.sock"
mkdir "$tmp/creds"
cp "$tmp/pki-a/ca-cert.pem" "$tmp/creds/"

# The commands come through a FIFO, so the file can change between
# them.  The shell keeps it open read-write (opening it does not block);
# nbdcli gets it as stdin and not as fd 7, so it sees the end of input
# when the shell closes fd 7.
mkfifo "$tmp/in"
exec 7<>"$tmp/in"
"$NBDCLI" -t 5 --tls-certificates "$tmp/creds" \
    "nbds+unix:///?socket=$tmp/a.sock" <"$tmp/in" >"$tmp/out" 2>&1 7>&- &
cpid=$!
cleanup_fn kill_pid "$cpid"

echo 'starttls; go' >&7
wait_for_grep "$tmp/out" 'size 1048576' ||
    { _show "$tmp/out"; fail "no \"size 1048576\" in nbdcli's output within 10 s"; }
cp "$tmp/pki-b/ca-cert.pem" "$tmp/creds/new"
mv "$tmp/creds/new" "$tmp/creds/ca-cert.pem"
echo "connect nbds+unix:///?socket=$tmp/b.sock; starttls; go" >&7
exec 7>&-
wait_for_exit "$cpid" 10 || { _show "$tmp/out"; fail "nbdcli did not exit at the end of input"; }
st=0
wait "$cpid" || st=$?
[ "$st" = 0 ] || { _show "$tmp/out"; fail "nbdcli exited with status $st"; }
assert_grep -F 'size 2097152' "$tmp/out"
assert_not_grep -F 'failed verification' "$tmp/out"
[ "$(grep -c 'TLS handshake done' "$tmp/out")" = 2 ] ||
    { _show "$tmp/out"; fail "two TLS handshakes expected"; }
