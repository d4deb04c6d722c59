#!/usr/bin/env bash
# test-hostile.sh: a bad server cannot hurt the client (PRODUCT.md,
# principle 5).
#
# tests/hostile-server.py serves scripted bytes: truncated and wrong
# greetings, absurd lengths, malformed payloads, endless and dripped
# streams, stalls, TLS alerts, broken transmission replies.  For each
# scenario nbdcli (with -t, the timeout) must
#   (a) say so: the expected error message or FLAG line appears;
#   (b) exit with the documented status (0, 1 or 3), never a signal
#       (>= 128), a sanitizer report or the test's hard kill;
#   (c) not wait beyond its --timeout (with slack);
#   (d) keep its memory bounded: RSS under 200 MB; a plain build runs
#       under `ulimit -v', an ASan build with max_allocation_size_mb, so
#       an allocation of a declared length fails loudly;
#   (e) print no raw ESC byte (a server's names cannot drive the
#       terminal);
#   (f) recover in the same run: `reconnect; list' against the second
#       connection (the server is well-behaved from then on) works.
# Scenarios with `--out FILE' also check that the file holds no more
# than the request (nbdcli runs under `ulimit -f' 8 MiB, with SIGXFSZ
# ignored, so a runaway write ends with EFBIG).  The output kept is the
# first and the last 2 MB.
#
# All cases run even when one fails; the failures are listed at the end.

# shellcheck source=tests/functions.sh
. "${srcdir:-tests}/functions.sh"
set -e
set -x

requires python3 --version
server=$srcdir/hostile-server.py
requires python3 "$server" --list

# An ASan build: bound allocations with ASan's own limit (ulimit -v
# does not work with ASan's shadow memory); otherwise with ulimit -v.
asan=no
if grep -q __asan_init "$NBDCLI" 2>/dev/null; then
    asan=yes
    # ASan keeps freed memory in a quarantine (256 MB by default): keep
    # it small so that RSS measures nbdcli, not ASan's retention.
    export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}max_allocation_size_mb=200:allocator_may_return_null=0:quarantine_size_mb=16"
fi
havetime=no
if [ -x /usr/bin/time ]; then
    havetime=yes
fi

P='sr; smc base:allocation; go'      # a good negotiation, up to transmission

# The cases: SCENARIO|TIMEOUT|STATUSES|PATTERN|SCRIPT
#   TIMEOUT   nbdcli's -t; the run must end within TIMEOUT + 3 s
#   STATUSES  the exit statuses allowed (space separated)
#   PATTERN   an extended regexp the output must match
#   SCRIPT    what to run (after `set errexit off'); @S is the socket
#             (a script without @S gets it as the target), @O a file
#             that must end up no longer than 512 bytes
# Afterwards `reconnect; list; echo alive' runs in the same nbdcli.
cases=(
    # ---------------------------------------------------------- greeting
    'greeting-empty|2|1|greeting: the server closed the connection|connect @S'
    'greeting-truncated|2|1|greeting: the server closed the connection after 10 bytes|connect @S'
    'greeting-bad-nbdmagic|2|1|greeting: not an NBD server|connect @S'
    'greeting-bad-second-magic|2|1|NBDMAGIC followed by an unknown magic 0x0123456789abcdef|connect @S'
    'greeting-oldstyle-truncated|2|1|oldstyle greeting: the server closed the connection after 20 bytes|connect @S'
    'greeting-oldstyle-flags|2|3|^FLAG oldstyle-handshake-flags: oldstyle greeting flags 0x00010005|connect @S'
    'greeting-stall|1|1|greeting: no reply within 1 s|connect @S'
    'greeting-drip|2|1|greeting: no reply within 2 s|connect @S'
    # ---------------------------------------------------------- options
    'opt-stall|1|1|reply to NBD_OPT_LIST: no reply within 1 s|list'
    # A reply after the wait ended is late, not a second reply: shown
    # with a note before the next option, never flagged (a loaded
    # machine must not make a server look broken).
    'opt-late|1|1|a late reply to the option nbdcli stopped waiting for|sr; sleep 0.2; sr; list; assert sr; assert flags 0'
    'opt-close-mid-header|2|1|closed the connection after 7 bytes of the message|list'
    'opt-close-mid-payload|2|1|closed the connection after 10 bytes of the message|list'
    'opt-reply-bad-magic|2|3|^FLAG reply-magic|list'
    'opt-len-ffffffff|2|1|declares 4294967295 bytes, more than nbdcli accepts|list'
    'opt-len-80000000|2|1|declares 2147483648 bytes, more than nbdcli accepts|list'
    'opt-len-1m-plus-1|2|1|declares 1048577 bytes, more than nbdcli accepts|list'
    'opt-len-1m|2|3|^FLAG string-too-long: the export description is 1048569 bytes long|list'
    'info-export-short|2|3|^FLAG info-export-length|info'
    'info-export-long|2|3|^FLAG info-export-length|info'
    'info-block-size-short|2|3|^FLAG info-block-size-length|info'
    'info-block-size-long|2|3|^FLAG info-block-size-length|info'
    'info-empty|2|3|^FLAG info-length: NBD_REP_INFO of 0 bytes|info'
    'info-no-export|2|3|^FLAG info-export-missing|info'
    'server-name-nul|2|0 3|export "ab\\x00cd" \(not valid UTF-8|list'
    'server-name-bad-utf8|2|0 3|export "ov\\xc0\\xafer" \(not valid UTF-8|list'
    'server-desc-nul|2|3|^FLAG string-nul: the export description contains a NUL|list'
    'server-name-len-past|2|3|^FLAG rep-server-malformed: NBD_REP_SERVER name length runs past|list'
    'reply-echo-wrong|2|3|^FLAG reply-echo|list'
    'unsolicited-garbage|2|3|^FLAG unsolicited-data|sleep 0.3; list'
    'server-endless|2|1|giving up|list'
    'server-endless-drip|2|1|^nbdcli: .*(giving up|within 2 s)|list'
    'meta-short|2|3|^FLAG rep-meta-malformed: NBD_REP_META_CONTEXT shorter than its 4-byte context id|smc base:allocation'
    'ack-payload|2|3|^FLAG ack-payload|sr'
    # ---------------------------------------------------------- STARTTLS
    'starttls-alert|2|1|TLS handshake failed: the server sent the alert|starttls'
    'starttls-plaintext|2|1|TLS handshake failed|starttls'
    'starttls-close|2|1|TLS handshake failed|starttls'
    'starttls-stall|2|1|TLS handshake did not finish within 2 s|starttls'
    'export-name-short|2|1|closed the connection after 5 bytes of the message|export-name'
    'export-name-padding|2|3|^FLAG export-name-padding: byte 60 of the padding is 0x5a|export-name'
    # ---------------------------------------------------------- transmission
    'simple-bad-magic|2|3|^FLAG reply-magic|go; read 0 512'
    'simple-close-mid-data|2|1|closed the connection after 256 bytes|go; read 0 512'
    'chunk-unknown-type|2|3|^FLAG chunk-type-unknown|'"$P"'; read 0 512'
    'chunk-error-msg-past|2|3|^FLAG chunk-length|'"$P"'; read 0 512'
    'chunk-huge-data|2|3|^FLAG chunk-outside-request|'"$P"'; read 0 512'
    'chunk-huge-error|2|1 3|more than nbdcli accepts|'"$P"'; read 0 512'
    'chunk-len-past-reply|2|1|reply chunk: the server closed the connection after 12 bytes|'"$P"'; block-status 0 64k'
    'chunk-data-past-request|2|3|^FLAG chunk-outside-request|'"$P"'; read 0 512'
    'chunk-data-longer|2|3|^FLAG chunk-outside-request|'"$P"'; read 0 512 --out @O'
    'hole-huge|2|3|^FLAG chunk-outside-request|'"$P"'; read 0 512 --out @O'
    'data-far-away|2|3|^FLAG chunk-outside-request|'"$P"'; read 0 512 --out @O'
    'block-status-no-extents|2|3|^FLAG block-status-no-extents|'"$P"'; block-status 0 64k'
    'block-status-endless|2|1 3|^FLAG block-status-duplicate-context|'"$P"'; block-status 0 64k'
    'hole-endless|2|1 3|^nbdcli: .*(giving up|within 2 s)|'"$P"'; read 0 1M'
    'extended-not-negotiated|2|3|^FLAG eh-not-negotiated|'"$P"'; read 0 512'
    'simple-to-read-with-sr|2|3|^FLAG simple-reply-to-read-with-sr|'"$P"'; read 0 512'
    'chunk-flags-unknown|2|3|^FLAG reply-flags-unknown: chunk flags 0x0003|'"$P"'; read 0 512'
    'chunk-for-flush|2|3|^FLAG chunk-type-for-command: block status chunk for NBD_CMD_FLUSH|'"$P"'; flush'
    'hole-with-df|2|3|^FLAG hole-with-df|'"$P"'; read 0 512 --df'
    'read-half|2|3|^FLAG read-incomplete: chunks cover 256 of 512 bytes|'"$P"'; read 0 512'
    'error-zero|2|3|^FLAG error-value-zero|'"$P"'; read 0 512'
    'block-status-none|2|3|^FLAG block-status-missing-context: no block status for context id 1|'"$P"'; block-status 0 64k'
    'block-status-ext-compact|2|3|^FLAG block-status-ext-without-eh|'"$P"'; block-status 0 64k'
    'block-status-req-one-two|2|3|^FLAG block-status-req-one: 2 extents|'"$P"'; block-status 0 64k --req-one'
    'eh-offset-wrong|2|3|^FLAG extended-offset-echo: chunk offset 8192, request offset 4096|eh; go; read 4096 512'
    'eh-structured-reply|2|3|^FLAG structured-reply-with-eh|eh; go; read 0 512'
    'eh-simple-reply|2|3|^FLAG simple-reply-with-eh: a simple reply to NBD_CMD_FLUSH|eh; go; flush'
    'eh-block-status-compact|2|3|^FLAG block-status-compact-with-eh|eh; smc base:allocation; go; block-status 0 64k'
    'eh-block-status-high-bits|2|3|^FLAG block-status-ext-high-bits: extent 0 of context id 1 \(base:allocation\) has status 0x100000000|eh; smc base:allocation; go; block-status 0 64k'
    'eh-block-status-unasked|2|3|^FLAG block-status-unasked-context: block status for context id 1|eh; smc base:allocation; go; cmd BLOCK_STATUS 0 12 --flags 0x20 0000000000010000 00000002'
    'block-status-unaligned|2|3|^FLAG block-status-unaligned: extent 0 of context id 1 is 1000 bytes, not a multiple of the minimum block size 512|'"$P"'; block-status 0 64k'
    'block-status-too-many|5|3|^FLAG block-status-too-many-extents: 1048577 extents for context id 1 in one chunk|'"$P"'; cmd BLOCK_STATUS 0 0xffffffff'
    'reply-to-disc|2|3|^FLAG reply-to-disc|'"$P"'; disc'
    'xmit-stall|1|1|reply: no reply within 1 s|'"$P"'; read 0 512'
    'xmit-drip|2|1|no reply within 2 s|'"$P"'; read 0 512'
    # ---------------------------------------------------------- in flight
    # Two reads in flight (issue 14); the data of cookies not in flight
    # never reaches the file.
    'xmit-out-of-order|2|0|out of order: the reply to cookie 2 \(NBD_CMD_READ\) comes before the reply to cookie 1|'"$P"'; read 0 512 &; read 512 512 &; wait'
    'xmit-cookie-never-sent|2|3|^FLAG cookie-mismatch: a reply with cookie 2576980377, which is not in flight|'"$P"'; read 0 512 &; read 512 512 &; wait'
    'xmit-duplicate-final|2|3|^FLAG reply-after-final: a reply with cookie 1 arrived after the final reply|'"$P"'; read 0 512 --out @O &; read 512 512 &; wait'
    'xmit-overlap-interleaved|2|3|^FLAG chunk-overlap: OFFSET_DATA at offset 128 length 384 overlaps|'"$P"'; read 0 512 --out @O &; read 512 512 &; wait'
    'xmit-chunk-in-simple-data|2|3|^FLAG reply-inside-reply: the 512 bytes of data of the simple reply to cookie 1 \(NBD_CMD_READ\) hold, 100 bytes in, the header of a structured reply chunk for cookie 2|go; read 0 512 &; read 512 512 &; wait'
    'xmit-simple-in-chunk-data|2|3|^FLAG reply-inside-reply: the 512 bytes of data of the OFFSET_DATA chunk to cookie 1 \(NBD_CMD_READ\) hold, 50 bytes in, the header of a simple reply for cookie 2|'"$P"'; read 0 512 &; read 512 512 &; wait'

)

# Every scenario of the server has a case, and every case a scenario.
python3 "$server" --list | awk '{print $1}' | sort >"$tmp/scenarios"
for c in "${cases[@]}"; do echo "${c%%|*}"; done | sort -u >"$tmp/cased"
if ! cmp -s "$tmp/scenarios" "$tmp/cased"; then
    diff "$tmp/scenarios" "$tmp/cased" >&2 || :
    fail "the cases and the server's scenarios differ (< no case, > no scenario)"
fi

failures=()
bad ()
{
    { set +x; } 2>/dev/null
    echo "FAIL: $name: $*" >&2
    failures+=("$name: $*")
    set -x
}

start_all=$SECONDS
for c in "${cases[@]}"; do
    IFS='|' read -r name tmo statuses rest <<<"$c"
    script=${rest##*|}
    pattern=${rest%|*}                  # may hold '|' (alternatives)
    sock=$tmp/$name.sock
    outfile=$tmp/$name.data
    out=$tmp/$name.out
    rm -f "$outfile"

    spid=
    start_bg spid python3 "$server" "$name" "$sock" >"$tmp/$name.srv" 2>&1
    wait_for_socket "$sock"

    target=("$sock")
    case $script in *@S*) target=() ;; esac
    script=${script//@S/$sock}
    script=${script//@O/$outfile}
    cap=$(( tmo + 5 ))
    timecmd=()
    if [ $havetime = yes ]; then
        timecmd=(/usr/bin/time -f %M -o "$tmp/$name.rss")
    fi

    t0=$(date +%s.%N)
    set +e
    (
        { set +x; } 2>/dev/null
        if [ $asan = no ]; then ulimit -v $(( 400 * 1024 )); fi
        # A runaway write to @O ends with EFBIG, not SIGXFSZ.
        ulimit -f $(( 8 * 1024 ))
        trap '' XFSZ
        exec timeout -k 2 "$cap" "${timecmd[@]}" \
             "$NBDCLI" -t "$tmo" "${target[@]}" -c 'set errexit off' \
             -c "$script" -c 'reconnect; list; echo alive'
    ) </dev/null 2>&1 |
        { head -c 2000000; echo "[output beyond 2 MB, if any, cut here]"; tail -c 2000000; } >"$out"
    st=${PIPESTATUS[0]}
    set -e
    t1=$(date +%s.%N)
    kill_pid "$spid"
    elapsed=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
    echo "case $name: status $st, ${elapsed} s"

    # (b) status; sanitizers.
    if [ "$st" = 124 ] || [ "$st" = 137 ]; then
        bad "still running after ${cap} s (killed); -t $tmo"
    elif [[ " $statuses " != *" $st "* ]]; then
        bad "exit status $st, expected one of: $statuses"
    fi
    if grep -aqE 'AddressSanitizer|LeakSanitizer|runtime error:|Sanitizer' "$out"; then
        bad "sanitizer report"
    fi
    # (a) the message.
    if ! grep -aqE -- "$pattern" "$out"; then
        bad "no match for /$pattern/"
    fi
    # (c) time.
    if awk -v e="$elapsed" -v l="$(( tmo + 3 ))" 'BEGIN { exit !(e > l) }'; then
        bad "took ${elapsed} s with -t $tmo (limit $(( tmo + 3 )) s)"
    fi
    # (d) memory.
    if [ -s "$tmp/$name.rss" ]; then
        rss=$(tail -n 1 "$tmp/$name.rss")
        case $rss in
        *[!0-9]*|'') ;;                 # killed: time printed a message
        *) if [ "$rss" -gt $(( 200 * 1024 )) ]; then
               bad "maximum RSS ${rss} KiB (limit 200 MiB)"
           fi ;;
        esac
    fi
    # (e) no raw ESC.
    if grep -aq $'\x1b' "$out"; then
        bad "a raw ESC byte in the output"
    fi
    # (f) recovery.
    if ! grep -aq '^alive$' "$out" || ! grep -aqF 'export "good"' "$out"; then
        bad "the session did not recover (no 'export \"good\"' and 'alive' after reconnect)"
    fi
    # --out: nothing beyond the 512-byte request.
    if [ -e "$outfile" ]; then
        size=$(stat -c %s "$outfile")
        if [ "$size" -gt 512 ]; then
            bad "read 0 512 --out FILE left a FILE of $size bytes"
        fi
        rm -f "$outfile"
    fi
    if [ ${#failures[@]} -gt 0 ] && [[ ${failures[-1]} == "$name:"* ]]; then
        { set +x; } 2>/dev/null
        echo "---- $out (last 40 lines):" >&2
        tail -n 40 "$out" | cut -c 1-200 >&2
        echo "----" >&2
        set -x
    fi
done
echo "all cases: $(( SECONDS - start_all )) s"

if [ ${#failures[@]} -gt 0 ]; then
    { set +x; } 2>/dev/null
    echo "${#failures[@]} failure(s):" >&2
    printf '  %s\n' "${failures[@]}" >&2
    exit 1
fi
