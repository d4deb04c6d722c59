#!/usr/bin/env bash
# test-nbdkit-plugins.sh: nbdkit plugins other than memory.  The eval
# plugin gives several exports with descriptions (list, info on each,
# an unknown name refused), and completion offers what the server
# taught nbdcli: export names after `list', contexts after `lmc'.  The
# info and null plugins as child servers ([ nbdkit -s ... ]).

# The *_pid variables are set by start_bg.
# shellcheck disable=SC2154
# shellcheck source=tests/functions.sh
. "${srcdir:-tests}/functions.sh"
set -e
set -x

requires nbdkit --version
requires nbdkit eval --version

# Three exports with descriptions (one name with a space), read-only,
# sizes by name; any other name is refused at open.
sock=$tmp/eval.sock
# shellcheck disable=SC2016 # the scripts are expanded by nbdkit's shell
start_bg eval_pid nbdkit -f -U "$sock" eval \
    list_exports='printf "%s\n" INTERLEAVED small "a small disk" big "a big disk" "with space" "a name with a space"' \
    default_export='echo small' \
    open='case $3 in small|big|"with space") echo "$3" ;; *) echo "no export $3" >&2; exit 1 ;; esac' \
    get_size='case $2 in small) echo 512 ;; big) echo 4M ;; *) echo 1M ;; esac' \
    export_description='echo "description of $2"' \
    pread='head -c $3 /dev/zero' \
    can_write='exit 3' >"$tmp/eval.log" 2>&1
wait_for_socket "$sock"
uri="nbd+unix:///?socket=$sock"

# section NAME FILE: the lines between `echo ==NAME' and the next ==.
section ()
{
    sed -n "/^==$1\$/,/^==/{/^==/d;p}" "$2"
}

# ---------------------------------------------------------------------
# list: every export with its description, in the server's order.
expect_status 0 "$NBDCLI" "$uri" -t 5 -c 'list; assert reply NBD_REP_ACK'
out=$tmp/list.out
mv "$tmp/out" "$out"
grep '^<- NBD_REP_' "$out" >"$tmp/replies"
cat >"$tmp/want" <<'EOF'
<- NBD_REP_SERVER (2) to NBD_OPT_LIST (3), length 21: export "small", description "a small disk"
<- NBD_REP_SERVER (2) to NBD_OPT_LIST (3), length 17: export "big", description "a big disk"
<- NBD_REP_SERVER (2) to NBD_OPT_LIST (3), length 33: export "with space", description "a name with a space"
<- NBD_REP_ACK (1) to NBD_OPT_LIST (3), length 0
EOF
diff -u "$tmp/want" "$tmp/replies" || fail "list replies differ"

# info on each export: the default export "" is "small" by canonical
# name; sizes and descriptions come from the plugin.
expect_status 0 "$NBDCLI" "$uri" -t 5 \
    -c 'info --name --description; info big --all; info "with space" --description' \
    -c 'info nope; assert reply NBD_REP_ERR_UNKNOWN; assert phase negotiating'
out=$tmp/info.out
mv "$tmp/out" "$out"
assert_grep -x -F '<- NBD_REP_INFO (3) to NBD_OPT_INFO (6), length 12: NBD_INFO_EXPORT (0): size 512 (512 bytes), flags 0x0003 (HAS_FLAGS READ_ONLY)' "$out"
assert_grep -x -F '<- NBD_REP_INFO (3) to NBD_OPT_INFO (6), length 7: NBD_INFO_NAME (1): "small"' "$out"
assert_grep -x -F '<- NBD_REP_INFO (3) to NBD_OPT_INFO (6), length 22: NBD_INFO_DESCRIPTION (2): "description of small"' "$out"
assert_grep -x -F '<- NBD_REP_INFO (3) to NBD_OPT_INFO (6), length 12: NBD_INFO_EXPORT (0): size 4194304 (4 MiB), flags 0x0003 (HAS_FLAGS READ_ONLY)' "$out"
assert_grep -x -F '<- NBD_REP_INFO (3) to NBD_OPT_INFO (6), length 5: NBD_INFO_NAME (1): "big"' "$out"
assert_grep -x -F -e '-> NBD_OPT_INFO (6), length 18: export "with space", 1 info request: NBD_INFO_DESCRIPTION' "$out"
assert_grep -x -F '<- NBD_REP_INFO (3) to NBD_OPT_INFO (6), length 27: NBD_INFO_DESCRIPTION (2): "description of with space"' "$out"
assert_grep -x -F '<- NBD_REP_ERR_UNKNOWN (0x80000006) to NBD_OPT_INFO (6), length 0' "$out"

# go on a named export, then state: that export, its size and flags.
expect_status 0 "$NBDCLI" "nbd+unix:///big?socket=$sock" -t 5 \
    -c 'go --name; state; assert size 4194304; assert tflag READ_ONLY'
assert_grep -x 'default export: *"big"' "$tmp/out"
assert_grep -x 'export: *"big", size 4194304 (4 MiB)' "$tmp/out"
assert_grep -x '  transmission flags 0x0003 (HAS_FLAGS READ_ONLY)' "$tmp/out"
assert_grep -x -F '  canonical name "big"' "$tmp/out"

# ---------------------------------------------------------------------
# Completion.  Nothing is known before `list'; afterwards the export
# names; after `lmc' the contexts.
expect_status 0 "$NBDCLI" "$uri" -t 5 \
    -c "echo ==before; complete 'info '; echo ==" \
    -c 'list' \
    -c "echo ==info; complete 'info '; echo ==" \
    -c "echo ==go-s; complete 'go s'; echo ==" \
    -c "echo ==smc-before; complete 'smc '; echo ==" \
    -c 'lmc' \
    -c "echo ==smc; complete 'smc '; echo ==" \
    -c "echo ==lmc-base; complete 'lmc --export small base:'; echo ==" \
    -c "echo ==inf; complete 'inf'; echo ==" \
    -c "echo ==s; complete 's'; echo ==" \
    -c "echo ==opts; complete 'info --'; echo ==" \
    -c "echo ==set; complete 'set '; echo ==" \
    -c "echo ==help; complete 'help list-'; echo ==" \
    -c "echo ==semi; complete 'list; inf'; echo =="
out=$tmp/complete.out
mv "$tmp/out" "$out"
[ -z "$(section before "$out")" ] || fail "completions before list: $(section before "$out")"
# A name with a space is offered quoted, so inserting it gives one word.
[ "$(section info "$out")" = "$(printf '%s\n' '"with space"' big small)" ] ||
    fail "complete 'info ': $(section info "$out")"
[ "$(section go-s "$out")" = small ] || fail "complete 'go s': $(section go-s "$out")"
[ -z "$(section smc-before "$out")" ] ||
    fail "contexts before lmc: $(section smc-before "$out")"
[ "$(section smc "$out")" = base:allocation ] ||
    fail "complete 'smc ': $(section smc "$out")"
[ "$(section lmc-base "$out")" = base:allocation ] ||
    fail "complete 'lmc --export small base:': $(section lmc-base "$out")"
[ "$(section inf "$out")" = info ] || fail "complete 'inf': $(section inf "$out")"
section s "$out" >"$tmp/s"
for c in set set-meta-context smc source sr starttls state structured-reply; do
    grep -q -x -F "$c" "$tmp/s" || fail "complete 's' lacks $c"
done
section opts "$out" >"$tmp/opts"
for o in --name --description --block-size --all --request --help; do
    grep -q -x -F -- "$o" "$tmp/opts" || fail "complete 'info --' lacks $o"
done
section set "$out" >"$tmp/set"
for o in export client-flags timeout tls; do
    grep -q -x -F -- "$o" "$tmp/set" || fail "complete 'set ' lacks $o"
done
[ "$(section help "$out")" = list-meta-context ] ||
    fail "complete 'help list-': $(section help "$out")"
[ "$(section semi "$out")" = info ] || fail "complete 'list; inf': $(section semi "$out")"

# Completion of an option's value (known nbdcli bug when written: the
# value of --export is completed with contexts, not export names), and
# of a name with a space inside quotes.
expect_status 0 "$NBDCLI" "$uri" -t 5 -c 'list; lmc' \
    -c "echo ==export; complete 'lmc --export '; echo ==" \
    -c "echo ==quoted; complete 'info \"wi'; echo =="
out=$tmp/complete2.out
mv "$tmp/out" "$out"
[ "$(section export "$out")" = "$(printf '%s\n' '"with space"' big small)" ] ||
    fail "complete 'lmc --export ': $(section export "$out")"
section quoted "$out" | grep -q -x -F '"with space"' ||
    fail "complete 'info \"wi': $(section quoted "$out")"

# ---------------------------------------------------------------------
# The info plugin as a child server: the size of an export is the
# length of its name.
if nbdkit info --version >/dev/null 2>&1; then
    expect_status 0 "$NBDCLI" -t 5 [ nbdkit -s info mode=exportname ] \
        -c 'info abc; info "hello world"; assert size 11'
    assert_grep -x -F -e '-> NBD_OPT_INFO (6), length 9: export "abc", 0 info requests' "$tmp/out"
    assert_grep -E '^<- NBD_REP_INFO \(3\) to NBD_OPT_INFO \(6\), length 12: NBD_INFO_EXPORT \(0\): size 3 \(3 bytes\), flags 0x[0-9a-f]{4} \(HAS_FLAGS READ_ONLY' "$tmp/out"
    assert_grep -E '^<- NBD_REP_INFO \(3\) to NBD_OPT_INFO \(6\), length 12: NBD_INFO_EXPORT \(0\): size 11 \(11 bytes\), ' "$tmp/out"
fi

# The null plugin: the `done when' sequence on a child server.
if nbdkit null --version >/dev/null 2>&1; then
    expect_status 0 "$NBDCLI" -t 5 [ nbdkit -s null 1M ] \
        -c 'list; info; sr; lmc base:; smc base:allocation; go; state'
    assert_grep -x -F '<- NBD_REP_SERVER (2) to NBD_OPT_LIST (3), length 4: export ""' "$tmp/out"
    assert_grep -E '^<- NBD_REP_META_CONTEXT \(4\) to NBD_OPT_SET_META_CONTEXT \(10\), length 19: id [0-9]+, "base:allocation"$' "$tmp/out"
    assert_grep -x 'phase: *transmission' "$tmp/out"
    assert_grep -x 'export: *"", size 1048576 (1 MiB)' "$tmp/out"
    assert_grep -x 'flags raised: *0' "$tmp/out"
fi

kill -0 "$eval_pid" || fail "nbdkit eval died"
