#!/usr/bin/env bash
# Messages that match the state: `assert size' (and `assert tflag')
# before any export was answered says so, not "the export size is 0";
# after the server refused STARTTLS on an nbds:// target, `go' says the
# server refused TLS and how to connect without TLS on purpose, not
# "run `starttls' first".
. "${srcdir:-tests}/functions.sh"
set -e
set -x

requires nbdkit memory --version

session no-export 1 [ nbdkit -s memory 1M ] -c 'assert size 1M'
assert_grep -F 'assertion failed: size 1M: no export has been answered yet' "$out"
assert_not_grep -F 'the export size is 0' "$out"
session no-export-tflag 1 [ nbdkit -s memory 1M ] -c 'assert tflag SEND_FLUSH'
assert_grep -F 'no export has been answered yet' "$out"
# Once answered, the size is named.
session answered 1 [ nbdkit -s memory 1M ] -c 'info; assert size 2M'
assert_grep -F 'assertion failed: size 2M: the export size is 1048576' "$out"

# A server without TLS behind an nbds:// URI.
sock=$tmp/sock
start_bg pid nbdkit -f -U "$sock" memory 1M >"$tmp/nbdkit.log" 2>&1
wait_for_socket "$sock"
uri="nbds+unix:///?socket=$sock"
session refused 1 "$uri" -c 'starttls; go; echo not-reached'
assert_grep -F 'the server refused TLS' "$out"
assert_grep -F 'nbds:// target cannot be used in plaintext' "$out"
assert_grep -F 'use an nbd:// target, or `set allow-plaintext on' "$out"
assert_not_grep -F "run \`starttls' first" "$out"
assert_not_grep -F -e '-> NBD_OPT_GO' "$out"
# Before STARTTLS was tried, the advice is still to run it.
session not-tried 1 "$uri" -c 'go'
assert_grep -F "run \`starttls' first" "$out"
# On purpose: it goes.
session on-purpose 0 "$uri" -c 'starttls; set allow-plaintext on; go'
assert_grep -F -e '-> NBD_OPT_GO' "$out"
