#!/usr/bin/env bash
# Signals: Ctrl-C during a wait on the server cancels that wait and
# returns to the prompt; a dead server never kills the shell (SIGPIPE);
# the session goes on afterwards.
. "${srcdir:-tests}/functions.sh"
set -e
set -x

requires expect -v
requires nbdkit memory --version
"$NBDCLI" --dump-config | grep -q '^lineedit=none$' && skip "no line editor"

# A server that never sends its greeting: `connect' waits (timeout 30 s);
# Ctrl-C must end the wait within a second or two.
cat > "$tmp/sig.exp" <<'EXP'
set timeout 10
set bin [lindex $argv 0]
spawn env TERM=dumb INPUTRC=/dev/null EDITRC=/dev/null NBDCLI_HISTFILE= $bin -t 30
expect {
    -ex {nbd[disconnected]> } {}
    timeout { puts "FAIL: no prompt"; exit 1 }
}
send "connect \[ sh -c \"exec sleep 60\" \]\r"
expect {
    {connected to} {}
    timeout { puts "FAIL: no connect"; exit 1 }
}
sleep 1
set t0 [clock milliseconds]
send "\003"
expect {
    -re {interrupted} {}
    timeout { puts "FAIL: Ctrl-C did not cancel the wait"; exit 1 }
}
expect {
    -ex {nbd[} {}
    timeout { puts "FAIL: no prompt after Ctrl-C"; exit 1 }
}
set dt [expr {[clock milliseconds] - $t0}]
if {$dt > 5000} { puts "FAIL: the cancel took $dt ms"; exit 1 }
send "echo alive-1\r"
expect {
    -re {\nalive-1} {}
    timeout { puts "FAIL: shell dead after Ctrl-C"; exit 1 }
}
# A server that dies: the next command reports it, the shell lives.
send "connect \[ nbdkit -s memory 1M \]\r"
expect {
    -ex {nbd[negotiating]> } {}
    timeout { puts "FAIL: no connect to nbdkit"; exit 1 }
}
send "opt 3 \"x\" --length 0\r"
expect {
    -ex {nbd[} {}
    timeout { puts "FAIL: opt hung"; exit 1 }
}
send "list\r"
expect {
    -re {closed|no reply} {}
    timeout { puts "FAIL: list after the server died"; exit 1 }
}
send "echo alive-2\r"
expect {
    -re {\nalive-2} {}
    timeout { puts "FAIL: shell dead after the server died"; exit 1 }
}
# Ctrl-D only once the line editor reads again: sent earlier, the
# terminal (still in canonical mode) would swallow it as its own EOF.
expect {
    -ex {nbd[disconnected]> } {}
    timeout { puts "FAIL: no prompt after alive-2"; exit 1 }
}
send "\004"
# Every wait bounded: the exit, then its status.
expect {
    eof {}
    timeout { puts "FAIL: nbdcli did not exit after Ctrl-D"; exit 1 }
}
lassign [wait] - - - st
exit $st
EXP
expect -f "$tmp/sig.exp" "$NBDCLI"

# Non-interactive: writing to a server that has gone (SIGPIPE) is an
# error, not a crash.
st=0
"$NBDCLI" -t 2 [ sh -c 'exec head -c 18 /dev/zero' ] -c 'list' > "$tmp/out" 2>&1 || st=$?
[ "$st" = 1 ] || { _show "$tmp/out"; fail "exit $st, expected 1"; }
