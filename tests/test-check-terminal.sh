#!/usr/bin/env bash
# `check' at a terminal fits its width (the rule and the evidence
# wrapped, indented under the probe); in a pipe each part stays on one
# line.  Ctrl-C (SIGINT) stops the audit: the summary of what ran says
# "interrupted" and nbdcli check exits 130.
. "${srcdir:-tests}/functions.sh"
set -e
set -x

requires nbdkit memory --version
requires expect -v
test -x "$FLAWED" || fail "no flawed server at $FLAWED"

# In a pipe: one line per probe row, one per evidence, however long.
session pipe 0 check [ nbdkit -s memory 1M ] abort disc
awk 'length > 100 { n++ } END { exit !(n >= 1) }' "$out" ||
    fail "in a pipe a probe row should stay on one (long) line"
assert_grep -E '^PASS  disc +NBD_CMD_DISC gets no reply.*\(spec: NBD_CMD_DISC\)$' "$out"

# At a 60-column terminal: nothing wider, evidence indented.
cat >"$tmp/tty.exp" <<'EXP'
set timeout 30
set stty_init "columns 60 rows 40"
lassign $argv bin
log_user 1
spawn $bin check {[} nbdkit -s memory 1M {]} abort disc
expect {
    -re {2 probes: [^\r\n]*\r\n} {}
    timeout { puts "FAIL: no summary"; exit 1 }
}
expect eof
lassign [wait] - - - st
exit $st
EXP
expect -f "$tmp/tty.exp" "$NBDCLI" >"$tmp/tty.raw"
tr -d '\r' <"$tmp/tty.raw" | sed -n '/^check /,$p' >"$tmp/tty"
cat "$tmp/tty"
awk 'NR > 1 && length > 60 { print "too wide: " $0; bad = 1 } END { exit bad }' "$tmp/tty" ||
    fail "a line is wider than the terminal"
assert_grep -E '^PASS  disc +NBD_CMD_DISC' "$tmp/tty"
assert_grep -E '^      [^ ]' "$tmp/tty"          # wrapped and evidence lines
assert_grep -x '2 probes: 2 pass, 0 flag, 0 warn, 0 skip, 0 error' "$tmp/tty"

# Ctrl-C: a server that hangs from the second probe on.
cat >"$tmp/wrap" <<EOF2
#!/bin/sh
n=\$(( \$(cat "$tmp/count" 2>/dev/null || echo 0) + 1 ))
echo "\$n" >"$tmp/count"
[ "\$n" -ge "\$(cat "$tmp/hang-at" 2>/dev/null || echo 9999)" ] && exec sleep 30
exec "$FLAWED"
EOF2
chmod +x "$tmp/wrap"
rm -f "$tmp/count"
session count 0 check --jobs 1 [ "$tmp/wrap" ] abort
d=$(( $(cat "$tmp/count") - 1 ))         # discovery's connections
rm -f "$tmp/count"
echo $((d + 2)) >"$tmp/hang-at"
# One probe at a time, so that the connections come in catalogue order
# (the hanging one is disc's; it waits about a second, the probes' wait).
"$NBDCLI" -t 30 check --jobs 1 [ "$tmp/wrap" ] abort disc >"$tmp/int.out" 2>&1 &
pid=$!
cleanup_fn kill_pid "$pid"
wait_for_grep "$tmp/int.out" '^PASS ' || :
assert_grep '^PASS ' "$tmp/int.out"
kill -INT "$pid"
st=0
wait_for_exit "$pid" 5 || fail "nbdcli check still runs 5 s after SIGINT"
wait "$pid" || st=$?
cat "$tmp/int.out"
[ "$st" = 130 ] || fail "exit status $st after SIGINT, expected 130"
assert_grep -x '1 probe: 1 pass, 0 flag, 0 warn, 0 skip, 0 error (interrupted)' "$tmp/int.out"
