#!/usr/bin/env bash
# valgrind memcheck of a scripted session (options, TLS, transmission,
# errors, flags) and of the whole check audit: no errors, no leaks.
# Under a sanitizer build valgrind cannot run the binary, so the test
# builds a plain one from the same sources.
. "${srcdir:-tests}/functions.sh"
set -e
set -x

requires valgrind --version
requires nbdkit memory --version
requires psktool --version
test -x "$FLAWED" || fail "no flawed server at $FLAWED"
top=$(cd "$srcdir/.." && pwd)

bin=$NBDCLI
if "$NBDCLI" --dump-config | grep -qx 'sanitizers=yes'; then
    src=$tmp/src
    mkdir "$src"
    (cd "$top" && tar --exclude=.git --exclude='*.o' --exclude=./nbdcli \
        --exclude='tests/*.log' -cf - configure Makefile.in cli commands output proto nbdcli.1) |
        tar -C "$src" -xf -
    (cd "$src" && ./configure && make -j2 nbdcli) > "$tmp/build.log" 2>&1 ||
        { _show "$tmp/build.log"; fail "plain build failed"; }
    bin=$src/nbdcli
fi

vg=(valgrind -q --leak-check=full --show-leak-kinds=definite,indirect
    --errors-for-leak-kinds=definite,indirect --error-exitcode=99)
make_psk "$tmp/keys.psk" alice

# A scripted session: every kind of message and a few failures.
st=0
"${vg[@]}" "$bin" --tls-psk "$tmp/keys.psk" --tls-username alice \
    [ nbdkit -s --tls=on --tls-psk="$tmp/keys.psk" memory 1M ] \
    -c 'list; info --all; opt 4; opt 3 "x"; starttls; sr; lmc base:; smc base:allocation; go; write 0 "hello"; read 0 5; read 1M 512 --force; block-status 0 1M; trim 4k 4k; flush; state; -bogus-arg-count x y z; disc' \
    > "$tmp/session.out" 2>&1 || st=$?
[ "$st" = 2 ] || [ "$st" = 0 ] || { _show "$tmp/session.out"; fail "session: exit $st"; }
assert_not_grep -E '==[0-9]+==' "$tmp/session.out"

# Flags, a lost framing and a closed connection.
st=0
"${vg[@]}" "$bin" [ "$FLAWED" --fault wrong-magic ] -c 'list' \
    > "$tmp/flag.out" 2>&1 || st=$?
[ "$st" = 3 ] || { _show "$tmp/flag.out"; fail "wrong-magic: exit $st"; }
assert_not_grep -E '==[0-9]+==' "$tmp/flag.out"
st=0
"${vg[@]}" "$bin" --json [ "$FLAWED" --fault keep-sr --fault bad-cookie ] \
    -c 'sr; go; read 0 512; reconnect; help NBD_OPT_GO; complete "inf"' \
    > "$tmp/json.out" 2>&1 || st=$?
[ "$st" = 3 ] || { _show "$tmp/json.out"; fail "bad-cookie: exit $st"; }
assert_not_grep -E '==[0-9]+==' "$tmp/json.out"

# The whole audit, with TLS.
st=0
"${vg[@]}" "$bin" --tls-psk "$tmp/keys.psk" --tls-username alice check \
    [ nbdkit -s --tls=on --tls-psk="$tmp/keys.psk" memory 1M ] \
    > "$tmp/check.out" 2>&1 || st=$?
[ "$st" = 0 ] || { _show "$tmp/check.out"; fail "check: exit $st"; }
assert_grep -E '^[0-9]+ probes: ' "$tmp/check.out"
assert_not_grep -E '==[0-9]+==' "$tmp/check.out"
