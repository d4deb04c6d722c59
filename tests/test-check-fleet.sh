#!/usr/bin/env bash
# test-check-fleet.sh: the audit at fleet scale.
#  1. Probes in parallel give the same output as one at a time, on
#     nbdkit (TLS required), on qemu-nbd started without -e (one client
#     at a time: detected, then one probe at a time; the modern one and
#     Debian 12's when both are there), on nbd-server
#     (a child per client), and on the flawed server with a fault.
#  2. Several targets in one run (the command line and --targets FILE,
#     with a server command and an unreachable target): one block per
#     target in the order given, a summary table, the unreachable one
#     an error for itself only, the exit status the worst.
#  3. --junit FILE parses (xml.etree) and its counts match the text.
#  4. JSON lines carry the target on every record.

# shellcheck source=tests/functions.sh
. "${srcdir:-tests}/functions.sh"
# shellcheck source=tests/check-functions.sh
. "${srcdir:-tests}/check-functions.sh"
set -e
set -x

requires nbdkit --version
requires qemu-nbd --version
requires nbd-server -V
requires python3 --version
requires certtool --version

pki=$tmp/pki
make_pki "$pki"

# same NAME ARGS...: `check ARGS' with --jobs 1 and --jobs 8 print the
# same (stdout).  With NAME ending in -rows, only the verdicts and ids
# are compared (a server whose replies race its own extra replies).
same ()
{
    local name=$1
    shift
    "$NBDCLI" check --jobs 1 "$@" >"$tmp/$name.1" 2>/dev/null || :
    "$NBDCLI" check --jobs 8 "$@" >"$tmp/$name.8" 2>"$tmp/$name.err" || :
    if [[ $name == *-rows ]]; then
        grep -oE '^(PASS|FLAG|WARN|SKIP|ERROR) +[a-z0-9-]+' "$tmp/$name.1" >"$tmp/$name.r1"
        grep -oE '^(PASS|FLAG|WARN|SKIP|ERROR) +[a-z0-9-]+' "$tmp/$name.8" >"$tmp/$name.r8"
        diff "$tmp/$name.r1" "$tmp/$name.r8" ||
            fail "$name: the verdicts differ between --jobs 1 and --jobs 8"
    else
        diff "$tmp/$name.1" "$tmp/$name.8" ||
            fail "$name: the output differs between --jobs 1 and --jobs 8"
    fi
    grep -qE '^[0-9]+ probes: ' "$tmp/$name.8" || { _show "$tmp/$name.8"; fail "$name: no summary"; }
}

# nbdkit, TLS required.
start_bg kpid nbdkit -U "$tmp/nbdkit.sock" -f --tls=require --tls-certificates="$pki" memory 1M
wait_for_socket "$tmp/nbdkit.sock"
same nbdkit "nbds+unix:///?socket=$tmp/nbdkit.sock&tls-certificates=$pki"

# qemu-nbd without -e: one client at a time.
truncate -s 1M "$tmp/q.img"
start_bg qpid qemu-nbd -k "$tmp/qemu.sock" -f raw -t "$tmp/q.img"
wait_for_socket "$tmp/qemu.sock"
same qemu "nbd+unix:///?socket=$tmp/qemu.sock"
assert_grep -F 'serves one connection at a time: its probes run one after another' "$tmp/qemu.err"
assert_not_grep -E '^(FLAG|ERROR) ' "$tmp/qemu.8"
# Debian 12's qemu-nbd too, when it is beside a modern one.
q12=$(qemu_nbd_debian12)
if [ -n "$q12" ] && ! [ "$q12" -ef "$(command -v qemu-nbd)" ]; then
    start_bg q12pid "$q12" -k "$tmp/q12.sock" -f raw -t "$tmp/q.img"
    wait_for_socket "$tmp/q12.sock"
    same q12 "nbd+unix:///?socket=$tmp/q12.sock"
    assert_grep -F 'serves one connection at a time: its probes run one after another' "$tmp/q12.err"
    assert_not_grep -E '^(FLAG|ERROR) ' "$tmp/q12.8"
fi

# nbd-server: a child per client (its option-data evidence races its
# own extra replies, so only the verdicts are compared).
truncate -s 1M "$tmp/ns.img"
printf '[generic]\nunixsock = %s\nallowlist = true\n[alpha]\nexportname = %s\n' \
    "$tmp/ns.sock" "$tmp/ns.img" >"$tmp/ns.conf"
nbd-server -C "$tmp/ns.conf" -p "$tmp/ns.pid" >"$tmp/ns.log" 2>&1 ||
    { _show "$tmp/ns.log"; fail "nbd-server did not start"; }
wait_for_file "$tmp/ns.pid"
ns_pid=$(cat "$tmp/ns.pid")
cleanup_fn kill_pid "$ns_pid"
wait_for_socket "$tmp/ns.sock"
same ns-rows "nbd+unix:///alpha?socket=$tmp/ns.sock"

# The flawed server with a fault: a server command per connection.
same flawed [ "$FLAWED" --fault df-without-sr ]
assert_grep -E '^FLAG ' "$tmp/flawed.8"

# ---- Several targets.
cat >"$tmp/targets" <<EOT
# the fleet
nbd+unix:///?socket=$tmp/qemu.sock
[ nbdkit -s memory 2M ]     # a server command
$tmp/no-such.sock
EOT
st=0
"$NBDCLI" check --jobs 4 --junit "$tmp/j.xml" \
    "nbds+unix:///?socket=$tmp/nbdkit.sock&tls-certificates=$pki" \
    --targets "$tmp/targets" >"$tmp/fleet" 2>"$tmp/fleet.err" || st=$?
[ "$st" = 1 ] || { _show "$tmp/fleet"; fail "fleet: exit status $st, expected 1 (one target unreachable)"; }
# One block per target, in the order given.
grep -E '^check ' "$tmp/fleet" | sed 's/:.*//' >"$tmp/order"
printf '%s\n' "check unix" "check unix" "check [ nbdkit -s memory 2M ]" "check unix" >"$tmp/want-order"
diff "$tmp/want-order" "$tmp/order" || fail "fleet: blocks not in the order given"
assert_grep -E "^check unix:$tmp/nbdkit.sock: TLS mode forced" "$tmp/fleet"
assert_grep -E "^check unix:$tmp/no-such.sock: cannot probe the server: cannot connect" "$tmp/fleet"
# Every target is named in one form, whether it came first, later on
# the command line or from --targets.
cat >"$tmp/two-args" <<EOT
check unix:$tmp/nbdkit.sock
check unix:$tmp/qemu.sock
EOT
"$NBDCLI" check --jobs 4 "nbds+unix:///?socket=$tmp/nbdkit.sock&tls-certificates=$pki" \
    "nbd+unix:///?socket=$tmp/qemu.sock" >"$tmp/two" 2>&1 ||
    { _show "$tmp/two"; fail "two targets: exit status $?"; }
grep -E '^check ' "$tmp/two" | sed 's/: [A-Z].*//' | diff "$tmp/two-args" - ||
    fail "two targets: not named in one form"
# The summary table: a row per target.
assert_grep -E '^target +TLS mode +pass +flag +warn +skip +error +time$' "$tmp/fleet"
assert_grep -E "^unix:$tmp/no-such.sock +\(not reached\) +0 +0 +0 +0 +1 " "$tmp/fleet"
assert_grep -E '^\[ nbdkit -s memory 2M \] +none \(NOTLS\) +[0-9]+ +0 +0 +[0-9]+ +0 ' "$tmp/fleet"

# JUnit: parses, and its counts match the text summaries.
python3 - "$tmp/j.xml" "$tmp/fleet" <<'PY'
import re, sys
import xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "testsuites", root.tag
suites = list(root)
assert len(suites) == 4, [s.get("name") for s in suites]
text = open(sys.argv[2]).read()
rows = re.findall(r"^(\S.*?) {2,}(none \(NOTLS\)|forced \(FORCEDTLS\)|selective \(SELECTIVETLS\)|\(not reached\)) +(\d+) +(\d+) +(\d+) +(\d+) +(\d+) +[\d.]+s", text, re.M)
assert len(rows) == 4, rows
for suite, row in zip(suites, rows):
    cases = suite.findall("testcase")
    n = {k: sum(1 for c in cases if c.find(k) is not None) for k in ("failure", "error", "skipped")}
    passed = sum(1 for c in cases if c.find("failure") is None and c.find("error") is None and c.find("skipped") is None and c.find("system-out") is None)
    warned = sum(1 for c in cases if c.find("system-out") is not None)
    p, f, w, s, e = map(int, row[2:])
    assert int(suite.get("tests")) == len(cases), suite.attrib
    assert int(suite.get("failures")) == n["failure"] == f, (suite.get("name"), suite.attrib, n, row)
    assert int(suite.get("errors")) == n["error"] == e, (suite.get("name"), n, row)
    assert int(suite.get("skipped")) == n["skipped"] == s, (suite.get("name"), n, row)
    if row[1] != "(not reached)":
        assert passed == p and warned == w, (suite.get("name"), passed, warned, row)
    for c in cases:
        assert c.get("classname") == suite.get("name"), c.attrib
print("junit: %d suites, counts match" % len(suites))
PY

# JSON: every record names its target.
"$NBDCLI" --json check --jobs 4 "nbd+unix:///?socket=$tmp/qemu.sock" \
    --targets "$tmp/targets" >"$tmp/fleet.json" 2>/dev/null || :
python3 - "$tmp/fleet.json" <<'PY'
import json, sys
n = 0
for line in open(sys.argv[1]):
    o = json.loads(line)
    assert o.get("target"), o
    n += 1
assert n > 100, n
print("json: %d records, each with its target" % n)
PY

# ---- multi-conn: runs only when named (it writes, then puts the data
# back); passes on nbdkit, which shares its memory disk between
# connections, and flags a server that advertises NBD_FLAG_CAN_MULTI_CONN
# but gives every connection a disk of its own.
audit mc-default 0 check "nbd+unix:///?socket=$tmp/qemu.sock"
expect_row "$out" SKIP multi-conn 'name it to run it'
start_bg mpid nbdkit -U "$tmp/mc.sock" -f memory 1M
wait_for_socket "$tmp/mc.sock"
audit mc-nbdkit 0 check "nbd+unix:///?socket=$tmp/mc.sock" multi-conn
expect_row "$out" PASS multi-conn 'written and flushed at offset 0 on one connection were read back on the other'
start_bg fpid "$FLAWED" -U "$tmp/mc-flawed.sock" --serve-many --timeout 10 --fault multi-conn-private
wait_for_socket "$tmp/mc-flawed.sock"
audit mc-flawed 3 check "nbd+unix:///?socket=$tmp/mc-flawed.sock" multi-conn
expect_row "$out" FLAG multi-conn 'NBD_FLAG_CAN_MULTI_CONN is advertised, but a write and FLUSH on one connection was not visible on the other'
