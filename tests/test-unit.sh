#!/usr/bin/env bash
# Unit tests of the engine (tests/unit/test-engine.c): proto/ alone, on
# canned server bytes over the in-memory transport, with a recording
# sink.  No server and no socket; the program prints each case and what
# failed.  `make check' builds it.
. "${srcdir:-tests}/functions.sh"
set -e
set -x

prog=$srcdir/unit/test-engine
test -x "$prog" || fail "no $prog: run make check (or make tests/unit/test-engine)"

# Only proto/ is linked in: the program defines no global symbol of the
# layers above (main aside, which it has of its own).
top=$srcdir/..
if command -v nm >/dev/null 2>&1 && ls "$top"/output/*.o >/dev/null 2>&1; then
    nm --defined-only -g "$top"/cli/*.o "$top"/commands/*.o "$top"/output/*.o |
        awk 'NF == 3 && $3 != "main" { print $3 }' | sort -u >"$tmp/above"
    nm --defined-only -g "$prog" | awk 'NF == 3 { print $3 }' | sort -u \
        >"$tmp/prog"
    comm -12 "$tmp/above" "$tmp/prog" >"$tmp/both"
    if [ -s "$tmp/both" ]; then
        cat "$tmp/both"
        fail "$prog defines symbols of the layers above proto/"
    fi
fi

"$prog"
