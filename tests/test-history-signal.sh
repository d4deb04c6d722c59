#!/usr/bin/env bash
# The shell's history is saved when the terminal closes (SIGHUP) or on
# SIGTERM, not only on `quit' or Ctrl-D; the server it started is
# stopped too.
. "${srcdir:-tests}/functions.sh"
set -e
set -x

requires expect -v
requires nbdkit memory --version
requires_lineedit

for sig in HUP TERM; do
    hist=$tmp/hist-$sig
    rm -f "$hist" "$tmp/pid"
    cat >"$tmp/sig.exp" <<'EXP'
set timeout 10
lassign $argv bin hist pidfile sig
spawn env TERM=dumb INPUTRC=/dev/null EDITRC=/dev/null NBDCLI_HISTFILE=$hist $bin {[} nbdkit -P $pidfile -s memory 1M {]}
expect {
    -ex {nbd[negotiating]> } {}
    timeout { puts "FAIL: no prompt"; exit 1 }
}
send "echo mark-$sig\r"
expect {
    -re "\nmark-$sig\r\n" {}
    timeout { puts "FAIL: echo did not run"; exit 1 }
}
expect {
    -ex {nbd[negotiating]> } {}
    timeout { puts "FAIL: no prompt after echo"; exit 1 }
}
# A moment for the line editor to block reading again.
sleep 0.5
exec kill -$sig [exp_pid]
expect {
    eof {}
    timeout { puts "FAIL: nbdcli still runs after SIG$sig"; exit 1 }
}
lassign [wait] - - - st
exit 0
EXP
    expect -f "$tmp/sig.exp" "$NBDCLI" "$hist" "$tmp/pid" "$sig"
    test -s "$hist" || fail "SIG$sig: no history file"
    grep -E "^echo( |\\\\040)mark-$sig\$" "$hist" || { _show "$hist"; fail "SIG$sig: the line is not in the history"; }
    pid=$(cat "$tmp/pid")
    wait_for_exit "$pid" 5 || fail "SIG$sig: the server $pid still runs"
    echo "ok: SIG$sig: history saved, server stopped"
done
