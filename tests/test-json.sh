#!/usr/bin/env bash
# --json: every line of a long session parses and carries the members
# the man page documents for its event.
. "${srcdir:-tests}/functions.sh"
set -e
set -x

requires nbdkit memory --version
requires python3 --version
requires psktool --version
test -x "$FLAWED" || skip "no flawed server"

make_psk "$tmp/keys.psk" alice
out=$tmp/json
tls=(--tls-psk "$tmp/keys.psk" --tls-username alice)

# Options, transmission, errors, state, text commands.
$NBDCLI --json [ nbdkit -s memory 1M ] -c 'list; info --all; opt 4; sr; lmc base:; smc base:allocation; go; write 0 "hello"; read 0 5; read 0 5 &; flush &; wait; read 1M 512 --force; block-status 0 1M; flush; state; echo done; help list; set; complete "inf"; trace; disc' > "$out" 2>"$tmp/err"
# nbdcli itself writes nothing to stderr (the server may).
assert_not_grep "^nbdcli" "$tmp/err"
# A flag, TLS and the state before STARTTLS.
st=0
$NBDCLI --json "${tls[@]}" [ $FLAWED --fault keep-sr --tls=on --tls-psk "$tmp/keys.psk" ] -c 'sr; starttls; info; state' >> "$out" || st=$?
test "$st" = 3
# A command error and a usage error.
$NBDCLI --json -c '-list; bogus' >> "$out" || st=$?
test "$st" = 2
# An engine failure carries its kind: zeros are not an NBD greeting.
st=0
$NBDCLI --json [ sh -c 'exec head -c 18 /dev/zero' ] -c 'list' >> "$out" || st=$?
test "$st" = 1
# The catalogue of flags.
$NBDCLI --json --list-flags >> "$out"
# The audit.
$NBDCLI --json check [ nbdkit -s memory 1M ] abort unknown-option >> "$out"
$NBDCLI --json check --list >> "$out"

python3 - "$out" <<'PY'
import json, sys
required = {
    "connected": ["target"],
    "sent": ["message"],
    "received": ["message"],
    "data": ["offset", "length"],
    "hole": ["offset", "length"],
    "error_chunk": ["error", "error_name", "message"],
    "block_status": ["context_id", "context", "extents"],
    "tls": ["epoch", "version", "cipher", "mac", "key_exchange",
            "credentials", "verification"],
    "flag": ["id", "evidence", "rule", "level", "epoch"],
    "flag_info": ["id", "level", "rule", "section", "how"],
    "note": ["message"],
    "error": ["message", "command"],
    "closed": ["reason"],
    "out_of_order": ["cookie", "command_name", "earlier_cookie",
                     "earlier_command_name"],
    "request_done": ["cookie", "command_name", "error", "error_value",
                     "error_name", "data_bytes", "in_flight"],
    "state": ["phase", "target", "default_export", "oldstyle", "tls",
              "tls_required", "epoch", "structured_replies",
              "extended_headers", "meta_contexts", "flags_raised"],
    "output": ["command", "text"],
    "check": ["target", "tls_mode", "tls_usable", "export",
              "base_allocation", "extended_headers"],
    "probe": ["id", "result", "rule", "section", "evidence"],
    "probe_info": ["id", "rule", "section"],
    "check_summary": ["probes", "pass", "flag", "warn", "skip", "error"],
}
by_message = {
    "greeting": ["style"],
    "client_flags": ["client_flags", "client_flags_names"],
    "option": ["option", "option_name", "length", "payload_length",
               "payload_hex"],
    "request": ["command", "command_name", "command_flags", "cookie",
                "offset", "length", "async", "in_flight"],
    "option_reply": ["option", "option_name", "type", "type_name", "error",
                     "length", "payload_hex"],
    "export_name_reply": ["size", "transmission_flags", "padding"],
    "simple_reply": ["magic", "cookie", "in_flight", "error",
                     "error_name"],
    "structured_chunk": ["magic", "cookie", "in_flight", "flags", "type",
                         "type_name", "length"],
    "extended_chunk": ["magic", "cookie", "in_flight", "flags", "type",
                       "type_name", "length", "offset"],
}
seen = set()
kinds = set()
for n, line in enumerate(open(sys.argv[1]), 1):
    obj = json.loads(line)           # every line parses
    ev = obj["event"]
    assert ev in required, "line %d: undocumented event %r" % (n, ev)
    for k in required[ev]:
        assert k in obj, "line %d: %s lacks %r: %s" % (n, ev, k, line)
    if ev in ("sent", "received"):
        m = obj["message"]
        assert m in by_message, "line %d: undocumented message %r" % (n, m)
        for k in by_message[m]:
            assert k in obj, "line %d: %s lacks %r: %s" % (n, m, k, line)
        seen.add(m)
    seen.add(ev)
    if ev == "flag":
        assert obj["id"] == "tls-state-kept-sr", line
        assert obj["level"] == "MUST", line
    if ev == "error" and "kind" in obj:
        kinds.add(obj["kind"])
    if ev == "flag_info":
        assert obj["level"] in ("MUST", "SHOULD"), line
        assert obj["rule"] and obj["section"] and obj["how"], line
assert "not-nbd" in kinds, "no error of kind not-nbd: %s" % kinds
want = {"flag_info", "connected", "greeting", "client_flags", "option", "option_reply",
        "request", "simple_reply", "structured_chunk", "data",
        "block_status", "tls", "flag", "state", "output", "error",
        "request_done",
        "closed", "check", "probe", "probe_info", "check_summary"}
missing = want - seen
assert not missing, "never seen: %s" % sorted(missing)
print("ok: %d kinds" % len(seen))
PY
