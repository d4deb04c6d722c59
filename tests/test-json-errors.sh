#!/usr/bin/env bash
# --json means JSON always: every error before a session starts (bad
# option, missing value, bad value, bad URI, more than one target, an
# unmatched "[", check without a target) is one JSON object on stdout,
# nothing on stderr, with the same exit status as without --json.
. "${srcdir:-tests}/functions.sh"
set -e
set -x

requires python3 --version

# case ARGS...: nbdcli ARGS without and with --json (first and last).
case_ ()
{
    local st_text=0 st_json=0 where
    "$NBDCLI" "$@" >"$tmp/text.out" 2>"$tmp/text.err" </dev/null || st_text=$?
    [ "$st_text" != 0 ] || fail "nbdcli $*: expected an error"
    [ -s "$tmp/text.err" ] || fail "nbdcli $*: no message on stderr in text mode"
    # (--json after an option that wants a value would be that value.)
    local places=(first last)
    [ -z "${only_first:-}" ] || places=(first)
    for where in "${places[@]}"; do
        st_json=0
        if [ $where = first ]; then
            "$NBDCLI" --json "$@" >"$tmp/json.out" 2>"$tmp/json.err" </dev/null || st_json=$?
        else
            "$NBDCLI" "$@" --json >"$tmp/json.out" 2>"$tmp/json.err" </dev/null || st_json=$?
        fi
        [ "$st_json" = "$st_text" ] ||
            fail "nbdcli --json $* ($where): status $st_json, without --json $st_text"
        [ ! -s "$tmp/json.err" ] || { _show "$tmp/json.err"; fail "nbdcli --json $*: text on stderr"; }
        [ "$(wc -l <"$tmp/json.out")" = 1 ] || { _show "$tmp/json.out"; fail "nbdcli --json $*: not one line"; }
        python3 -c 'import json, sys
o = json.loads(open(sys.argv[1]).read())
assert o["event"] == "error", o
assert o["message"], o' "$tmp/json.out" || { _show "$tmp/json.out"; fail "nbdcli --json $*: not a JSON error"; }
    done
}

case_ --bogus-option
case_ -x
only_first=1 case_ -c
only_first=1 case_ --timeout
case_ --timeout=0
case_ --client-flags=zz
case_ --tls-verify-peer=maybe
case_ --trace=loud
case_ 'nbd:/localhost'
case_ 'nbd://localhost:99999/'
case_ 'http://localhost/'
case_ 'nbd+unix:///x'
case_ host-a host-b
case_ -c 'echo x' '['
case_ check
case_ -c 'bogus-command'
case_ -c 'read 0 x'
