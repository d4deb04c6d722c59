#!/usr/bin/env bash
# test-check-flawed.sh: the conformance audit (`nbdcli check') against
# the flawed test server, and the audit's command line.
#   1. The fault-free server in each TLS mode (off, on, require; PSK and
#      X.509): the mode is discovered (none, selective, forced), every
#      applicable probe passes, the others are skipped with a reason,
#      no FLAG, WARN or ERROR, exit 0.
#   2. Each fault is found by its probe: FLAG (exit 3), with evidence
#      that names what the server did (for the STARTTLS state faults,
#      the state kept).
#   3. `check --list' (ids unique, rule and section on each line, also
#      as JSON), `check PROBE...' runs only those, an unknown probe id
#      is a usage error (exit 2), `--json' lines parse with the
#      documented fields, `--export NAME', `check' inside a session, a
#      server that never greets costs a timeout (exit 1), a server that
#      hangs or crashes in one probe gives that probe an ERROR (or the
#      FLAG its behaviour deserves) and the audit goes on.
# Verdicts nbdcli once got wrong are asserted last (see the end).

# shellcheck source=tests/functions.sh
. "${srcdir:-tests}/functions.sh"
# shellcheck source=tests/check-functions.sh
. "$srcdir/check-functions.sh"
set -e
set -x

requires "$FLAWED" --list-faults
# shellcheck disable=SC2016 # $NBDCLI is expanded by sh (exported)
requires sh -c '"$NBDCLI" --dump-config | grep -q "^tls=gnutls"'
requires python3 -c 'import json'

psk=$tmp/keys.psk
make_psk "$psk" alice
pki=$tmp/pki
make_pki "$pki"

# srv MODE CRED: the flawed server's TLS arguments; cli CRED: nbdcli's.
srv ()
{
    case $2 in
    psk)  printf '%s\n' --tls="$1" --tls-psk "$psk" ;;
    x509) printf '%s\n' --tls="$1" --tls-certificates "$pki" ;;
    esac
}
cli ()
{
    case $1 in
    psk)  printf '%s\n' --tls-psk "$psk" --tls-username alice ;;
    x509) printf '%s\n' --tls-certificates "$pki" ;;
    esac
}

# The probes the fault-free server passes in each mode (it offers TLS
# in `on' and `require', base:allocation, extended headers, NO_ZEROES
# and two exports); every other probe must be skipped.
basics='greeting meta-before-sr meta-replaced meta-failed-set meta-export-binding
    meta-list-rules meta-status client-flags-unknown no-zeroes
    unknown-option option-data info-go-consistent repeated-sr disc abort
    list-exports info-requests read-past-end unknown-command
    unknown-command-flag zero-length-read sr-read eh-sr-after eh-replies
    eh-block-status'
tlsall='starttls-twice starttls-payload starttls-plaintext
    no-tls-reqd-after-tls tls-needs-fixed tls-meta-after'
forced='forced-list forced-info forced-go forced-sr forced-lmc forced-smc
    forced-eh forced-unknown forced-export-name forced-abort
    forced-consistent forced-option-data'
reset='tls-reset-sr-df tls-reset-sr-read tls-sr-again tls-reset-meta
    tls-reset-mixed tls-reset-eh tls-reset-export'
declare -A pass=(
    [off]="notls-options $basics"
    [on]="$reset selective-scope $tlsall $basics"
    [require]="$forced $tlsall $basics"
)

# ---------------------------------------------------------------------
# 1. The fault-free server in each mode, with each kind of credentials.
start=$SECONDS
for mode in off on require; do
    for cred in psk x509; do
        mapfile -t s < <(srv "$mode" "$cred")
        mapfile -t c < <(cli "$cred")
        audit "ok-$mode-$cred" 0 "${c[@]}" check [ "$FLAWED" "${s[@]}" ]
        f=$out
        expect_set "$f" FLAG
        expect_set "$f" WARN
        expect_set "$f" ERROR
        # shellcheck disable=SC2086 # a list
        expect_set "$f" PASS ${pass[$mode]}
        [ "$(grep -c -E '^(PASS|SKIP) ' "$f")" = "${#probe_ids[@]}" ] ||
            { _show "$f"; fail "ok-$mode-$cred: not every probe ran"; }
        case $mode in
        off)
            expect_mode "$f" none
            assert_grep -x "check \[ .* \]: TLS mode none (NOTLS); export \"\", also \"disk\"; base:allocation offered; extended headers offered" "$f"
            for p in $reset starttls-twice starttls-payload starttls-plaintext \
                     tls-meta-after no-tls-reqd-after-tls tls-needs-fixed; do
                expect_row "$f" SKIP "$p" '^the server does not offer TLS$'
            done
            for p in $forced; do
                expect_row "$f" SKIP "$p" 'is in none \(NOTLS\) mode, not FORCEDTLS'
            done
            expect_row "$f" SKIP selective-scope 'not SELECTIVETLS'
            expect_row "$f" PASS notls-options 'STARTTLS → NBD_REP_ERR_POLICY' ;;
        on)
            expect_mode "$f" selective
            assert_grep -E '^check .*: TLS mode selective \(SELECTIVETLS\), TLS usable;' "$f"
            for p in $forced; do
                expect_row "$f" SKIP "$p" 'is in selective \(SELECTIVETLS\) mode, not FORCEDTLS'
            done
            expect_row "$f" SKIP notls-options 'offers TLS'
            expect_row "$f" PASS tls-reset-sr-df 'SEND_DF clear'
            expect_row "$f" PASS tls-reset-sr-read 'a simple reply'
            expect_row "$f" PASS tls-reset-eh 'compact read: a simple reply'
            expect_row "$f" PASS starttls-twice 'second STARTTLS: NBD_REP_ERR_INVALID; GO still works' ;;
        require)
            expect_mode "$f" forced
            assert_grep -E '^check .*: TLS mode forced \(FORCEDTLS\), TLS usable;' "$f"
            for p in $reset; do
                expect_row "$f" SKIP "$p" '^not applicable \(FORCEDTLS\)'
            done
            expect_row "$f" SKIP selective-scope 'is in forced \(FORCEDTLS\) mode, not SELECTIVETLS'
            expect_row "$f" SKIP notls-options 'offers TLS'
            expect_row "$f" PASS forced-unknown 'unknown before TLS: NBD_REP_ERR_TLS_REQD; then STARTTLS: NBD_REP_ACK'
            expect_row "$f" PASS disc 'inside TLS' ;;
        esac
        expect_row "$f" SKIP client-no-zeroes-unoffered 'offers NO_ZEROES'
    done
done
echo "fault-free audits: $((SECONDS - start)) s"

# ---------------------------------------------------------------------
# 2. Each fault is found by its probe.  FAULT|MODE|HOW|IDS|CHECKS:
#   HOW  `=': the FLAG probes are exactly IDS; `+': IDS are among them
#        (the engine's validators judge every message of every probe,
#        so a framing fault is flagged by many probes);
#   CHECKS  ID:EVIDENCE-ERE checks, separated by `@@'.
# Not looked for by any probe (so not here): dup-context-id (no probe
# SETs two contexts at once), bad-block-size (no probe asks for
# NBD_INFO_BLOCK_SIZE), sr-without-negotiation in NOTLS and FORCEDTLS
# mode (no probe READs without SR there), keep-export (a known nbdcli
# bug, at the end).
cases=(
    'keep-sr|on|=|tls-reset-sr-df tls-reset-sr-read|tls-reset-sr-df:flags 0x0ced set SEND_DF: the pre-TLS structured reply request was kept@@tls-reset-sr-read:a structured reply although structured replies were only negotiated before STARTTLS'
    'keep-meta|on|=|tls-reset-meta|tls-reset-meta:block-status: block status for context id 1, which must no longer be in force'
    'keep-eh|on|=|tls-reset-eh|tls-reset-eh:an extended reply: the pre-TLS extended headers were kept'
    'double-starttls|on|=|starttls-twice|starttls-twice:^second STARTTLS: NBD_REP_ACK$'
    'double-starttls|require|=|starttls-twice|starttls-twice:^second STARTTLS: NBD_REP_ACK$'
    'tls-reqd-after-tls|on|=|no-tls-reqd-after-tls|no-tls-reqd-after-tls:LIST → NBD_REP_ERR_TLS_REQD$'
    'tls-reqd-after-tls|require|+|no-tls-reqd-after-tls|no-tls-reqd-after-tls:LIST → NBD_REP_ERR_TLS_REQD$'
    'sr-without-negotiation|on|+|tls-reset-sr-read|tls-reset-sr-read:sr; starttls; go; read: a structured reply'
    'df-without-sr|off|=|notls-options no-zeroes info-go-consistent disc info-requests unknown-command unknown-command-flag zero-length-read|info-go-consistent:the engine raised df-without-sr: NBD_INFO_EXPORT sets NBD_FLAG_SEND_DF@@no-zeroes:the engine raised df-without-sr: NBD_OPT_EXPORT_NAME reply sets NBD_FLAG_SEND_DF'
    'df-without-sr|on|+|tls-reset-sr-df|tls-reset-sr-df:set SEND_DF'
    'two-finals|off|+|meta-status meta-replaced|meta-status:the engine raised two-finals'
    'wrong-echo|off|+|notls-options info-go-consistent|info-go-consistent:the engine raised reply-echo'
    'wrong-magic|off|+|info-go-consistent abort|abort:the engine raised reply-magic: option reply magic is 0x0003e889045565aa'
    'ack-payload|off|+|notls-options abort|abort:the engine raised ack-payload: NBD_REP_ACK carries 4 bytes'
    'info-export-len|off|+|info-go-consistent|info-go-consistent:the engine raised info-export-length'
    'no-has-flags|off|+|info-go-consistent no-zeroes|info-go-consistent:the engine raised has-flags-missing'
    'fast-zero-without-wz|off|+|info-go-consistent|info-go-consistent:the engine raised fast-zero-without-write-zeroes'
    'meta-unrequested|off|+|meta-status meta-list-rules|meta-status:the engine raised meta-unrequested'
    'unsolicited-reply|off|+|notls-options abort|abort:the engine raised (reply-echo|unsolicited-reply)'
    'bad-cookie|off|+|meta-status|meta-status:the engine raised cookie-mismatch'
    'bad-cookie|on|+|tls-reset-sr-read tls-meta-after|tls-reset-sr-read:the engine raised cookie-mismatch'
    'reply-to-disc|off|=|disc|disc:the engine raised reply-to-disc: a message arrived after NBD_CMD_DISC'
    'reply-to-disc|require|=|disc|disc:inside TLS.*the engine raised reply-to-disc'
)
start=$SECONDS
for case in "${cases[@]}"; do
    IFS='|' read -r fault mode how ids checks <<<"$case"
    mapfile -t s < <(srv "$mode" psk)
    mapfile -t c < <(cli psk)
    audit "fault-$fault-$mode" 3 "${c[@]}" check [ "$FLAWED" "${s[@]}" --fault "$fault" ]
    f=$out
    # shellcheck disable=SC2086 # $ids is a list
    case $how in
    =) expect_set "$f" FLAG $ids ;;
    +) expect_rows "$f" FLAG $ids ;;
    esac
    while [ -n "$checks" ]; do
        check=${checks%%@@*}
        expect_row "$f" FLAG "${check%%:*}" "${check#*:}"
        [ "$check" = "$checks" ] && checks= || checks=${checks#*@@}
    done
done
echo "fault audits: $((SECONDS - start)) s"

# A fault that does not apply to the mode changes nothing: keep-sr in
# FORCEDTLS (the SR before STARTTLS gets TLS_REQD, so nothing is kept).
audit keep-sr-forced 0 "${c[@]}" check [ "$FLAWED" --tls=require --tls-psk "$psk" --fault keep-sr ]
expect_set "$out" FLAG
expect_row "$out" SKIP tls-reset-sr-df 'SR before TLS got NBD_REP_ERR_TLS_REQD, so no state can leak'

# ---------------------------------------------------------------------
# 3. The command line.

# --list: every probe with its rule and section, ids unique.
expect_status 0 "$NBDCLI" check --list
mv "$tmp/out" "$tmp/list"
n=$(wc -l <"$tmp/list")
[ "$n" -ge 30 ] || fail "check --list: $n lines"
[ "$n" = "${#probe_ids[@]}" ] || fail "check --list: $n lines, ${#probe_ids[@]} ids"
[ -z "$(awk '{ print $1 }' "$tmp/list" | sort | uniq -d)" ] ||
    fail "check --list: repeated ids"
if grep -v -E '^[a-z][a-z0-9-]+ +[^ ].* \(spec: [^)]+\)$' "$tmp/list"; then
    fail "check --list: a line without rule or section"
fi
for p in tls-reset-sr-df tls-reset-sr-read tls-reset-meta tls-reset-eh \
         starttls-twice no-tls-reqd-after-tls forced-list notls-options \
         selective-scope info-go-consistent; do
    assert_grep -E "^$p " "$tmp/list"
done
assert_grep -x -E 'tls-reset-sr-read +after sr; starttls; go, READ gets a simple reply \(CVE-2021-3716\) \(spec: NBD_OPT_STARTTLS\)' "$tmp/list"
# The same as JSON: one probe_info object per probe, in the same order.
expect_status 0 "$NBDCLI" --json check --list
python3 - "$tmp/out" "$tmp/list" <<'EOF'
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
ids = [l.split()[0] for l in open(sys.argv[2])]
assert [o["id"] for o in objs] == ids, "ids differ from the text list"
for o in objs:
    assert o["event"] == "probe_info", o
    assert set(o) == {"event", "id", "rule", "section"}, o
    assert o["rule"] and o["section"], o
EOF

# check PROBE...: only those, in catalogue order; the discovery still
# comes first.
audit subset 3 "${c[@]}" check [ "$FLAWED" --tls=on --tls-psk "$psk" --fault keep-sr ] \
    abort tls-reset-sr-df notls-options
[ "$(awk -F '\t' '{ print $1 " " $2 }' "$tmp/subset.rows")" = \
  "FLAG tls-reset-sr-df
SKIP notls-options
PASS abort" ] || { _show "$out"; fail "subset: wrong rows"; }
assert_grep -x '3 probes: 1 pass, 1 flag, 0 warn, 1 skip, 0 error' "$out"

# An unknown probe id: a usage error, nothing run (not even discovery).
expect_status 2 "$NBDCLI" check [ "$FLAWED" --pidfile "$tmp/never.pid" ] abort no-such-probe
assert_grep -F 'no probe "no-such-probe"' "$tmp/out"
assert_not_grep -E '^(check |PASS|[0-9]+ probes)' "$tmp/out"
[ ! -e "$tmp/never.pid" ] || fail "the server was started for an unknown probe id"
expect_status 2 "$NBDCLI" [ "$FLAWED" ] -c 'check no-such-probe'
assert_grep -F 'no probe "no-such-probe"' "$tmp/out"
expect_status 2 "$NBDCLI" check --no-such-option [ "$FLAWED" ]

# --json: one object per line (stdout), the documented fields.
out=$tmp/json.out
st=0
"$NBDCLI" --json "${c[@]}" check [ "$FLAWED" --tls=on --tls-psk "$psk" --fault keep-meta ] \
    tls-reset-meta tls-meta-after forced-list >"$out" 2>"$tmp/json.err" || st=$?
[ "$st" = 3 ] || { _show "$out"; fail "json: exit status $st"; }
python3 - "$out" <<'EOF'
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
ev = [o["event"] for o in objs]
assert ev == ["check", "probe", "probe", "probe", "check_summary"], ev
c = objs[0]
assert set(c) == {"event", "target", "tls_mode", "tls_usable", "negotiation",
                  "export", "base_allocation", "extended_headers"}, c
assert c["negotiation"] == "fixed newstyle", c
assert c["tls_mode"] == "selective (SELECTIVETLS)", c
assert c["tls_usable"] is True and c["export"] == "", c
assert c["base_allocation"] is True and c["extended_headers"] is True, c
probes = {o["id"]: o for o in objs if o["event"] == "probe"}
for o in probes.values():
    assert set(o) == {"event", "id", "result", "rule", "section", "evidence"}, o
    assert o["result"] in ("PASS", "FLAG", "WARN", "SKIP", "ERROR"), o
    assert o["rule"] and o["section"] and o["evidence"], o
assert probes["tls-reset-meta"]["result"] == "FLAG"
assert "context id 1, which must no longer be in force" in probes["tls-reset-meta"]["evidence"]
assert probes["tls-reset-meta"]["section"] == "NBD_OPT_STARTTLS"
assert probes["tls-meta-after"]["result"] == "PASS"
assert probes["forced-list"]["result"] == "SKIP"
s = objs[-1]
assert s == {"event": "check_summary", "probes": 3, "pass": 1, "flag": 1,
             "warn": 0, "skip": 1, "error": 0}, s
EOF

# --export NAME: the probes use that export.
audit export-disk 0 check --export disk [ "$FLAWED" --export disk --export other ] \
    info-go-consistent meta-export-binding
assert_grep -E '^check .*; export "disk", also "other";' "$out"
expect_row "$out" PASS info-go-consistent
expect_row "$out" PASS meta-export-binding
# ... and nbdcli's own --export (the session's default export), given
# before `check'.
audit export-default 0 --export other check [ "$FLAWED" --export disk --export other ] abort
assert_grep -E '^check .*; export "other", also "disk";' "$out"

# check inside a session: it audits on connections of its own and says
# so, the session is left as it was (still connected, sr negotiated);
# a FLAG makes the exit status 3.
expect_status 3 "$NBDCLI" "${c[@]}" [ "$FLAWED" --tls=on --tls-psk "$psk" --fault double-starttls ] \
    -c 'sr; check starttls-twice abort' -c 'echo after the audit; assert phase negotiating; assert structured-reply'
assert_grep -F 'check: auditing [ ' "$tmp/out"
assert_grep -F 'on connections of its own; this session is left as it was' "$tmp/out"
assert_not_grep -F 'closed for the audit' "$tmp/out"
assert_grep -E '^FLAG +starttls-twice ' "$tmp/out"
assert_grep -x '2 probes: 1 pass, 1 flag, 0 warn, 0 skip, 0 error' "$tmp/out"
assert_grep -x 'after the audit' "$tmp/out"

# A server that never sends a greeting: discovery fails after the
# timeout, not a hang; exit 1 with the reason.
start=$SECONDS
expect_status 1 timeout 30 "$NBDCLI" -t 1 check [ sleep 30 ]
elapsed=$((SECONDS - start))
[ "$elapsed" -lt 15 ] || fail "a silent server cost ${elapsed}s"
assert_grep -F 'cannot probe the server' "$tmp/out"
assert_grep -F 'greeting: no reply within 1 s' "$tmp/out"
assert_not_grep -E '^(PASS|FLAG|[0-9]+ probes)' "$tmp/out"
expect_status 1 timeout 30 "$NBDCLI" --json -t 1 check [ sleep 30 ]
grep '^{' "$tmp/out" >"$tmp/hang.json" || :
python3 - "$tmp/hang.json" <<'EOF'
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
errs = [o for o in objs if o["event"] == "error"]
assert errs and "no reply within 1 s" in errs[0]["message"], objs
assert errs[0]["command"] == "check", errs
EOF

# A server that hangs in one probe and one that crashes in another: a
# wrapper starts the flawed server for every connection, except the
# connections numbered in $tmp/crash-at (a server that greets, reads
# the client flags and one option, then dies of SIGKILL) and
# $tmp/hang-at (sleep: no greeting).
cat >"$tmp/crash.py" <<'EOF'
import os, signal, struct
def rd(n):
    b = b""
    while len(b) < n:
        c = os.read(0, n - len(b))
        if not c:
            os._exit(1)
        b += c
    return b
os.write(1, b"NBDMAGICIHAVEOPT\x00\x03")
rd(4)
h = rd(16)
rd(struct.unpack(">I", h[12:16])[0])
os.kill(os.getpid(), signal.SIGKILL)
EOF
cat >"$tmp/wrap" <<EOF
#!/bin/sh
n=\$(( \$(cat "$tmp/count" 2>/dev/null || echo 0) + 1 ))
echo "\$n" >"$tmp/count"
case \$n in
"\$(cat "$tmp/crash-at" 2>/dev/null)") exec python3 "$tmp/crash.py" ;;
"\$(cat "$tmp/hang-at" 2>/dev/null)") exec sleep 30 ;;
esac
exec "$FLAWED"
EOF
chmod +x "$tmp/wrap"
# How many connections the discovery makes: one probe costs one more.
rm -f "$tmp/count"
audit count 0 check --jobs 1 [ "$tmp/wrap" ] abort
d=$(( $(cat "$tmp/count") - 1 ))
# The probes run in catalogue order, one at a time (--jobs 1, so the
# connections are numbered in that order): notls-options,
# info-go-consistent (connection d+2: the crash), disc (d+3: the hang),
# abort.
rm -f "$tmp/count"
echo $((d + 2)) >"$tmp/crash-at"
echo $((d + 3)) >"$tmp/hang-at"
start=$SECONDS
audit crash 1 -t 1 check --jobs 1 [ "$tmp/wrap" ] abort disc info-go-consistent notls-options
elapsed=$((SECONDS - start))
[ "$elapsed" -lt 15 ] || fail "a hanging probe cost ${elapsed}s"
[ "$(cat "$tmp/count")" = $((d + 4)) ] || fail "not every probe got its connection"
expect_row "$out" PASS notls-options
expect_row "$out" ERROR info-go-consistent 'INFO: the server closed the connection'
expect_row "$out" ERROR disc 'no reply within 1 s'
expect_row "$out" PASS abort 'ABORT: NBD_REP_ACK'
assert_grep -x '4 probes: 2 pass, 0 flag, 0 warn, 0 skip, 2 error' "$out"
# A server that closes the connection on an unknown option breaks a
# MUST (it must answer NBD_REP_ERR_UNSUP and go on): the crash then
# makes unknown-option FLAG, and the audit still goes on.
rm -f "$tmp/count"
echo $((d + 1)) >"$tmp/crash-at"
echo 0 >"$tmp/hang-at"
audit crash-unknown 3 check --jobs 1 [ "$tmp/wrap" ] unknown-option abort
expect_row "$out" FLAG unknown-option 'option 0x1234 with 7 bytes: the server closed the connection'
expect_row "$out" PASS abort

# ---------------------------------------------------------------------
# Verdicts nbdcli once got wrong, kept as regression checks.

# (a) keep-export is not found.  The flawed server with keep-export
# answers an INFO/GO for the default export "" after STARTTLS with the
# export of the last INFO before it (NBD_INFO_NAME "disk" after
# `info disk; starttls; info "" --name'), which breaks the STARTTLS
# rule "the server MUST NOT preserve any negotiation state".  The
# engine flags it in a session (tls-state-kept-export), but the probe
# tls-reset-export asks about the target's export before STARTTLS and
# about "nbdcli-probe-no-such-export" after it, so a server that
# remembers the pre-TLS export for the *default* name is never seen:
# PASS, exit 0.  The probe should INFO another export (the one LIST
# gave) before STARTTLS and the target's (or "") with NBD_INFO_NAME
# after it.
bug_keep_export ()
{
    local e
    for e in '' disk; do
        audit "keep-export-${e:-default}" - "${c[@]}" check --export "$e" \
            [ "$FLAWED" --tls=on --tls-psk "$psk" --fault keep-export ] tls-reset-export
        expect_row "$out" FLAG tls-reset-export
        [ "$audit_status" = 3 ] || fail "keep-export: exit status $audit_status"
    done
}
known_bug keep-export bug_keep_export

# (b) A NOTLS server that answers TLS_REQD is taken for FORCEDTLS.
# With --tls=off --fault tls-reqd-no-tls the server refuses STARTTLS
# (NBD_REP_ERR_POLICY) and answers LIST with NBD_REP_ERR_TLS_REQD.
# Discovery sets the mode from LIST's TLS_REQD alone, so the audit
# says "TLS mode forced (FORCEDTLS)", runs the forced-* probes (PASS
# forced-list; FLAG forced-info, forced-go, ... for answers a NOTLS
# server is entitled to give) and skips notls-options with "the server
# offers TLS", which is false.  A server that refuses STARTTLS is in
# NOTLS mode whatever else it answers (spec, NOTLS mode: the server
# "MUST NOT respond to any option request with NBD_REP_ERR_TLS_REQD"),
# so the audit should say none (NOTLS) and FLAG notls-options.
bug_tls_reqd_no_tls ()
{
    local p
    audit tls-reqd-no-tls - check [ "$FLAWED" --tls=off --fault tls-reqd-no-tls ]
    [ "$audit_status" = 3 ] || fail "tls-reqd-no-tls: exit status $audit_status"
    expect_mode "$out" none
    expect_row "$out" FLAG notls-options 'LIST → NBD_REP_ERR_TLS_REQD'
    for p in $forced; do
        expect_row "$out" SKIP "$p"
    done
}
known_bug tls-reqd-no-tls bug_tls_reqd_no_tls

known_bugs_report
