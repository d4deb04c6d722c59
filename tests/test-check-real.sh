#!/usr/bin/env bash
# test-check-real.sh: the conformance audit (`nbdcli check') against the
# real servers of the distribution, started by the test:
#   - nbdkit --tls=off, --tls=on and --tls=require, each with X.509 and
#     with PSK, as a child (`[ nbdkit -s ... ]'), and on a Unix socket
#     through an nbds+unix:// URI;
#   - qemu-nbd with X.509 (tls-creds-x509: FORCEDTLS);
#   - nbd-server without TLS, with force_tls on one export
#     (SELECTIVETLS) and with force_tls in [generic] (FORCEDTLS).
# For each: the TLS mode discovered, the probes that apply PASS (named
# per server), those that do not are SKIPped with the reason, and there
# is no FLAG, WARN or ERROR for anything the spec allows.  Where a
# server really breaks a rule the FLAG is asserted, with the rule in a
# comment.  Every section needs only its own server; the test is
# skipped when none of them is installed.
#
# Versions this was written against (Debian 12): nbdkit 1.32, qemu-nbd
# 7.2, nbd-server 3.24.  A newer server that fixes one of the bugs
# below changes that server's expectations.
#
# Known nbdcli bugs are asserted last (see the end).

# shellcheck source=tests/functions.sh
. "${srcdir:-tests}/functions.sh"
# shellcheck source=tests/check-functions.sh
. "$srcdir/check-functions.sh"
set -e
set -x

# shellcheck disable=SC2016 # $NBDCLI is expanded by sh (exported)
requires sh -c '"$NBDCLI" --dump-config | grep -q "^tls=gnutls"'

have ()
{
    "$@" >/dev/null 2>&1 </dev/null
}
have_nbdkit=no have_qemu=no have_ns=no
have nbdkit memory --version && have sh -c 'nbdkit --dump-config | grep -q "^tls=yes"' &&
    have_nbdkit=yes
have qemu-nbd --version && have_qemu=yes
have nbd-server -V && have_ns=yes
[ "$have_nbdkit$have_qemu$have_ns" != nonono ] ||
    skip "none of nbdkit (with TLS), qemu-nbd, nbd-server is installed"

pki=$tmp/pki
make_pki "$pki"
psk=$tmp/keys.psk
make_psk "$psk" alice

# Probe groups.
forced='forced-list forced-info forced-go forced-sr forced-lmc forced-smc
    forced-eh forced-unknown forced-export-name forced-abort
    forced-consistent'
meta='meta-before-sr meta-replaced meta-failed-set meta-list-rules
    meta-status'
basics='no-zeroes unknown-option option-data info-go-consistent
    repeated-sr disc abort client-flags-unknown'

# The rows a probe gets when its mode does not apply.
expect_forced_skipped ()       # FILE MODE-WORDS
{
    local p
    for p in $forced; do
        expect_row "$1" SKIP "$p" "is in $2 mode, not FORCEDTLS"
    done
}
expect_notls_skipped ()        # FILE: the probes that need TLS
{
    local p
    for p in tls-reset-sr-df tls-reset-sr-read tls-sr-again tls-reset-meta \
             tls-meta-after tls-reset-mixed tls-reset-eh tls-reset-export \
             starttls-twice starttls-payload starttls-plaintext \
             no-tls-reqd-after-tls tls-needs-fixed; do
        expect_row "$1" SKIP "$p" '^the server does not offer TLS$'
    done
}

# =====================================================================
# nbdkit (memory plugin: one export, base:allocation, NO_ZEROES, no
# extended headers in 1.32).  Its audit is clean in every mode.
if [ "$have_nbdkit" = yes ]; then
    start=$SECONDS
    for mode in off on require; do
        for cred in x509 psk; do
            case $cred in
            x509) s=(--tls-certificates="$pki") c=(--tls-certificates "$pki") ;;
            psk)  s=(--tls-psk="$psk") c=(--tls-psk "$psk" --tls-username alice) ;;
            esac
            [ "$mode" = off ] && s=()
            audit "nbdkit-$mode-$cred" 0 "${c[@]}" check [ nbdkit -s --tls="$mode" "${s[@]}" memory 1M ]
            f=$out
            expect_set "$f" FLAG
            expect_set "$f" WARN
            expect_set "$f" ERROR
            # shellcheck disable=SC2086
            expect_rows "$f" PASS $meta $basics
            expect_row "$f" SKIP meta-export-binding 'needs a second export'
            expect_row "$f" SKIP client-no-zeroes-unoffered 'offers NO_ZEROES'
            [ "$mode" = off ] ||
                expect_row "$f" SKIP tls-reset-eh '^the server does not offer extended headers$'
            case $mode in
            off)
                expect_mode "$f" none
                expect_row "$f" PASS notls-options '^STARTTLS → NBD_REP_ERR_POLICY; LIST → NBD_REP_ACK; INFO → NBD_REP_ACK; unknown → NBD_REP_ERR_UNSUP$'
                expect_forced_skipped "$f" 'none \(NOTLS\)'
                expect_row "$f" SKIP selective-scope 'not SELECTIVETLS'
                expect_notls_skipped "$f" ;;
            on)
                # --tls=on: opportunistic, SELECTIVETLS with no
                # TLS-only export.  The STARTTLS state reset applies.
                expect_mode "$f" selective
                assert_grep -E '^check .*: TLS mode selective \(SELECTIVETLS\), TLS usable;' "$f"
                expect_rows "$f" PASS tls-reset-sr-df tls-reset-sr-read \
                    tls-sr-again tls-reset-meta tls-meta-after tls-reset-mixed \
                    tls-reset-export starttls-twice starttls-payload \
                    starttls-plaintext no-tls-reqd-after-tls selective-scope \
                    tls-needs-fixed
                expect_row "$f" PASS tls-reset-sr-df 'sr; starttls; info: flags 0x[0-9a-f]{4}, SEND_DF clear'
                expect_row "$f" PASS tls-reset-sr-read 'sr; starttls; go; read: a simple reply'
                expect_row "$f" PASS tls-reset-meta 'an error, as expected'
                expect_forced_skipped "$f" 'selective \(SELECTIVETLS\)'
                expect_row "$f" SKIP notls-options 'offers TLS' ;;
            require)
                # --tls=require: FORCEDTLS.  No state can exist before
                # STARTTLS, so the reset probes do not apply.
                expect_mode "$f" forced
                assert_grep -E '^check .*: TLS mode forced \(FORCEDTLS\), TLS usable;' "$f"
                # shellcheck disable=SC2086
                expect_rows "$f" PASS $forced tls-meta-after starttls-twice \
                    starttls-payload starttls-plaintext no-tls-reqd-after-tls \
                    tls-needs-fixed
                expect_row "$f" PASS forced-abort 'ABORT before TLS: NBD_REP_ACK'
                for p in tls-reset-sr-df tls-reset-sr-read tls-sr-again \
                         tls-reset-meta tls-reset-mixed tls-reset-export; do
                    expect_row "$f" SKIP "$p" '^not applicable \(FORCEDTLS\)'
                done
                expect_row "$f" SKIP selective-scope 'not SELECTIVETLS'
                expect_row "$f" SKIP notls-options 'offers TLS'
                expect_row "$f" PASS disc 'inside TLS' ;;
            esac
        done
    done

    # On Unix sockets, through URIs that ask for TLS (user name from the
    # URI for PSK): every probe that can use TLS does.
    start_bg pid nbdkit -f -U "$tmp/nbdkit-on.sock" --tls=on --tls-psk="$psk" \
        memory 1M >"$tmp/nbdkit-on.log" 2>&1
    start_bg pid nbdkit -f -U "$tmp/nbdkit-req.sock" --tls=require \
        --tls-certificates="$pki" memory 1M >"$tmp/nbdkit-req.log" 2>&1
    wait_for_socket "$tmp/nbdkit-on.sock"
    wait_for_socket "$tmp/nbdkit-req.sock"
    audit nbdkit-uri-on 0 check "nbds+unix://alice@/?socket=$tmp/nbdkit-on.sock&tls-psk-file=$psk"
    expect_mode "$out" selective
    expect_set "$out" FLAG
    expect_set "$out" WARN
    expect_set "$out" ERROR
    # shellcheck disable=SC2086
    expect_rows "$out" PASS tls-reset-sr-df tls-reset-sr-read tls-reset-meta \
        tls-reset-mixed starttls-twice selective-scope $meta $basics
    expect_row "$out" PASS disc 'inside TLS'
    audit nbdkit-uri-req 0 check "nbds+unix:///?socket=$tmp/nbdkit-req.sock&tls-certificates=$pki"
    expect_mode "$out" forced
    expect_set "$out" FLAG
    expect_set "$out" WARN
    expect_set "$out" ERROR
    # shellcheck disable=SC2086
    expect_rows "$out" PASS $forced $meta $basics
    echo "nbdkit audits: $((SECONDS - start)) s"
fi

# =====================================================================
# qemu-nbd with X.509: FORCEDTLS (it verifies the client certificate,
# which make_pki provides).
if [ "$have_qemu" = yes ]; then
    start=$SECONDS
    truncate -s 1M "$tmp/qemu.img"
    start_bg pid qemu-nbd --persistent \
        --object "tls-creds-x509,id=tls0,endpoint=server,dir=$pki" \
        --tls-creds tls0 -k "$tmp/qemu.sock" -f raw "$tmp/qemu.img" \
        >"$tmp/qemu.log" 2>&1
    wait_for_socket "$tmp/qemu.sock"
    audit qemu - check "nbds+unix:///?socket=$tmp/qemu.sock&tls-certificates=$pki"
    qemu_out=$out qemu_status=$audit_status
    expect_mode "$out" forced
    assert_grep -E '^check .*: TLS mode forced \(FORCEDTLS\), TLS usable; export ""; base:allocation offered;' "$out"
    # shellcheck disable=SC2086
    expect_rows "$out" PASS forced-list forced-info forced-go forced-sr \
        forced-lmc forced-smc forced-eh forced-unknown forced-export-name \
        forced-consistent tls-meta-after starttls-twice starttls-plaintext \
        no-tls-reqd-after-tls tls-needs-fixed $meta $basics
    for p in tls-reset-sr-df tls-reset-sr-read tls-sr-again tls-reset-meta \
             tls-reset-mixed tls-reset-export; do
        expect_row "$out" SKIP "$p" '^not applicable \(FORCEDTLS\)'
    done
    expect_row "$out" SKIP selective-scope 'not SELECTIVETLS'
    expect_row "$out" SKIP notls-options 'offers TLS'
    # qemu answers NBD_OPT_ABORT before TLS with NBD_REP_ERR_TLS_REQD
    # (then closes).  The spec contradicts itself here: the FORCEDTLS
    # section says every option other than STARTTLS gets TLS_REQD, the
    # mode overview exempts NBD_OPT_ABORT, and NBD_OPT_ABORT says "the
    # server MUST reply with NBD_REP_ACK".  Hence a WARN, not a FLAG.
    expect_row "$out" WARN forced-abort '^ABORT before TLS: NBD_REP_ERR_TLS_REQD$'
    expect_set "$out" WARN forced-abort
    expect_set "$out" ERROR
    # No FLAG but starttls-payload (a known nbdcli bug, see the end).
    [ -z "$(awk -F '\t' '$1 == "FLAG" && $2 != "starttls-payload"' "$tmp/qemu.rows")" ] ||
        { _show "$out"; fail "qemu: unexpected FLAG"; }
    echo "qemu audit: $((SECONDS - start)) s"
fi

# =====================================================================
# Debian 12's qemu-nbd (7.2) with X.509, when the one above is a modern
# one (scripts/install-deps --modern unpacks 7.2 beside it): the same
# verdicts, but no extended headers, so their probes skip.
q12=$(qemu_nbd_debian12)
if [ -n "$q12" ] && ! [ "$q12" -ef "$(command -v qemu-nbd)" ]; then
    start=$SECONDS
    truncate -s 1M "$tmp/q12.img"
    start_bg pid "$q12" --persistent \
        --object "tls-creds-x509,id=tls0,endpoint=server,dir=$pki" \
        --tls-creds tls0 -k "$tmp/q12.sock" -f raw "$tmp/q12.img" \
        >"$tmp/q12.log" 2>&1
    wait_for_socket "$tmp/q12.sock"
    audit q12 0 check "nbds+unix:///?socket=$tmp/q12.sock&tls-certificates=$pki"
    expect_mode "$out" forced
    assert_grep -E '^check .*: TLS mode forced \(FORCEDTLS\), TLS usable; .*extended headers not offered$' "$out"
    expect_rows "$out" PASS forced-list forced-info forced-go forced-sr \
        forced-lmc forced-smc forced-eh forced-unknown starttls-twice \
        starttls-plaintext tls-meta-after
    for p in tls-reset-eh eh-sr-after eh-replies eh-block-status; do
        expect_row "$out" SKIP "$p" '^the server does not offer extended headers$'
    done
    expect_set "$out" WARN forced-abort
    expect_set "$out" FLAG
    expect_set "$out" ERROR
    kill_pid "$pid"
    echo "qemu 7.2 audit: $((SECONDS - start)) s"
elif [ -z "$q12" ] && [ "${CI:-}" = true ]; then
    fail "CI: Debian 12's qemu-nbd is not beside the modern one (scripts/install-deps --modern)"
fi

# =====================================================================
# nbd-server.  It has neither structured replies nor meta contexts
# (3.24), so those probes are skipped.  With -d it serves one client,
# so it daemonizes (-p pid file) and forks a child per connection.
#
# nbd-server 3.24 spins at 100% CPU, forever, in the child of a TLS
# connection that the client closes without NBD_OPT_ABORT or
# NBD_CMD_DISC, which the audit does after most probes (about ten
# children per audit).  Those children are ours: after each audit they
# are killed by pid (the children of the daemon's pid), and the daemon
# too at exit.
if [ "$have_ns" = yes ]; then
    start=$SECONDS
    truncate -s 1M "$tmp/alpha.img" "$tmp/tlsexp.img"
    truncate -s 2M "$tmp/beta.img" "$tmp/plain.img"

    # ns_children PID: the pids of PID's children.
    ns_children ()
    {
        local f s
        for f in /proc/[0-9]*/stat; do
            read -r s 2>/dev/null <"$f" || continue
            s=${s##*) }         # after "pid (comm) ": state ppid ...
            s=${s#* }
            if [ "${s%% *}" = "$1" ]; then
                f=${f#/proc/}
                echo "${f%/stat}"
            fi
        done
    }
    # ns_reap PID: kill PID's children (by pid; SIGKILL, as a spinning
    # child may not get to handle SIGTERM) and wait until they are gone.
    ns_reap ()
    {
        local c
        for c in $(ns_children "$1"); do
            kill -KILL "$c" 2>/dev/null || :
            wait_for_exit "$c" 5 || :
        done
    }
    ns_stop ()
    {
        ns_reap "$1"
        kill_pid "$1"
        ns_reap "$1"
    }
    # ns_start NAME: start nbd-server with $tmp/NAME.conf; $ns_pid.
    ns_start ()
    {
        nbd-server -C "$tmp/$1.conf" -p "$tmp/$1.pid" >"$tmp/$1.log" 2>&1 ||
            { _show "$tmp/$1.log"; fail "nbd-server $1 did not start"; }
        wait_for_file "$tmp/$1.pid"
        ns_pid=$(cat "$tmp/$1.pid")
        cleanup_fn ns_stop "$ns_pid"
    }
    # ns_conf MODE: a config on $tmp/ns-MODE.sock.  MODE: none (no TLS,
    # exports alpha and beta), export (force_tls on tlsexp only, plain
    # also without TLS), global (force_tls in [generic]).
    ns_conf ()
    {
        echo '[generic]'
        echo "unixsock = $tmp/ns-$1.sock"
        echo 'allowlist = true'
        case $1 in
        none)
            printf '[alpha]\nexportname = %s\n' "$tmp/alpha.img"
            printf '[beta]\nexportname = %s\n' "$tmp/beta.img"
            return ;;
        global)
            echo 'force_tls = true' ;;
        esac
        echo "certfile = $pki/server-cert.pem"
        echo "keyfile = $pki/server-key.pem"
        echo "cacertfile = $pki/ca-cert.pem"
        printf '[tlsexp]\nexportname = %s\n' "$tmp/tlsexp.img"
        [ "$1" = export ] && echo 'force_tls = true'
        printf '[plain]\nexportname = %s\n' "$tmp/plain.img"
    }
    declare -A ns_pids
    for m in none export global; do
        ns_conf "$m" >"$tmp/ns-$m.conf"
        ns_start "ns-$m"
        ns_pids[$m]=$ns_pid
        wait_for_socket "$tmp/ns-$m.sock"
    done

    # Real rule breaks of nbd-server 3.24 that every mode shows:
    #  - client-flags-unknown: it goes on after client flags with an
    #    unknown bit (0x4) set.  Spec, Client flags: "the server MUST
    #    drop the TCP connection if the client sets an unknown flag".
    #  - option-data: NBD_OPT_LIST with data gets NBD_REP_ERR_INVALID,
    #    and then the whole list and an ACK anyway (handle_list() does
    #    not return after the error), and the data is never read, so
    #    the next option is parsed from the middle of the stream.  Spec,
    #    Option haggling: no reply after an option's final reply, and
    #    the server MUST NOT fail to parse the next message.
    #  - info-go-consistent: NBD_OPT_INFO reports size 0 (it does not
    #    open the file for INFO), the NBD_OPT_GO right after it the real
    #    size.  Spec, NBD_OPT_INFO: a successful INFO followed by GO
    #    with the same parameters MUST give the same information.
    ns_common ()          # FILE SIZE CLIENT-FLAGS-REPLY [WARN-PROBE...]
    {
        expect_row "$1" FLAG client-flags-unknown "^client flags 0x5 \(unknown bit 2\), then LIST: $3\$"
        # (The extra replies are seen either before the next option
        # goes out, or as the reply to it: which one is timing.)
        expect_row "$1" FLAG option-data '^LIST with data: NBD_REP_ERR_INVALID; .*the engine raised (two-finals: NBD_REP_SERVER \(2\) for NBD_OPT_LIST arrived when no option was waiting|reply-echo: reply to NBD_OPT_STRUCTURED_REPLY \(8\) echoes NBD_OPT_LIST \(3\))'
        expect_row "$1" FLAG info-go-consistent "^INFO: size 0 flags 0x[0-9a-f]{4}; GO: size $2 flags 0x[0-9a-f]{4}\$"
        expect_row "$1" SKIP repeated-sr 'sr → NBD_REP_ERR_UNSUP'
        expect_rows "$1" PASS no-zeroes unknown-option disc abort
        # NBD_OPT_ABORT: nbd-server closes without the ACK, which the
        # spec asks clients to tolerate (older servers did so).
        expect_row "$1" PASS abort '^ABORT: the server closed the connection$'
        local p
        # nbd-server 3.24 offers neither structured replies nor
        # base:allocation: a probe skips for the first it needs.
        for p in $meta meta-export-binding; do
            expect_row "$1" SKIP "$p" 'does not offer structured replies|offers no base:allocation context'
        done
        expect_set "$1" WARN "${@:4}"
    }
    # nbd-server 3.24 reads the length of NBD_OPT_STARTTLS without
    # ntohl(): 4 bytes of data become a length of 0x04000000, and it
    # waits for 64 MiB of data that never come, never answering.  Spec,
    # NBD_OPT_STARTTLS: the client MUST NOT send data, and the server
    # SHOULD answer data with NBD_REP_ERR_INVALID.  The probe waits
    # 20 times the slowest reply seen so far, at least 500 ms, and
    # gives WARN with what was sent.
    ns_starttls_payload ()
    {
        expect_row "$1" WARN starttls-payload 'no reply within [0-9]+ ms after STARTTLS with 4 bytes of data'
    }

    # --- No TLS (exports alpha 1M, beta 2M).
    audit ns-none 3 -t 2 check "nbd+unix:///alpha?socket=$tmp/ns-none.sock"
    f=$out
    ns_reap "${ns_pids[none]}"
    expect_mode "$f" none
    assert_grep -E '^check .*; export "alpha", also "beta";' "$f"
    expect_row "$f" PASS notls-options '^STARTTLS → NBD_REP_ERR_POLICY; LIST → NBD_REP_ACK; INFO → NBD_REP_ACK; unknown → NBD_REP_ERR_UNSUP$'
    ns_common "$f" 1048576 NBD_REP_ACK
    expect_notls_skipped "$f"
    expect_forced_skipped "$f" 'none \(NOTLS\)'
    expect_set "$f" FLAG client-flags-unknown option-data info-go-consistent
    expect_set "$f" ERROR
    # The URI names no export and nbd-server has no default one: the
    # audit takes the first export LIST names, says so, and no ERROR
    # comes from the choice.
    audit ns-none-default 3 -t 2 check "nbd+unix:///?socket=$tmp/ns-none.sock"
    ns_reap "${ns_pids[none]}"
    assert_grep -E '^check .*; export "alpha", also "beta";' "$out"
    assert_grep -x '      the server has no default export: auditing "alpha", the first that NBD_OPT_LIST names (--export chooses)' "$out"
    expect_set "$out" ERROR
    expect_set "$out" FLAG client-flags-unknown option-data info-go-consistent

    # --- force_tls on one export: SELECTIVETLS.  The export "plain"
    # is served with and without TLS; nbdcli may use TLS (credentials)
    # but the URI does not insist on it.
    audit ns-export 3 -t 2 --tls-certificates "$pki" check "nbd+unix:///plain?socket=$tmp/ns-export.sock"
    f=$out
    ns_reap "${ns_pids[export]}"
    expect_mode "$f" selective
    assert_grep -E '^check .*: TLS mode selective \(SELECTIVETLS\), TLS usable; export "plain", also "tlsexp";' "$f"
    expect_rows "$f" PASS tls-reset-export starttls-twice starttls-plaintext \
        no-tls-reqd-after-tls selective-scope
    expect_row "$f" PASS selective-scope 'before TLS: SR → NBD_REP_ERR_UNSUP; LIST → NBD_REP_ACK; LIST_META_CONTEXT → NBD_REP_ERR_UNSUP; unknown → NBD_REP_ERR_UNSUP'
    for p in tls-reset-sr-df tls-reset-sr-read tls-sr-again; do
        expect_row "$f" SKIP "$p" 'structured replies not supported \(NBD_REP_ERR_UNSUP\)'
    done
    expect_forced_skipped "$f" 'selective \(SELECTIVETLS\)'
    expect_row "$f" SKIP notls-options 'offers TLS'
    # tls-needs-fixed: nbd-server ACKs STARTTLS from a client that did
    # not set C_FIXED_NEWSTYLE (client flags 0).  Spec, TLS support:
    # "The server MUST operate in NOTLS mode unless the server set flag
    # NBD_FLAG_FIXED_NEWSTYLE and the client replied with
    # NBD_FLAG_C_FIXED_NEWSTYLE", and in NOTLS mode STARTTLS MUST get an
    # error.
    expect_row "$f" FLAG tls-needs-fixed '^client flags 0 \(not fixed newstyle\), STARTTLS → NBD_REP_ACK$'
    ns_common "$f" 2097152 NBD_REP_ACK starttls-payload
    ns_starttls_payload "$f"
    expect_set "$f" FLAG tls-needs-fixed client-flags-unknown option-data info-go-consistent
    [ -z "$(awk -F '\t' '$1 == "ERROR"' "$tmp/ns-export.rows")" ] ||
        { _show "$f"; fail "ns-export: unexpected ERROR"; }

    # --- force_tls in [generic]: FORCEDTLS, through an nbds URI.
    audit ns-global 3 -t 2 check "nbds+unix:///tlsexp?socket=$tmp/ns-global.sock&tls-certificates=$pki"
    f=$out
    ns_reap "${ns_pids[global]}"
    expect_mode "$f" forced
    assert_grep -E '^check .*: TLS mode forced \(FORCEDTLS\), TLS usable; export "tlsexp", also "plain";' "$f"
    # shellcheck disable=SC2086
    expect_rows "$f" PASS $forced starttls-twice starttls-plaintext \
        no-tls-reqd-after-tls
    expect_row "$f" PASS forced-abort '^ABORT before TLS: the server closed the connection$'
    expect_row "$f" PASS disc 'inside TLS'
    for p in tls-reset-sr-df tls-reset-sr-read tls-sr-again tls-reset-export; do
        expect_row "$f" SKIP "$p" '^not applicable \(FORCEDTLS\)'
    done
    expect_row "$f" SKIP selective-scope 'not SELECTIVETLS'
    expect_row "$f" FLAG tls-needs-fixed '^client flags 0 \(not fixed newstyle\), STARTTLS → NBD_REP_ACK$'
    ns_common "$f" 1048576 NBD_REP_ERR_TLS_REQD starttls-payload
    ns_starttls_payload "$f"
    expect_set "$f" FLAG tls-needs-fixed client-flags-unknown option-data info-go-consistent
    [ -z "$(awk -F '\t' '$1 == "ERROR"' "$tmp/ns-global.rows")" ] ||
        { _show "$f"; fail "ns-global: unexpected ERROR"; }

    # No spinning child is left behind.
    for m in none export global; do
        [ -z "$(ns_children "${ns_pids[$m]}")" ] || fail "nbd-server $m: children left"
    done

    # SELECTIVETLS with the TLS-only export as the target: the probe
    # tls-reset-export cannot INFO it before TLS (TLS_REQD, as the
    # spec demands), so it asks about the plain export from LIST before
    # STARTTLS instead, and passes.  (Checked again at the end.)
    audit ns-export-tlsexp 0 -t 2 --tls-certificates "$pki" check \
        "nbd+unix:///tlsexp?socket=$tmp/ns-export.sock" tls-reset-export
    ns_reap "${ns_pids[export]}"
    expect_mode "$out" selective
    expect_row "$out" PASS tls-reset-export
    echo "nbd-server audits: $((SECONDS - start)) s"
fi

# =====================================================================
# Verdicts nbdcli once got wrong, kept as regression checks.

# (a) starttls-payload wrongly FLAGs qemu-nbd.  qemu answers STARTTLS
# with 4 bytes of data with NBD_REP_ERR_INVALID ("option 'starttls' has
# unexpected length") and then drops the connection
# (nbd_reject_length(..., fatal=true)).  The client broke a MUST (no
# data with STARTTLS) and the spec lets the server hard-disconnect
# after "a violation of a mandatory condition" by the client
# (Termination of the session during option haggling); the checklist
# (item 9) says dropping the connection afterwards is tolerable.  The
# probe treats a close *instead of* the reply as PASS, but a close
# *after* the INVALID reply as FLAG ("the server did not consume
# exactly the 4 bytes"), although nothing was misparsed.
bug_qemu_starttls_payload ()
{
    expect_row "$qemu_out" PASS starttls-payload 'NBD_REP_ERR_INVALID'
    [ "$qemu_status" = 0 ] || fail "qemu audit: exit status $qemu_status, expected 0"
}
[ "$have_qemu" = no ] || known_bug qemu-starttls-payload bug_qemu_starttls_payload

# (b) tls-reset-export's skip reason names the wrong mode.  Against a
# SELECTIVETLS nbd-server whose target export is TLS-only, the pre-TLS
# INFO gets TLS_REQD (required by the spec for a TLS-only export) and
# the probe says "not applicable (FORCEDTLS)", though discovery found
# SELECTIVETLS.  It should say the export is TLS-only (or INFO a
# non-TLS export from LIST before STARTTLS instead).
bug_skip_reason ()
{
    expect_row "$tmp/ns-export-tlsexp.out" PASS tls-reset-export 'info "plain"'
    assert_not_grep -F 'FORCEDTLS' "$tmp/ns-export-tlsexp.rows"
}
[ "$have_ns" = no ] || known_bug tls-reset-export-skip-reason bug_skip_reason

known_bugs_report
