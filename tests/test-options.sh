#!/usr/bin/env bash
# Options read as users type them: every option that takes a value
# accepts --opt=value and --opt value, and every boolean (options,
# `set', URI queries, `trace') accepts yes/no, on/off, true/false, 1/0
# in any case, through the one parser nbd_parse_bool.
. "${srcdir:-tests}/functions.sh"
set -e
set -x

# setting NAME FILE: the value `set' shows for NAME.
setting ()
{
    awk -v n="$1" '$1 == n { $1 = ""; sub(/^ +/, ""); print }' "$2"
}

# Both forms of every option that takes a value.
for form in eq sep; do
    args=()
    add () { if [ $form = eq ]; then args+=("$1=$2"); else args+=("$1" "$2"); fi; }
    add --timeout 7
    add --export exp-$form
    add --client-flags 0x1
    add --tls-certificates /certs-$form
    add --tls-psk /psk-$form
    add --tls-username user-$form
    add --tls-hostname host-$form
    add --tls-verify-peer no
    add --trace hex
    session opts-$form 0 "${args[@]}" -c 'set; trace'
    [ "$(setting timeout "$out")" = 7 ]
    [ "$(setting export "$out")" = "\"exp-$form\"" ]
    [ "$(setting client-flags "$out")" = 0x00000001 ]
    [ "$(setting tls-certificates "$out")" = /certs-$form ]
    [ "$(setting tls-psk "$out")" = /psk-$form ]
    [ "$(setting tls-username "$out")" = user-$form ]
    [ "$(setting tls-hostname "$out")" = host-$form ]
    [ "$(setting tls-verify-peer "$out")" = no ]
    assert_grep -x 'trace hex' "$out"
done
# -c and -f in both forms too.
echo 'echo from-file' >"$tmp/script"
session cmd-forms 0 --command='echo one' --command 'echo two' --file="$tmp/script"
assert_grep -x one "$out"
assert_grep -x two "$out"
assert_grep -x from-file "$out"

# `--tls-verify-peer no' before a target is not a second target.
session verify-sep 0 --tls-verify-peer no [ nbdkit -s memory 1M ] -c set
[ "$(setting tls-verify-peer "$out")" = no ]
# Alone, --tls-verify-peer means yes and the next word stays a target.
session verify-alone 0 --tls-verify-peer [ nbdkit -s memory 1M ] -c set
[ "$(setting tls-verify-peer "$out")" = yes ]

# Every boolean word, in any case, everywhere.
for w in yes on true 1 YES On TRUE; do
    session "yes-$w" 0 --tls-verify-peer="$w" -c "set allow-plaintext $w; set errexit $w; set tls $w; trace $w; set; trace"
    [ "$(setting tls-verify-peer "$out")" = yes ]
    [ "$(setting allow-plaintext "$out")" = on ]
    [ "$(setting errexit "$out")" = on ]
    [ "$(setting tls "$out")" = require ]
    assert_grep -x 'trace on' "$out"
done
for w in no off false 0 NO Off FALSE; do
    session "no-$w" 0 --tls-verify-peer "$w" --trace "$w" -c "set allow-plaintext $w; set tls $w; set; trace; set errexit $w"
    [ "$(setting tls-verify-peer "$out")" = no ]
    [ "$(setting allow-plaintext "$out")" = off ]
    [ "$(setting tls "$out")" = off ]
    assert_grep -x 'trace off' "$out"
    # In a URI query.
    session "uri-$w" 0 -c "-connect 'nbd+unix:///?socket=$tmp/none&tls-verify-peer=$w'; set"
    [ "$(setting tls-verify-peer "$out")" = no ]
done
# Anything else is a usage error that lists the words.
session bad-opt 2 --tls-verify-peer=maybe -c set
assert_grep -F 'expected yes/no, on/off, true/false or 1/0' "$out"
session bad-set 2 -c 'set errexit maybe'
assert_grep -F 'expected yes/no, on/off, true/false or 1/0' "$out"
session bad-uri 1 -c "connect 'nbd+unix:///?socket=$tmp/none&tls-verify-peer=maybe'"
assert_grep -F 'expected yes/no, on/off, true/false or 1/0' "$out"
