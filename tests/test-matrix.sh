#!/usr/bin/env bash
# test-matrix.sh: every transmission command (READ, WRITE with and
# without FUA, FLUSH, TRIM, WRITE_ZEROES with NO_HOLE and FAST_ZERO,
# CACHE, BLOCK_STATUS with and without REQ_ONE, DF reads, DISC) in
# simple, structured and extended-header mode, against nbdkit, qemu-nbd
# (Debian 12's 7.2 and a modern one) and nbd-server, one request at a
# time and pipelined (every request
# sent with `&', then `wait'); the data is read back and compared.
#
# A cell (server x mode x pipelined) runs when the server offers the
# mode; otherwise it is a named skip in the log ("SKIP CELL ...: why"),
# and the test still passes.  A command the mode cannot carry (block
# status and DF need structured replies) is a named skip too.  Each
# cell that runs must exit 0: no flag, no failure.  The matrix is
# printed at the end.

# shellcheck source=tests/functions.sh
. "${srcdir:-tests}/functions.sh"
set -e

requires cmp --version

results=()
failed=()

note () { results+=("$*"); echo "$*"; }

# The commands of a cell.  MODE: simple, structured or extended;
# AMP: "" or " &".  Data goes to $tmp/d.* and is compared afterwards.
cell_script ()
{
    local mode=$1 amp=$2 d=$3 s
    case $mode in
    simple)     s='go' ;;
    structured) s='sr; smc base:allocation; go' ;;
    extended)   s='eh; smc base:allocation; go' ;;
    esac
    s+="; write 0 \"hello\"$amp"
    s+="; write 4096 --pattern 0xab --length 4096 --fua$amp"
    s+="; write 8192 --pattern 0xcd --length 8192$amp"
    [ -n "$amp" ] && s+="; wait"
    s+="; flush$amp"
    s+="; trim 8192 4096$amp"
    s+="; zero 12288 4096 --no-hole$amp"
    s+="; zero 20480 4096 --fast-zero$amp"
    s+="; cache 0 4096$amp"
    if [ "$mode" != simple ]; then
        s+="; block-status 0 64k$amp; block-status 0 64k --req-one$amp"
        s+="; read 0 4096 --df$amp"
    fi
    [ -n "$amp" ] && s+="; wait"
    # Read back: all of it in one request, and in four pieces (sent
    # together when pipelined, landing in their own files).
    s+="; read 0 5 --out $d.hello"
    s+="; read 4096 4096 --out $d.ab"
    s+="; read 12288 4096 --out $d.zero"
    s+="; read 0 64k --out $d.all"
    s+="; read 0 16k --out $d.p0$amp; read 16k 16k --out $d.p1$amp"
    s+="; read 32k 16k --out $d.p2$amp; read 48k 16k --out $d.p3$amp"
    [ -n "$amp" ] && s+="; wait"
    s+="; disc"
    printf '%s' "$s"
}

# run_cell SERVER MODE PIPE TARGET...: one cell.
run_cell ()
{
    local server=$1 mode=$2 pipe=$3 amp="" d name st=0
    shift 3
    name="$server $mode $pipe"
    [ "$pipe" = pipelined ] && amp=" &"
    d=$tmp/cell-${server}-${mode}-${pipe}
    rm -f "$d".*
    script=$(cell_script "$mode" "$amp" "$d")
    "$NBDCLI" -t 10 "$@" -c "$script" >"$d.out" 2>&1 || st=$?
    if [ "$st" != 0 ]; then
        failed+=("$name: exit status $st")
        note "FAIL CELL $name: exit status $st"
        grep -E '^FLAG|^nbdcli:' "$d.out" | head -n 5
        return 0
    fi
    if [ "$(cat "$d.hello")" != hello ] ||
       ! cmp -s "$d.ab" <(head -c 4096 /dev/zero | tr '\0' '\253') ||
       ! cmp -s "$d.zero" <(head -c 4096 /dev/zero) ||
       ! cmp -s "$d.all" <(cat "$d.p0" "$d.p1" "$d.p2" "$d.p3"); then
        failed+=("$name: data read back differs")
        note "FAIL CELL $name: data read back differs"
        return 0
    fi
    if [ "$pipe" = pipelined ] && ! grep -q 'in flight, not waited for' "$d.out"; then
        failed+=("$name: nothing was pipelined")
        note "FAIL CELL $name: nothing was pipelined"
        return 0
    fi
    if [ "$mode" = simple ]; then
        note "PASS CELL $name (SKIP in it: block-status, read --df: need structured replies)"
    else
        note "PASS CELL $name"
    fi
}

# offers SERVER MODE TARGET...: does the server take the mode's option?
offers ()
{
    local mode=$1 opt
    shift
    case $mode in
    simple) return 0 ;;
    structured) opt=sr ;;
    extended) opt=eh ;;
    esac
    "$NBDCLI" -t 5 "$@" -c "set errexit off; $opt; assert reply NBD_REP_ACK" \
        >"$tmp/offers" 2>&1
}

matrix ()
{
    local server=$1 mode pipe
    shift
    for mode in simple structured extended; do
        if ! offers "$mode" "$@"; then
            local what="structured replies" o=NBD_OPT_STRUCTURED_REPLY
            [ "$mode" = extended ] && what="extended headers" o=NBD_OPT_EXTENDED_HEADERS
            for pipe in sequential pipelined; do
                note "SKIP CELL $server $mode $pipe: the server does not offer $what ($o not acknowledged)"
            done
            continue
        fi
        for pipe in sequential pipelined; do
            run_cell "$server" "$mode" "$pipe" "$@"
        done
    done
}

# ------------------------------------------------------------- nbdkit
if nbdkit memory --version >/dev/null 2>&1; then
    sock=$tmp/nbdkit.sock
    start_bg pid nbdkit -f -U "$sock" memory 1M >"$tmp/nbdkit.log" 2>&1
    wait_for_socket "$sock"
    matrix nbdkit "nbd+unix:///?socket=$sock"
    kill_pid "$pid"
else
    note "SKIP SERVER nbdkit: not installed"
fi

# ----------------------------------------------------------- qemu-nbd
# Debian 12's (7.2: structured replies, no extended headers) and a
# modern one (bookworm-backports, 10.x: extended headers), each when
# installed; scripts/install-deps --modern provides both.
qemu_matrix ()                  # NAME PATH
{
    local name=$1 q=$2 qv
    qv=$("$q" --version | awk 'NR == 1 { $1 = "qemu-nbd"; print }')
    truncate -s 1M "$tmp/$name.img"
    sock=$tmp/$name.sock
    start_bg pid "$q" -t -k "$sock" -f raw -x disk "$tmp/$name.img" \
        >"$tmp/$name.log" 2>&1
    wait_for_socket "$sock"
    note "SERVER $name: $qv ($q)"
    matrix "$name" "nbd+unix:///disk?socket=$sock"
    kill_pid "$pid"
}
q12=$(qemu_nbd_debian12)
qmod=$(qemu_nbd_modern)
if [ -n "$q12" ]; then
    qemu_matrix qemu-nbd-7.2 "$q12"
else
    note "SKIP SERVER qemu-nbd 7.2: not installed (Debian 12's qemu-utils; scripts/install-deps --modern unpacks it beside the modern one)"
fi
if [ -n "$qmod" ]; then
    qemu_matrix qemu-nbd-modern "$qmod"
else
    note "SKIP SERVER qemu-nbd 8.2 or later: not installed (scripts/install-deps --modern)"
fi

# --------------------------------------------------------- nbd-server
if nbd-server -V >/dev/null 2>&1; then
    truncate -s 1M "$tmp/nbds.img"
    sock=$tmp/nbd-server.sock
    cat >"$tmp/nbds.conf" <<EOF
[generic]
allowlist = true
unixsock = $sock
[disk]
exportname = $tmp/nbds.img
flush = true
fua = true
trim = true
EOF
    if nbd-server -C "$tmp/nbds.conf" -p "$tmp/nbds.pid" >"$tmp/nbds.log" 2>&1; then
        wait_for_file "$tmp/nbds.pid"
        cleanup_fn kill_pid "$(cat "$tmp/nbds.pid")"
        wait_for_socket "$sock"
        # nbd-server daemonizes: the cleanup stops it (by its pid file).
        matrix nbd-server "nbd+unix:///disk?socket=$sock"
    else
        note "SKIP SERVER nbd-server: does not start ($(tail -n 1 "$tmp/nbds.log"))"
    fi
else
    note "SKIP SERVER nbd-server: not installed"
fi

# In CI every server must be there: a server skipped is a failure.
if [ "${CI:-}" = true ]; then
    for r in "${results[@]}"; do
        case $r in "SKIP SERVER "*) failed+=("$r (CI=true)") ;; esac
    done
fi

echo
echo "The matrix (server x mode x sequential/pipelined):"
printf '  %s\n' "${results[@]}"
if [ ${#failed[@]} -gt 0 ]; then
    echo "${#failed[@]} cell(s) failed:" >&2
    printf '  %s\n' "${failed[@]}" >&2
    exit 1
fi
