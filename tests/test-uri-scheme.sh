#!/usr/bin/env bash
# A word that starts with an NBD URI scheme is a URI, never a socket
# path or a host: `nbd:/localhost' (one slash) is a malformed URI and
# the message shows the expected form.  `nbd:10809' stays HOST:PORT.
. "${srcdir:-tests}/functions.sh"
set -e
set -x

# bad TARGET FORM: exit 2, the URI named, the form shown, no connect().
bad ()
{
    expect_status 2 "$NBDCLI" -t 2 "$1" -c 'echo not-reached'
    assert_grep -F -e "$1: " "$tmp/out"
    assert_grep -F -e "(expected $2" "$tmp/out"
    assert_not_grep -i 'no such file\|connect:\|not-reached' "$tmp/out"
    # The same word with `connect' fails (status 1) with the same words.
    expect_status 1 "$NBDCLI" -t 2 -c "connect '$1'"
    assert_grep -F -e "connect: $1: " "$tmp/out"
    assert_grep -F -e "(expected $2" "$tmp/out"
}
bad 'nbd:/localhost' 'nbd://HOST[:PORT]/EXPORT)'
bad 'nbd:localhost/disk' 'nbd://HOST[:PORT]/EXPORT)'
bad 'nbds:/localhost' 'nbds://HOST[:PORT]/EXPORT)'
bad 'nbd+unix:/disk?socket=/tmp/s' 'nbd+unix:///EXPORT?socket=PATH)'
bad 'nbds+unix:' 'nbds+unix:///EXPORT?socket=PATH)'
bad 'nbd+tcp://localhost/' 'nbd://HOST[:PORT]/EXPORT'
bad 'gopher://localhost/' 'nbd://HOST[:PORT]/EXPORT'
# A directory with that name does not change it.
mkdir -p "$tmp/cwd/nbd:"
(cd "$tmp/cwd" && expect_status 2 "$NBDCLI" -t 2 'nbd:/localhost' -c 'echo not-reached')
assert_grep -F 'malformed NBD URI' "$tmp/out"
# Other mistakes in a URI show the form too.
expect_status 2 "$NBDCLI" 'nbd://localhost:0/x'
assert_grep -F 'the port is not a number from 1 to 65535: nbd://HOST[:PORT]/EXPORT' "$tmp/out"
expect_status 2 "$NBDCLI" 'nbd+unix://host/x?socket=/s'
assert_grep -F 'takes no host: nbd+unix:///EXPORT?socket=PATH' "$tmp/out"
expect_status 2 "$NBDCLI" 'nbd+vsock://2/x'
assert_grep -F 'vsock URIs are not supported' "$tmp/out"

# nbd:PORT is the host "nbd" and a port, not a URI.
expect_status 1 "$NBDCLI" -t 2 'nbd:1' -c 'echo not-reached'
assert_not_grep -F 'URI' "$tmp/out"
assert_grep -F 'connect: nbd:1:' "$tmp/out"

# A good URI still works.
requires nbdkit memory --version
sock=$tmp/sock
start_bg pid nbdkit -f -U "$sock" memory 1M >"$tmp/nbdkit.log" 2>&1
wait_for_socket "$sock"
expect_status 0 "$NBDCLI" -t 5 "nbd+unix:///?socket=$sock" -c 'info'
