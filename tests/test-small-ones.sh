#!/usr/bin/env bash
# Small things a newcomer trips over: every flag name printed (no
# truncation), echo prints its words as given, --help lists every
# option of the man page, "1 probe" in the singular.
. "${srcdir:-tests}/functions.sh"
set -e
set -x

requires nbdkit memory --version

# All 16 command flag bits by name, the last one included.
session flags 0 [ nbdkit -s memory 1M ] -c 'go; read 0 16 --flags 0xffff'
assert_grep -F -e '-> NBD_CMD_READ (0), flags 0xffff (FUA NO_HOLE DF REQ_ONE FAST_ZERO PAYLOAD_LEN unknown-bit-6 unknown-bit-7 unknown-bit-8 unknown-bit-9 unknown-bit-10 unknown-bit-11 unknown-bit-12 unknown-bit-13 unknown-bit-14 unknown-bit-15), cookie 1' "$out"

# echo: words as given.
session echo 0 -c 'echo ---; echo -n hi; echo --x=1 "a  b" -- z'
printf '%s\n' '---' '-n hi' '--x=1 a  b -- z' >"$tmp/want"
diff -u "$tmp/want" "$out" || fail "echo changed its words"
session echo-help 0 -c 'echo --help'
assert_grep '^usage: echo' "$out"

# --help names every option the man page's OPTIONS section documents.
expect_status 0 "$NBDCLI" --help
mv "$tmp/out" "$tmp/help"
awk '/^\.Sh /{ f = ($0 == ".Sh OPTIONS") } f && /^\.It Fl/' "$srcdir/../nbdcli.1" |
    grep -oE 'Fl -[a-z][a-z-]*' | sed 's/^Fl //' | sort -u >"$tmp/manopts"
[ -s "$tmp/manopts" ] || fail "no options found in nbdcli.1"
missing=
while read -r o; do
    grep -qE -- "(^|[ ,])-$o([ =[]|$)" "$tmp/help" || missing="$missing -$o"
done <"$tmp/manopts"
[ -z "$missing" ] || { _show "$tmp/help"; fail "--help does not list:$missing"; }

# One probe, in the singular.
session one-probe 0 check [ nbdkit -s memory 1M ] abort
assert_grep -x '1 probe: 1 pass, 0 flag, 0 warn, 0 skip, 0 error' "$out"
session two-probes 0 check [ nbdkit -s memory 1M ] abort disc
assert_grep -E '^2 probes: ' "$out"
