#!/usr/bin/env bash
# Scripts get one value: `get FIELD' (size, flags, flag NAME,
# tls-version, contexts, ...) in text and JSON; with -q the output is
# what nbdinfo --size prints.  `list --long' gives every export with its
# size, flags and contexts in one command, as nbdinfo --list does.
. "${srcdir:-tests}/functions.sh"
set -e
set -x

requires nbdkit memory --version
requires python3 --version

srv=('[' nbdkit -s memory 1M ']')

# -q: only what get prints; the same as nbdinfo --size.
got=$("$NBDCLI" -q "${srv[@]}" -c 'go; get size')
[ "$got" = 1048576 ] || fail "get size printed \"$got\""
if command -v nbdinfo >/dev/null; then
    want=$(nbdinfo --size [ nbdkit memory 1M ])
    [ "$got" = "$want" ] || fail "get size: \"$got\", nbdinfo --size: \"$want\""
fi

session values 0 -q "${srv[@]}" -c 'sr; smc base:allocation; go; get flags; get flag SEND_DF; get flag NBD_FLAG_READ_ONLY; get contexts; get phase; get structured-reply; get export'
cat >"$tmp/want" <<'W'
0x0ded
true
false
base:allocation
transmission
true

W
diff -u "$tmp/want" "$out" || fail "get values differ"

# JSON: one value event per get.
"$NBDCLI" --json "${srv[@]}" -c 'sr; smc base:allocation; go; get size; get flags; get flag SEND_DF; get contexts' >"$tmp/json"
python3 - "$tmp/json" <<'PY'
import json, sys
v = [json.loads(l) for l in open(sys.argv[1])]
v = [o for o in v if o["event"] == "value"]
assert [(o["field"], o["value"]) for o in v] == [
    ("size", 1048576), ("flags", 0x0ded), ("SEND_DF", True),
    ("contexts", [{"id": 1, "name": "base:allocation"}])], v
PY

# Before an export is answered: a clear error, nothing sent.
session no-export 1 "${srv[@]}" -c 'get size'
assert_grep -F 'no export has been answered yet' "$out"
session no-tls 1 "${srv[@]}" -c 'get tls-version'
assert_grep -F 'TLS is not up' "$out"
session bad-field 2 "${srv[@]}" -c 'get colour'
assert_grep -F 'unknown field "colour"' "$out"
session bad-flag 2 "${srv[@]}" -c 'go; get flag SEND_COFFEE'
# TLS version, with PSK.
make_psk "$tmp/keys.psk" alice
session tls 0 -q --tls-psk "$tmp/keys.psk" --tls-username alice \
    [ nbdkit -s --tls=require --tls-psk="$tmp/keys.psk" memory 1M ] -c 'starttls; get tls-version'
grep -qE '^TLS1\.[23]$' "$out" || { _show "$out"; fail "get tls-version"; }

# list --long: every export, its size, flags and contexts.
requires nbdkit --filter=exportname memory --version
session long 0 [ nbdkit -s --filter=exportname memory 1M exportname=alpha exportname=beta exportname-list=explicit exportdesc=fixed:test ] -c 'sr; list --long'
assert_order "$out" '-> NBD_OPT_LIST (3)' 'export "alpha":' 'export "beta":'
for e in alpha beta; do
    assert_grep -F -e "-> NBD_OPT_INFO (6), length $((6 + ${#e} + 6)): export \"$e\"" "$out"
    assert_grep -F -e "-> NBD_OPT_LIST_META_CONTEXT (9)" "$out"
done
[ "$(grep -c -x -F '  size:               1048576 (1 MiB)' "$out")" = 2 ]
[ "$(grep -c -F '  transmission flags: 0x0d' "$out")" = 2 ]
[ "$(grep -c -x -F '  contexts:           base:allocation' "$out")" = 2 ]
[ "$(grep -c -x -F '  description:        test' "$out")" = 2 ]
# Without structured replies the contexts are not asked for.
session long-nosr 0 "${srv[@]}" -c 'list --long'
assert_grep -F 'contexts:           not asked (structured replies not negotiated)' "$out"
assert_not_grep -F 'NBD_OPT_LIST_META_CONTEXT' "$out"
