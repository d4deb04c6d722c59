#!/usr/bin/env bash
# Colour on a terminal; none with NO_COLOR, TERM=dumb, --json, or output
# that is not a terminal.
. "${srcdir:-tests}/functions.sh"
set -e
set -x

requires script --version
test -x "$FLAWED" || fail "no flawed server at $FLAWED"

esc=$(printf '\033')
cmd="$NBDCLI [ $FLAWED --fault df-without-sr ] -c 'opt 4; info'"

# A terminal (script(1) gives one): markers and FLAG in colour.
env -u NO_COLOR TERM=xterm script -qec "$cmd" /dev/null > "$tmp/tty.out" || true
assert_grep -F "${esc}[1;31mFLAG df-without-sr:${esc}[0m" "$tmp/tty.out"
assert_grep -F "${esc}[36m->${esc}[0m NBD_OPT_PEEK_EXPORT (4)" "$tmp/tty.out"
assert_grep -F "${esc}[33m<-${esc}[0m NBD_REP_ERR_UNSUP" "$tmp/tty.out"
assert_grep -F "${esc}[32m<-${esc}[0m NBD_REP_ACK" "$tmp/tty.out"

# NO_COLOR, even on a terminal.
NO_COLOR=1 TERM=xterm script -qec "$cmd" /dev/null > "$tmp/nocolor.out" || true
assert_grep -F 'FLAG df-without-sr:' "$tmp/nocolor.out"
assert_not_grep -F "$esc" "$tmp/nocolor.out"

# --json on a terminal.
env -u NO_COLOR TERM=xterm script -qec "$NBDCLI --json [ $FLAWED ] -c 'opt 4'" /dev/null > "$tmp/json.out" || true
assert_grep -F '"type_name":"NBD_REP_ERR_UNSUP"' "$tmp/json.out"
assert_not_grep -F "$esc" "$tmp/json.out"

# A dumb terminal.
env -u NO_COLOR TERM=dumb script -qec "$cmd" /dev/null > "$tmp/dumb.out" || true
assert_grep -F 'FLAG df-without-sr:' "$tmp/dumb.out"
assert_not_grep -F "$esc" "$tmp/dumb.out"

# Not a terminal.
st=0
env -u NO_COLOR $NBDCLI [ $FLAWED --fault df-without-sr ] -c 'opt 4; info' > "$tmp/pipe.out" 2>&1 || st=$?
test "$st" = 3
assert_grep '^FLAG df-without-sr:' "$tmp/pipe.out"
assert_not_grep -F "$esc" "$tmp/pipe.out"
