#!/usr/bin/env bash
# test-arity.sh: a command's usage string and its arity agree.  For
# every command, the numbers of positional words its usage line allows
# (`NAME --help') are derived here, and the dispatcher must refuse one
# word fewer than the least ("missing argument") and one more than the
# most ("too many arguments") with exit status 2, whatever the phase.
#
# The usage grammar: WORD required, [WORD] optional, WORD... or
# [WORD...] repeatable, A | B alternatives (the widest range of them),
# --opt and --opt VALUE (inside brackets or not) are options, not
# positional words; "[ SERVER-CMD ARGS... ]" (brackets standing alone)
# is the literal server-command syntax: one or more words.
#
# Then: a bad number or value is status 2 for every command that takes
# one (PRODUCT.md: 2 is a usage error, 1 a command that ran and failed).

# shellcheck source=tests/functions.sh
. "${srcdir:-tests}/functions.sh"
set -e

requires python3 --version
expect_status 0 "$NBDCLI" --list-commands
cp "$tmp/out" "$tmp/commands"

while read -r cmd; do
    expect_status 0 "$NBDCLI" -c "$cmd --help"
    sed -n "s/^usage: $cmd\( \|$\)//p" "$tmp/out" | head -1 >"$tmp/usage"
    printf '%s\t' "$cmd"
    python3 - "$tmp/usage" <<'PY'
import re, sys

usage = open(sys.argv[1]).read().strip()
usage = usage.replace("[ SERVER-CMD ARGS... ]", "SERVER-CMD...")

def split_top(s, sep):
    out, depth, cur = [], 0, ""
    for ch in s:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if ch == sep and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return out

def tokens(s):
    out, i = [], 0
    while i < len(s):
        if s[i] == " ":
            i += 1
        elif s[i] == "[":
            depth, j = 0, i
            while True:
                depth += s[j] == "["
                depth -= s[j] == "]"
                j += 1
                if depth == 0:
                    break
            out.append(s[i:j])
            i = j
        else:
            j = i
            while j < len(s) and s[j] != " ":
                j += 1
            out.append(s[i:j])
            i = j
    return out

def arity(s):
    """(min, max) of positional words; max -1 is unlimited."""
    alts = [a.strip() for a in split_top(s, "|")]
    if len(alts) > 1:
        rs = [arity(a) for a in alts]
        return (min(r[0] for r in rs),
                -1 if any(r[1] == -1 for r in rs) else max(r[1] for r in rs))
    lo = hi = 0
    toks = tokens(s)
    i = 0
    while i < len(toks):
        t = toks[i]
        if t.startswith("["):
            inner = t[1:-1].strip()
            if not inner.startswith("--"):
                _, m = arity(inner)
                hi = -1 if hi == -1 or m == -1 else hi + m
        elif t.startswith("--"):
            # An option; a following VALUE word in capitals is its value.
            if i + 1 < len(toks) and re.fullmatch(r"[A-Z][A-Z_-]*", toks[i + 1]):
                i += 1
        elif t:
            lo += 1
            hi = -1 if hi == -1 or t.endswith("...") else hi + 1
        i += 1
    return lo, hi

print("%d %d" % arity(usage))
PY
done <"$tmp/commands" >"$tmp/arity"

# N words "0".
words_of () {
    local i w=
    for (( i = 0; i < $1; i++ )); do w="$w 0"; done
    printf '%s' "$w"
}

bad=0
while IFS=$'\t' read -r cmd range; do
    read -r lo hi <<<"$range"
    if [ "$lo" -gt 0 ]; then
        words=$(words_of $((lo - 1)))
        st=0
        "$NBDCLI" -c "$cmd$words" >"$tmp/o" 2>&1 || st=$?
        if [ "$st" != 2 ] || ! grep -q 'missing argument' "$tmp/o"; then
            echo "$cmd with $((lo - 1)) word(s): exit $st: $(cat "$tmp/o")"
            bad=1
        fi
    fi
    if [ "$hi" -ge 0 ]; then
        words=$(words_of $((hi + 1)))
        st=0
        "$NBDCLI" -c "$cmd$words" >"$tmp/o" 2>&1 || st=$?
        if [ "$st" != 2 ] || ! grep -q 'too many arguments' "$tmp/o"; then
            echo "$cmd with $((hi + 1)) word(s): exit $st: $(cat "$tmp/o")"
            bad=1
        fi
    fi
done <"$tmp/arity"
cat "$tmp/arity"
[ "$bad" = 0 ] || fail "usage strings and arity disagree (above)"

# A bad number or value is a usage error (status 2) for every command,
# in the phase where the command runs.
requires nbdkit memory --version
bad=0
while IFS='|' read -r pre cmd; do
    st=0
    "$NBDCLI" [ nbdkit -s memory 1M ] -c "$pre$cmd" >"$tmp/o" 2>&1 || st=$?
    if [ "$st" != 2 ]; then
        echo "\`$cmd': exit $st, expected 2: $(tail -1 "$tmp/o")"
        bad=1
    fi
done <<'CASES'
go; |read x 512
go; |read 0 512 --flags 0x10000
go; |write x 00
go; |write 0 zz
go; |write 0 --pattern 300 --length 1
go; |trim 0 x
go; |zero x 512
go; |cache 0 1Q
go; |block-status x 512
go; |cmd NOSUCH 0 0
go; |cmd READ x 512
|opt x
|opt 3 zz
|opt 3 --length x
|info --request NOSUCH
|set timeout x
|set tls maybe
|set errexit maybe
|sleep x
|trace maybe
|assert size x
|assert reply NOSUCH
|help no-such-thing
|nosuchcommand
CASES
[ "$bad" = 0 ] || fail "bad numbers or values that are not usage errors (above)"
