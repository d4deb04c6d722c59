#!/usr/bin/env bash
# test-flags.sh: the catalogue of flags (proto/flag-list.h) is the one
# source of flag ids, and each of its ids is documented and tested:
#  1. --list-flags (text and JSON) lists each catalogue entry once;
#  2. `help ID' explains every id (rule, level, section, how by hand);
#  3. nbdcli.1 holds the catalogue as scripts/gen-flag-man makes it;
#  4. the engine raises only catalogue ids, and raises each of them
#     somewhere (no dead entry);
#  5. every id a test expects is in the catalogue, and every catalogue
#     id is expected by at least one test: a flawed-server fault
#     (test-faults.sh), a hostile-server case (test-hostile.sh), a real
#     server or the engine's unit tests.

# shellcheck source=tests/functions.sh
. "${srcdir:-tests}/functions.sh"
set -e

requires python3 --version
cat=proto/flag-list.h
[ -f "$cat" ] || fail "$cat is missing (run the tests from the top of the tree)"

# The catalogue, from its source: "ENUM id" per line.
python3 - "$cat" >"$tmp/catalogue" <<'PY'
import re, sys
src = open(sys.argv[1]).read()
for m in re.finditer(r'FLAG_DEF \((F_[A-Z0-9_]+),\s*"([a-z0-9-]+)"', src):
    print(m.group(1), m.group(2))
PY
n=$(wc -l <"$tmp/catalogue")
[ "$n" -ge 50 ] || fail "only $n entries read from $cat"
cut -d' ' -f2 "$tmp/catalogue" >"$tmp/ids"
dups=$(sort "$tmp/ids" | uniq -d)
[ -z "$dups" ] || fail "ids defined twice: $dups"

# 1. --list-flags, text and JSON.
expect_status 0 "$NBDCLI" --list-flags
awk '{ print $1 }' "$tmp/out" >"$tmp/listed"
cmp "$tmp/ids" "$tmp/listed" || fail "--list-flags does not list the catalogue"
expect_status 0 "$NBDCLI" --json --list-flags
python3 - "$tmp/out" "$tmp/ids" <<'PY'
import json, sys
ids = open(sys.argv[2]).read().split()
got = []
for line in open(sys.argv[1]):
    f = json.loads(line)
    assert f["event"] == "flag_info", f
    assert f["level"] in ("MUST", "SHOULD"), f
    for k in ("rule", "section", "how"):
        assert isinstance(f[k], str) and len(f[k]) > 5, (f["id"], k)
    got.append(f["id"])
assert got == ids, "JSON list differs from the catalogue"
PY

# 2. help ID for each, in one run.
script=
while read -r id; do
    script="$script help $id; echo END-OF-HELP;"
done <"$tmp/ids"
expect_status 0 "$NBDCLI" -c "$script"
python3 - "$tmp/out" "$tmp/ids" <<'PY'
import sys
parts = open(sys.argv[1]).read().split("END-OF-HELP\n")
ids = open(sys.argv[2]).read().split()
assert len(parts) == len(ids) + 1, (len(parts), len(ids))
for id, text in zip(ids, parts):
    assert text.startswith(id + ": a flag"), (id, text[:80])
    for label in ("Rule:", "Spec:", "Seen:", "By hand:"):
        assert label in text, (id, label)
PY
expect_status 2 "$NBDCLI" -c 'help no-such-flag-id'

# 3. The man page's catalogue is the generated one.
python3 scripts/gen-flag-man "$NBDCLI" >"$tmp/man-block"
sed -n '/^\.\\" BEGIN FLAG CATALOGUE$/,/^\.\\" END FLAG CATALOGUE$/p' \
    nbdcli.1 | sed '1d;$d' >"$tmp/man-has"
if ! cmp -s "$tmp/man-block" "$tmp/man-has"; then
    diff "$tmp/man-has" "$tmp/man-block" | head -20
    fail "nbdcli.1's flag catalogue is stale: run scripts/gen-flag-man --update"
fi
while read -r id; do
    grep -qF -- "$id" nbdcli.1 || fail "$id is not in nbdcli.1"
done <"$tmp/ids"
# The same for the audit's probes.
python3 scripts/gen-flag-man --probes "$NBDCLI" >"$tmp/man-probes"
sed -n '/^\.\\" BEGIN PROBE CATALOGUE$/,/^\.\\" END PROBE CATALOGUE$/p' \
    nbdcli.1 | sed '1d;$d' >"$tmp/man-probes-has"
cmp -s "$tmp/man-probes" "$tmp/man-probes-has" ||
    fail "nbdcli.1's probe catalogue is stale: run scripts/gen-flag-man --update"

# 4. The engine raises catalogue ids only, each of them somewhere.
grep -ohE "\bF_[A-Z0-9_]+\b" proto/session.c proto/xmit.c proto/tls.c \
    proto/transport.c | grep -vxE 'F_(GETFL|SETFL|GETFD|SETFD|DUPFD|DUPFD_CLOEXEC|OK|GETPIPE_SZ|SETPIPE_SZ)' |
    sort -u >"$tmp/used"
cut -d' ' -f1 "$tmp/catalogue" | sort >"$tmp/enums"
extra=$(comm -23 "$tmp/used" "$tmp/enums")
[ -z "$extra" ] || fail "raised but not in the catalogue: $extra"
dead=$(comm -13 "$tmp/used" "$tmp/enums")
[ -z "$dead" ] || fail "catalogue entries the engine never raises: $dead"
if grep -nE 'ev_flag \(s, *"' proto/*.c; then
    fail "a flag raised by a string id instead of the catalogue's enum"
fi

# 5. The tests: what they expect exists, and every id is expected.
#    An expectation is "FLAG id" (an output pattern; every id has a
#    hyphen, which keeps prose such as "FLAG lines" out), a "|id|" field of
#    test-faults.sh's table, or the enum in the unit tests.
tests=(tests/test-*.sh tests/*.exp)
grep -ohE 'FLAG [a-z][a-z0-9]*-[a-z0-9-]*[a-z0-9]' "${tests[@]}" |
    awk '{ print $2 }' |
    sort -u >"$tmp/expected"
grep -ohE "^ *'[a-z0-9-]+\|[a-z]+\|[a-z0-9-]+\|" tests/test-faults.sh |
    awk -F'|' '{ print $3 }' | sort -u >>"$tmp/expected"
if ls tests/unit/*.c >/dev/null 2>&1; then
    grep -ohE '\bF_[A-Z0-9_]+\b' tests/unit/*.c | sort -u |
        join - <(sort "$tmp/catalogue") | awk '{ print $2 }' >>"$tmp/expected"
fi
sort -u "$tmp/expected" -o "$tmp/expected"
sort "$tmp/ids" >"$tmp/ids.sorted"
# The audit's verdict rows (FLAG, then a probe id) name probes, not flags.
"$NBDCLI" check --list | awk '{ print $1 }' | sort -u >"$tmp/probes"
stale=$(comm -23 "$tmp/expected" "$tmp/ids.sorted" | comm -23 - "$tmp/probes")
[ -z "$stale" ] || fail "tests expect flags that are not in the catalogue: $stale"
untested=$(comm -13 "$tmp/expected" "$tmp/ids.sorted")
[ -z "$untested" ] || fail "catalogue ids no test expects: $(echo $untested)"
echo "$n flags: listed, explained, in nbdcli.1, raised by the engine and by the tests"
