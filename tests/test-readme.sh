#!/usr/bin/env bash
# The README's examples are byte-true: each example's command line is
# run and its output compared with the README, where `...' in a line
# stands for the rest trimmed from it and a line `...' for lines left
# out.  The shell examples (`nbd[...]> CMD' lines) are run with -c after
# the negotiation their prompt shows.
. "${srcdir:-tests}/functions.sh"
set -e
set -x

requires nbdkit memory --version
requires python3 --version
readme=$srcdir/../README
[ -f "$readme" ] || fail "no README at $readme"

# block START-REGEX: the indented block of the README that starts with
# the line matching START-REGEX (without its 4-space indent).
block ()
{
    awk -v re="$1" 'f && !/^    / { exit }
                    f { sub(/^    /, ""); print }
                    !f && $0 ~ re { f = 1; sub(/^    /, ""); print }' "$readme"
}

# same EXPECTED ACTUAL [trailing]: ACTUAL matches EXPECTED.
same ()
{
    python3 - "$@" <<'PY' || { _show "$1"; _show "$2"; fail "README example differs from what nbdcli prints"; }
import sys
exp = open(sys.argv[1]).read().splitlines()
act = open(sys.argv[2]).read().splitlines()
trailing = len(sys.argv) > 3
def line_ok(e, a):
    if "..." not in e:
        return e == a
    parts = e.split("...")
    if not a.startswith(parts[0]) or not a.endswith(parts[-1]):
        return False
    pos = len(parts[0])
    for p in parts[1:-1]:
        i = a.find(p, pos)
        if i < 0:
            return False
        pos = i + len(p)
    return pos <= len(a) - len(parts[-1])
def match(i, j):
    if i == len(exp):
        return trailing or j == len(act)
    if exp[i] == "...":
        return any(match(i + 1, k) for k in range(j, len(act) + 1))
    return j < len(act) and line_ok(exp[i], act[j]) and match(i + 1, j + 1)
if not match(0, 0):
    sys.exit(1)
PY
}

# The tour: `$ ./nbdcli ...' and its whole output.
block '^    \$ \./nbdcli \[ nbdkit -s memory 64M \] -c' >"$tmp/tour"
head -1 "$tmp/tour" | grep -q "state'$" || fail "the tour example's command line changed"
cmd=$(head -1 "$tmp/tour" | sed "s/^\\$ \\.\\/nbdcli \\[ nbdkit -s memory 64M \\] -c '//; s/'\$//")
tail -n +2 "$tmp/tour" >"$tmp/tour.want"
"$NBDCLI" [ nbdkit -s memory 64M ] -c "$cmd" >"$tmp/tour.got" 2>&1
same "$tmp/tour.want" "$tmp/tour.got"
echo "ok: the tour"

# The trace: `$ nbdcli --trace [ nbdkit -s memory 1M ] -c 'sr'`.
block '^    \$ nbdcli --trace \[ nbdkit -s memory 1M \] -c .sr.$' | tail -n +2 >"$tmp/trace.want"
[ -s "$tmp/trace.want" ] || fail "the trace example is missing"
"$NBDCLI" --trace [ nbdkit -s memory 1M ] -c sr >"$tmp/trace.got" 2>&1
same "$tmp/trace.want" "$tmp/trace.got" trailing
echo "ok: the trace"

# The transmission commands at the prompt.
block '^    nbd\[transmission sr\]> write 0 "hello" --fua$' >"$tmp/xmit"
[ -s "$tmp/xmit" ] || fail "the transmission example is missing"
cmds=$(sed -n 's/^nbd\[transmission sr\]> //p' "$tmp/xmit" | paste -sd ';')
grep -v '^nbd\[transmission sr\]> ' "$tmp/xmit" >"$tmp/xmit.want"
"$NBDCLI" [ nbdkit -s memory 1M ] -c "sr; smc base:allocation; go; $cmds" >"$tmp/xmit.all" 2>&1
# What the commands printed: from the first request on.
sed -n '/^-> NBD_CMD_WRITE/,$p' "$tmp/xmit.all" >"$tmp/xmit.got"
same "$tmp/xmit.want" "$tmp/xmit.got"
echo "ok: the transmission commands"
