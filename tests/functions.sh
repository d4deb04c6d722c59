# tests/functions.sh: helpers for nbdcli's tests.  bash only.
#
# Tests are run by tests/run-tests.sh from the top of the tree with
# NBDCLI, FLAWED, srcdir and PATH set, and start like this:
#
#   #!/usr/bin/env bash
#   . "${srcdir:-tests}/functions.sh"
#   set -e
#   set -x
#
# Sourcing this file makes a temporary directory $tmp, removed at exit
# (kept if KEEP_TMP=1).  Exit status: 0 pass, 77 skip, anything else fail.
# Modelled on libnbd's and nbdkit's tests/functions.sh.in.

: "${srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}"
: "${NBDCLI:=$srcdir/../nbdcli}"
: "${FLAWED:=$srcdir/flawed-server}"
export srcdir NBDCLI FLAWED

unset LS_COLORS

# ---------------------------------------------------------------- cleanup

# cleanup_fn CMD ARGS...: run CMD ARGS... at exit (last registered, first
# run), whatever the exit status.
declare -a _cleanup_fns=()
cleanup_fn ()
{
    _cleanup_fns+=("$(printf '%q ' "$@")")
}

_run_cleanup_fns ()
{
    local status=$? i
    set +e
    { set +x; } 2>/dev/null
    for (( i = ${#_cleanup_fns[@]} - 1; i >= 0; i-- )); do
        eval "${_cleanup_fns[i]}"
    done
    _cleanup_fns=()
    exit $status
}
trap _run_cleanup_fns EXIT
# Signals (timeout sends TERM) also go through the EXIT trap.
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- tmpdir

tmp=$(mktemp -d "${TMPDIR:-/tmp}/nbdcli-test.XXXXXXXX")
if [ "${KEEP_TMP:-0}" = 1 ]; then
    cleanup_fn echo "KEEP_TMP=1: temporary files kept in $tmp"
else
    cleanup_fn rm -rf "$tmp"
fi
export tmp

# Never touch the user's real history or inputrc.
export NBDCLI_HISTFILE=$tmp/history INPUTRC=/dev/null

# tmpdir: print the name of a new empty directory inside $tmp.
tmpdir ()
{
    mktemp -d "$tmp/d.XXXXXX"
}

# ---------------------------------------------------------------- verdicts

# fail MSG...: the test fails.
fail ()
{
    { set +x; } 2>/dev/null
    echo "FAIL: $*" >&2
    exit 1
}

# skip MSG...: the test is skipped (exit 77).
skip ()
{
    { set +x; } 2>/dev/null
    echo "SKIP: $*" >&2
    exit 77
}

# requires CMD ARGS...: run it (output discarded); skip the test if it
# fails, e.g.  requires nbdkit memory --version
requires ()
{
    if ! "$@" >/dev/null 2>&1 </dev/null; then
        skip "missing $1 (\"$*\" failed)"
    fi
}

# requires_lineedit: skip unless nbdcli was built with a line editor.
requires_lineedit ()
{
    if "$NBDCLI" --dump-config 2>/dev/null | grep -q '^lineedit=none$'; then
        skip "nbdcli was built without a line editor"
    fi
}

# qemu_nbd_debian12: prints the path of Debian 12's qemu-nbd (7.2): the
# one on PATH when it is 7.x, else the one scripts/install-deps
# --modern unpacks beside the modern one; nothing when neither is there.
qemu_nbd_debian12 ()
{
    local q=/opt/nbdcli/qemu-debian12/usr/bin/qemu-nbd
    if qemu-nbd --version 2>/dev/null | head -n 1 | grep -q '^qemu-nbd 7\.'; then
        command -v qemu-nbd
    elif [ -x "$q" ] && "$q" --version >/dev/null 2>&1; then
        echo "$q"
    fi
}

# qemu_nbd_modern: prints the path of a qemu-nbd with extended headers
# (8.2 or later) on PATH, or nothing.
qemu_nbd_modern ()
{
    local v
    v=$(qemu-nbd --version 2>/dev/null | awk 'NR == 1 { print $2 }')
    case $v in
    ''|[0-7].*|8.[01].*) ;;
    *) command -v qemu-nbd ;;
    esac
}

# assert_grep [GREP-OPTIONS...] PATTERN FILE: FILE must match; prints
# FILE when it does not.  assert_not_grep: FILE must not match (a grep
# error, e.g. a missing FILE, fails too).  A PATTERN that starts with
# `-' needs -e (or --) before it:  assert_grep -F -e '-> NBD_OPT_GO' FILE
assert_grep ()
{
    local file=${*: -1}
    if ! grep -q "${@:1:$#-1}" "$file"; then
        { set +x; } 2>/dev/null
        echo "FAIL: assert_grep: no match for \"${*: -2:1}\" in $file:" >&2
        _show "$file"
        exit 1
    fi
}

assert_not_grep ()
{
    local file=${*: -1} st=0
    grep -q "${@:1:$#-1}" "$file" || st=$?
    if [ "$st" = 0 ]; then
        { set +x; } 2>/dev/null
        echo "FAIL: assert_not_grep: unexpected match for \"${*: -2:1}\" in $file:" >&2
        _show "$file"
        exit 1
    elif [ "$st" != 1 ]; then
        fail "assert_not_grep: grep failed (status $st) on $file"
    fi
}

_show ()
{
    echo "---- $1:" >&2
    cat -- "$1" >&2
    echo "----" >&2
}

# expect_status N CMD ARGS...: run CMD (stdin from /dev/null) with its
# stdout and stderr in $tmp/out; fail, showing them, unless it exits
# with status N.
expect_status ()
{
    local want=$1 st=0
    shift
    "$@" >"$tmp/out" 2>&1 </dev/null || st=$?
    if [ "$st" != "$want" ]; then
        { set +x; } 2>/dev/null
        echo "FAIL: expected exit status $want, got $st: $*" >&2
        _show "$tmp/out"
        exit 1
    fi
}

# session NAME STATUS ARGS...: run nbdcli ARGS (with a 5 s timeout),
# which must exit with STATUS; its output is left in $out
# ($tmp/NAME.out).  A test may define its own session instead.
session ()
{
    local name=$1 want=$2
    shift 2
    expect_status "$want" "$NBDCLI" -t 5 "$@"
    out=$tmp/$name.out
    mv "$tmp/out" "$out"
}

# assert_order FILE STRING...: each fixed STRING occurs in FILE, on a
# line after the first occurrence of the one before.
assert_order ()
{
    local file=$1 prev=0 n s
    shift
    for s in "$@"; do
        n=$(awk -v s="$s" -v p="$prev" 'NR > p && index($0, s) { print NR; exit }' "$file")
        if [ -z "$n" ]; then
            { set +x; } 2>/dev/null
            _show "$file"
            fail "assert_order: \"$s\" not found after line $prev of $file"
        fi
        prev=$n
    done
}

# ---------------------------------------------------------------- servers

# start_bg VAR CMD ARGS...: start CMD in the background, store its pid
# in VAR and kill it (by that pid) at exit.  Keep the server in the
# foreground of its own process: nbdkit -f, nbd-server -d, qemu-nbd
# without --fork; redirect its output, e.g.
#   start_bg pid nbdkit -f -p "$port" memory 1M >"$tmp/server.log" 2>&1
start_bg ()
{
    local _start_bg_var=$1
    shift
    "$@" &
    printf -v "$_start_bg_var" '%s' "$!"
    cleanup_fn kill_pid "$!"
}

# kill_pid PID: stop a process started by start_bg: TERM, up to 5 s,
# then KILL.
kill_pid ()
{
    local pid=$1
    kill "$pid" 2>/dev/null || return 0
    wait_for_exit "$pid" 5 || :
    kill -9 "$pid" 2>/dev/null || :
    wait "$pid" 2>/dev/null
    return 0
}

# _pid_alive PID: does PID run?  A zombie does not: a daemon (e.g.
# nbd-server, killed by the pid in its pid file) is reparented to pid 1,
# which may be slow to reap it.
_pid_alive ()
{
    local stat
    kill -0 "$1" 2>/dev/null || return 1
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
    stat=${stat##*) }
    [ "${stat%% *}" != Z ]
}

# wait_for_exit PID [TIMEOUT]: wait until PID no longer runs (default
# 5 s); returns 1 if it still does.
wait_for_exit ()
{
    local pid=$1 t=${2:-5} i
    for (( i = 0; i < t * 10; i++ )); do
        _pid_alive "$pid" || return 0
        sleep 0.1
    done
    ! _pid_alive "$pid"
}

# wait_for_grep FILE PATTERN [TIMEOUT]: wait until grep finds PATTERN
# (a basic regular expression) in FILE (default 10 s); returns 1 if it
# does not.  The caller asserts, with what it expected.
wait_for_grep ()
{
    local file=$1 pattern=$2 t=${3:-10} i
    for (( i = 0; i < t * 10; i++ )); do
        grep -q -e "$pattern" "$file" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# free_port: print a TCP port on 127.0.0.1 that nothing listens on.
free_port ()
{
    local port i
    if command -v python3 >/dev/null 2>&1 &&
       port=$(python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])' 2>/dev/null) && [ -n "$port" ]; then
        echo "$port"
        return 0
    fi
    for (( i = 0; i < 100; i++ )); do
        port=$(( 20000 + RANDOM % 40000 ))
        if ! _port_listening "$port"; then
            echo "$port"
            return 0
        fi
    done
    fail "free_port: no free port found"
}

# _port_listening PORT: is something listening on TCP PORT?  Reads
# /proc/net/tcp{,6} so that nothing connects to the server (qemu-nbd
# without --persistent would exit after one connection).
_port_listening ()
{
    local hex
    hex=$(printf '%04X' "$1")
    awk -v p=":$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { f = 1 }
                      END { exit !f }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# wait_for_port PORT [TIMEOUT]: wait until something listens on PORT
# (default 10 s); the test fails on timeout.
wait_for_port ()
{
    local port=$1 t=${2:-10} i
    for (( i = 0; i < t * 10; i++ )); do
        _port_listening "$port" && return 0
        sleep 0.1
    done
    fail "wait_for_port: nothing listens on port $port after ${t}s"
}

# _socket_listening PATH: does a socket listen on the Unix socket PATH?
# The file appears at bind(), before listen(): a client connecting in
# between is refused.  Read from /proc/net/unix (flag __SO_ACCEPTCON,
# 00010000), so that nothing connects to the server.  A socket bound
# under another name and renamed (the hostile server does that, to
# appear only once it listens) is not listed under PATH: then, and where
# /proc/net/unix cannot be read, the file is taken as enough.
_socket_listening ()
{
    [ -S "$1" ] || return 1
    [ -r /proc/net/unix ] || return 0
    awk -v p="$1" '$NF == p { if ($4 == "00010000") l = 1; else b = 1 }
                   END { exit !(l || !b) }' /proc/net/unix
}

# wait_for_socket PATH [TIMEOUT]: wait until something listens on the
# Unix socket PATH (default 10 s); the test fails on timeout.
wait_for_socket ()
{
    local path=$1 t=${2:-10} i
    for (( i = 0; i < t * 10; i++ )); do
        _socket_listening "$path" && return 0
        sleep 0.1
    done
    fail "wait_for_socket: nothing listens on $path after ${t}s"
}

# wait_for_file PATH [TIMEOUT]: the same for a file (e.g. a pid file).
wait_for_file ()
{
    local path=$1 t=${2:-10} i
    for (( i = 0; i < t * 10; i++ )); do
        [ -s "$path" ] && return 0
        sleep 0.1
    done
    fail "wait_for_file: no file $path after ${t}s"
}

# ---------------------------------------------------------------- TLS

# make_pki DIR: a CA, a server certificate for localhost, 127.0.0.1 and
# ::1, and a client certificate, in the layout of nbdkit's
# --tls-certificates, qemu's tls-creds-x509 and libnbd's
# tls-certificates: ca-cert.pem ca-key.pem server-cert.pem
# server-key.pem client-cert.pem client-key.pem.  Skips the test if
# certtool is missing.  (After libnbd's tests/make-pki.sh.)
make_pki ()
{
    local dir=$1
    requires certtool --version
    mkdir -p "$dir"
    (
        set -e
        cd "$dir"
        certtool --generate-privkey --bits 2048 --outfile ca-key.pem
        cat >ca.info <<EOF
cn = nbdcli test CA
ca
cert_signing_key
expiration_days = 3650
EOF
        certtool --generate-self-signed --load-privkey ca-key.pem \
                 --template ca.info --outfile ca-cert.pem

        certtool --generate-privkey --bits 2048 --outfile server-key.pem
        cat >server.info <<EOF
organization = nbdcli test
cn = localhost
dns_name = localhost
ip_address = 127.0.0.1
ip_address = ::1
tls_www_server
encryption_key
signing_key
serial = 1
expiration_days = 3650
EOF
        certtool --generate-certificate --load-ca-certificate ca-cert.pem \
                 --load-ca-privkey ca-key.pem --load-privkey server-key.pem \
                 --template server.info --outfile server-cert.pem

        certtool --generate-privkey --bits 2048 --outfile client-key.pem
        cat >client.info <<EOF
organization = nbdcli test
cn = client
tls_www_client
encryption_key
signing_key
serial = 2
expiration_days = 3650
EOF
        certtool --generate-certificate --load-ca-certificate ca-cert.pem \
                 --load-ca-privkey ca-key.pem --load-privkey client-key.pem \
                 --template client.info --outfile client-cert.pem
        chmod 0600 ca-key.pem server-key.pem client-key.pem
    ) >"$dir/make-pki.log" 2>&1 || {
        { set +x; } 2>/dev/null
        _show "$dir/make-pki.log"
        fail "make_pki: certtool failed"
    }
}

# make_psk FILE USER: a PSK file (USER:HEXKEY) made with psktool; skips
# the test if psktool is missing.
make_psk ()
{
    local file=$1 user=$2
    requires psktool --version
    rm -f "$file"
    psktool -u "$user" -p "$file" >/dev/null 2>&1 ||
        fail "make_psk: psktool -u $user -p $file failed"
    chmod 0600 "$file"
}
