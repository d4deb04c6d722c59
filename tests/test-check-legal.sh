#!/usr/bin/env bash
# test-check-legal.sh: a server may legally lack a feature; the audit
# then skips what needs it and says why, and never gives FLAG or
# ERROR.  nbdkit in each legal configuration (default, --no-sr,
# --mask-handshake=0 (non-fixed newstyle) and =1, -r, the blocksize
# filter, --oldstyle), each with TLS off, on and required where that
# applies, is audited: no FLAG, no ERROR, no WARN (none of these
# configurations breaks a SHOULD), exit status 0 (one nbdkit bug, named
# where it is expected, aside), and the header says
# what kind of negotiation could be audited.

# shellcheck source=tests/functions.sh
. "${srcdir:-tests}/functions.sh"
# shellcheck source=tests/check-functions.sh
. "${srcdir:-tests}/check-functions.sh"
set -e
set -x

requires nbdkit --version
requires nbdkit --filter=blocksize null --version
requires certtool --version

pki=$tmp/pki
make_pki "$pki"

n=0
# legal NAME TLS NBDKIT-ARGS...: audit nbdkit ARGS with --tls=TLS.
# ($status: the exit status expected, 0 unless set.)
legal ()
{
    local name=$1 tls=$2 sock want=${status:-0}
    shift 2
    n=$((n + 1))
    sock=$tmp/$n.sock
    if [ "$tls" = off ]; then
        start_bg pid nbdkit -U "$sock" -f "$@" memory 1M
    else
        start_bg pid nbdkit -U "$sock" -f --tls="$tls" \
            --tls-certificates="$pki" "$@" memory 1M
    fi
    wait_for_socket "$sock"
    audit "$name-$tls" "$want" check "nbd+unix:///?socket=$sock&tls-certificates=$pki"
    kill_pid "$pid"
    if grep -E '^(FLAG|ERROR|WARN) ' "$out" | grep -v -E "^FLAG  (${allowed:-none}) "; then
        _show "$out"
        fail "$name with TLS $tls: a FLAG, ERROR or WARN for a legal configuration"
    fi
}

for tls in off on require; do
    legal default "$tls"
    legal no-sr "$tls" --no-sr
    expect_row "$out" SKIP meta-status 'the server does not offer structured replies' 
    legal non-fixed "$tls" --mask-handshake=0
    assert_grep -E '^check .*: not fixed newstyle: only NBD_OPT_EXPORT_NAME' "$out"
    legal fixed-no-zeroes "$tls" --mask-handshake=1
    if [ "$tls" = require ]; then
        # nbdkit 1.32 bug, not a client mistake: over TLS it answers a
        # WRITE to a read-only export with nothing at all (its log says
        # "write request on readonly connection", then it waits for
        # data it has already received).  Spec, NBD_FLAG_READ_ONLY: the
        # server MUST error writes.  Without TLS it answers NBD_EPERM.
        status=3 allowed=readonly-write legal readonly "$tls" -r
        expect_row "$out" FLAG readonly-write 'no reply within [0-9]+ ms after NBD_CMD_WRITE'
    else
        legal readonly "$tls" -r
        expect_row "$out" PASS readonly-write 'failed with NBD_EPERM'
    fi
    legal blocksize "$tls" --filter=blocksize
done
# Oldstyle has no options, hence no TLS: only the greeting is audited.
legal oldstyle off --oldstyle
assert_grep -E '^check .*: oldstyle negotiation: no options and no TLS, so only the greeting can be audited' "$out"
expect_row "$out" PASS greeting '^oldstyle: export size 1048576'
[ "$(grep -c '^PASS ' "$out")" = 1 ] || fail "oldstyle: more than the greeting passed"
echo "$n legal configurations audited: no FLAG, ERROR or WARN"
