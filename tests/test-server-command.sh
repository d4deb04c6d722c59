#!/usr/bin/env bash
# `[ SERVER-CMD ARGS... ]' as nbdinfo does it: systemd socket activation
# (nbdkit without -s, qemu-nbd), a socket on stdin/stdout (nbdkit -s),
# and a server that never outlives nbdcli, whatever ends nbdcli: a
# normal exit, a failing command, a usage error, SIGTERM, SIGHUP,
# SIGINT.  Servers are found by the pid they write, never by name.
. "${srcdir:-tests}/functions.sh"
set -e
set -x

requires nbdkit memory --version

# nbdkit without -s, exactly as nbdinfo's man page writes it.
session activated 0 [ nbdkit memory 1M ] -c list
assert_grep -F '<- NBD_REP_SERVER (2) to NBD_OPT_LIST (3), length 4: export ""' "$out"
assert_not_grep -i 'closed' "$out"
# nbdkit -s keeps its socket on stdin and stdout.
session single 0 [ nbdkit -s memory 1M ] -c list
assert_grep -F 'NBD_REP_SERVER (2)' "$out"
session single-long 0 [ nbdkit --single memory 1M ] -c 'go; assert size 1M'

# No temporary socket directory is left behind.
export TMPDIR=$tmp/t
mkdir "$TMPDIR"
session no-litter 0 [ nbdkit memory 1M ] -c 'list; reconnect; list'
[ -z "$(ls -A "$TMPDIR")" ] || fail "left in TMPDIR: $(ls -A "$TMPDIR")"

# gone PIDFILE: the server whose pid is in PIDFILE, and its whole
# process group, have ended (within 5 s).
gone ()
{
    local pid i
    pid=$(cat "$1")
    for (( i = 0; i < 50; i++ )); do
        if ! _pid_alive "$pid" &&
           [ -z "$(ps -eo pgid=,stat= | awk -v g="$pid" '$1 == g && $2 !~ /^Z/')" ]; then
            return 0
        fi
        sleep 0.1
    done
    ps -eo pid,pgid,stat,args | awk -v g="$pid" '$2 == g'
    fail "server $pid (from $1) still runs after nbdcli ended"
}

# Normal exit, a failing command, a usage error.
rm -f "$tmp/pid"
session exit-ok 0 [ nbdkit -P "$tmp/pid" memory 1M ] -c 'list'
gone "$tmp/pid"
rm -f "$tmp/pid"
session exit-fail 1 [ nbdkit -P "$tmp/pid" memory 1M ] -c 'go; assert size 2M'
gone "$tmp/pid"
rm -f "$tmp/pid"
session exit-usage 2 [ nbdkit -P "$tmp/pid" memory 1M ] -c 'no-such-command'
gone "$tmp/pid"

# Signals: nbdcli waits for its script on a fifo, the server running.
mkfifo "$tmp/fifo"
for sig in TERM HUP INT; do
    rm -f "$tmp/pid" "$tmp/sig.out"
    # Hold the fifo open for writing so nbdcli blocks reading it.
    exec 7<>"$tmp/fifo"
    "$NBDCLI" [ nbdkit -P "$tmp/pid" memory 1M ] <"$tmp/fifo" >"$tmp/sig.out" 2>&1 &
    cli=$!
    cleanup_fn kill_pid "$cli"
    echo 'list; echo sig-ready' >&7
    wait_for_grep "$tmp/sig.out" '^sig-ready' || :
    assert_grep '^sig-ready' "$tmp/sig.out"
    wait_for_file "$tmp/pid"
    kill -s "$sig" "$cli"
    wait_for_exit "$cli" 5 || fail "nbdcli still runs after SIG$sig"
    st=0
    timeout 5 tail --pid="$cli" -f /dev/null || :
    wait "$cli" || st=$?
    exec 7>&-
    gone "$tmp/pid"
    echo "ok: SIG$sig: nbdcli ended (status $st), its server too"
done

# qemu-nbd can only be started this way with socket activation.
if command -v qemu-nbd >/dev/null && command -v qemu-img >/dev/null; then
    qemu-img create -f qcow2 "$tmp/disk.qcow2" 1M >/dev/null
    session qemu 0 [ qemu-nbd -f qcow2 "$tmp/disk.qcow2" ] -c 'go; assert size 1M; write 0 "hi"; read 0 2'
    assert_grep -F 'NBD_OPT_GO (7)' "$out"
else
    echo "note: qemu-nbd or qemu-img missing: socket activation of qemu-nbd not tested"
fi
