#!/usr/bin/env bash
# test-scripting.sh: nbdcli as a script runner: -c (with `;', repeated),
# -f FILE, a script on stdin, comments and quoting, `source', where
# errors are located (FILE:LINE:), the leading `-', exit statuses 0 1 2,
# and help for every command in the table.  A child nbdkit, when
# installed, shows a script driving a real session.

# shellcheck source=tests/functions.sh
. "${srcdir:-tests}/functions.sh"
set -e
set -x

# run WANT ARGS...: nbdcli ARGS with stdin from /dev/null, stdout in
# $tmp/stdout and stderr in $tmp/stderr; fail unless it exits WANT.
run ()
{
    local want=$1 st=0
    shift
    "$NBDCLI" "$@" >"$tmp/stdout" 2>"$tmp/stderr" </dev/null || st=$?
    if [ "$st" != "$want" ]; then
        { set +x; } 2>/dev/null
        echo "FAIL: expected exit status $want, got $st: nbdcli $*" >&2
        _show "$tmp/stdout"
        _show "$tmp/stderr"
        exit 1
    fi
}

# expect_stdout TEXT: stdout is exactly TEXT (plus a final newline).
expect_stdout ()
{
    printf '%s\n' "$1" >"$tmp/want"
    diff -u "$tmp/want" "$tmp/stdout" || fail "unexpected stdout"
}

cd "$tmp"

# ---------------------------------------------------------------------
# -c: `;' separates commands, -c repeats, in order.
run 0 -c 'echo a; echo b' -c 'echo c;' -c 'echo d'
expect_stdout "$(printf '%s\n' a b c d)"
[ ! -s "$tmp/stderr" ] || fail "unexpected stderr"

# Quoting: "..." and '...' keep spaces and `;', backslash escapes,
# adjacent parts join; `#' starts a comment.
run 0 -c "echo \"two  words\" 'semi;colon' back\\ slash a\\;b x\"y\"'z' # not echoed"
expect_stdout 'two  words semi;colon back slash a;b xyz'

# An unterminated quote is a usage error.
run 2 -c 'echo "open'
assert_grep -i 'quote' "$tmp/stderr"

# ---------------------------------------------------------------------
# -f FILE: comments, blank lines, indentation, quoting, source.
cat >script.nbd <<'EOF'
# a comment line

   echo one
echo "two  words" 'three;four'   # trailing comment
  # an indented comment
source included.nbd
echo five
EOF
cat >included.nbd <<'EOF'
echo in-included
EOF
run 0 -f script.nbd
expect_stdout "$(printf '%s\n' one 'two  words three;four' in-included five)"

# The same script on stdin: piped, and as -f -.
st=0
"$NBDCLI" <script.nbd >"$tmp/stdout" 2>"$tmp/stderr" || st=$?
[ "$st" = 0 ] || fail "script on stdin: exit $st"
expect_stdout "$(printf '%s\n' one 'two  words three;four' in-included five)"
st=0
"$NBDCLI" -f - <script.nbd >"$tmp/stdout" 2>"$tmp/stderr" || st=$?
[ "$st" = 0 ] || fail "script on -f -: exit $st"
expect_stdout "$(printf '%s\n' one 'two  words three;four' in-included five)"

# -c and -f run in the order given.
run 0 -c 'echo first' -f included.nbd -c 'echo last'
expect_stdout "$(printf '%s\n' first in-included last)"

# ---------------------------------------------------------------------
# A failing command stops the script: exit 1, the error located as
# FILE:LINE:, nothing after it runs.
cat >fail.nbd <<'EOF'
echo before
# line 2
assert connected
echo after
EOF
run 1 -f fail.nbd
expect_stdout before
assert_grep -F 'fail.nbd:3: assert: assertion failed: connected' "$tmp/stderr"

# The same on stdin.
st=0
"$NBDCLI" <fail.nbd >"$tmp/stdout" 2>"$tmp/stderr" || st=$?
[ "$st" = 1 ] || fail "failing script on stdin: exit $st"
expect_stdout before
assert_grep -E ':3: assert: assertion failed: connected' "$tmp/stderr"

# An error in a sourced file is located in that file.
cat >outer.nbd <<'EOF'
echo outer
source fail.nbd
echo not-reached
EOF
run 1 -f outer.nbd
expect_stdout "$(printf '%s\n' outer before)"
assert_grep -F 'fail.nbd:3: assert:' "$tmp/stderr"
run 1 -c 'source fail.nbd; echo not-reached'
expect_stdout before
assert_grep -F 'fail.nbd:3: assert:' "$tmp/stderr"
run 1 -c 'source no-such-file.nbd'
assert_grep -F 'no-such-file.nbd' "$tmp/stderr"

# A leading `-' goes on after a failure, in a file and in -c.
cat >dash.nbd <<'EOF'
echo one
-assert connected
-list
echo two
EOF
run 0 -f dash.nbd
expect_stdout "$(printf '%s\n' one two)"
assert_grep -F 'dash.nbd:2: assert: assertion failed: connected' "$tmp/stderr"
assert_grep -F 'dash.nbd:3: list: not connected' "$tmp/stderr"
run 0 -c 'echo one; -list; echo two'
expect_stdout "$(printf '%s\n' one two)"
run 1 -c 'echo one; list; echo two'
expect_stdout one
assert_grep -F 'list: not connected' "$tmp/stderr"

# assert: passing and failing (exit 1), with `not'.
run 0 -c 'assert not connected; assert phase disconnected; assert not tls; assert flags 0'
run 1 -c 'assert connected'
assert_grep -F 'assertion failed' "$tmp/stderr"
run 1 -c 'assert not phase disconnected'
run 1 -c 'assert flags 1'
run 1 -c 'assert phase transmission'

# quit ends the script with success.
run 0 -c 'echo a; quit; echo b'
expect_stdout a
run 0 -c 'echo a; exit; echo b'
expect_stdout a

# ---------------------------------------------------------------------
# Usage errors: exit 2.
run 2 -c 'echo a; no-such-command; echo b'
expect_stdout a
assert_grep -F 'unknown command "no-such-command"' "$tmp/stderr"
printf 'echo a\nno-such-command\necho b\n' >unknown.nbd
run 2 -f unknown.nbd
expect_stdout a
assert_grep -F 'unknown.nbd:2: unknown command "no-such-command"' "$tmp/stderr"
run 2 -c 'info --no-such-option'
assert_grep -F 'info: unknown option --no-such-option' "$tmp/stderr"
run 2 -c 'list extra-argument'
assert_grep -F 'list: too many arguments' "$tmp/stderr"
run 2 -c 'connect'
assert_grep -F 'connect: missing argument' "$tmp/stderr"
run 2 --no-such-option
assert_grep -F -e '--no-such-option' "$tmp/stderr"
[ ! -s "$tmp/stdout" ] || fail "usage error printed on stdout"
run 2 -t
run 2 -t abc -c 'echo'
assert_grep -F '"abc"' "$tmp/stderr"
run 2 --client-flags
run 1 -f no-such-file.nbd
assert_grep -F 'no-such-file.nbd' "$tmp/stderr"

# Commands needing a connection fail (exit 1) without one.
for c in list info go export-name abort starttls sr eh 'lmc base:' \
         'smc base:allocation' 'opt 3' disconnect close; do
    run 1 -c "$c"
    assert_grep -F 'not connected' "$tmp/stderr"
done
run 1 -c reconnect
assert_grep -F 'no earlier target' "$tmp/stderr"

# ---------------------------------------------------------------------
# help: every command in the table is listed, and `help NAME' and
# `NAME --help' explain it the same way.
run 0 --list-commands
cp "$tmp/stdout" "$tmp/commands"
[ "$(wc -l <"$tmp/commands")" -ge 20 ] || fail "--list-commands is too short"
run 0 -c help
cp "$tmp/stdout" "$tmp/help"
while read -r c; do
    grep -q -E "^  $c( \([a-z]+\))? " "$tmp/help" || fail "help does not list $c"
    run 0 -c "help $c"
    cp "$tmp/stdout" "$tmp/help-$c"
    head -n 1 "$tmp/help-$c" | grep -q -E "^$c( \([a-z]+\))?\$" ||
        fail "help $c: first line is not the command"
    assert_grep -E "^usage: $c( |\$)" "$tmp/help-$c"
    [ "$(wc -l <"$tmp/help-$c")" -ge 3 ] || fail "help $c is too short"
    run 0 -c "$c --help"
    cmp "$tmp/help-$c" "$tmp/stdout" || fail "$c --help differs from help $c"
done <"$tmp/commands"

# Aliases give the same help as their command.
for pair in sr:structured-reply eh:extended-headers lmc:list-meta-context \
            smc:set-meta-context exit:quit; do
    run 0 -c "help ${pair%%:*}"
    cp "$tmp/stdout" "$tmp/alias"
    run 0 -c "help ${pair#*:}"
    cmp "$tmp/alias" "$tmp/stdout" || fail "help ${pair%%:*} differs"
done

# help on something unknown is an error.
run 2 -c 'help no-such-command'
assert_grep -F 'no-such-command' "$tmp/stderr"

# ---------------------------------------------------------------------
# A script drives a real session (child nbdkit, if installed).
if nbdkit memory --version >/dev/null 2>&1; then
    cat >session.nbd <<'EOF'
# the well-behaved client's sequence, checked as it goes
list
assert reply NBD_REP_ACK
sr
assert structured-reply
smc base:allocation
assert context base:allocation
go
assert phase transmission
state
EOF
    run 0 -t 5 -f session.nbd [ nbdkit -s memory 1M ]
    assert_grep -x -F '<- NBD_REP_ACK (1) to NBD_OPT_GO (7), length 0' "$tmp/stdout"
    assert_grep -x 'phase: *transmission' "$tmp/stdout"

    # The target can also come after the options, and a failed
    # assertion against the server is exit 1, located.
    printf 'list\nassert tflag READ_ONLY\necho not-reached\n' >ro.nbd
    run 1 -t 5 [ nbdkit -s memory 1M ] -f ro.nbd
    assert_grep -F 'ro.nbd:2: assert: assertion failed: tflag READ_ONLY' "$tmp/stderr"
    assert_not_grep 'not-reached' "$tmp/stdout"
fi

# ---------------------------------------------------------------------
# `set errexit off' lets a script go on after a failure (known nbdcli
# bug when written: the setting is ignored outside the interactive
# shell); the failure still makes the exit status 1.
run 1 -c 'set errexit off; list; echo after'
expect_stdout after
