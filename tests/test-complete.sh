#!/usr/bin/env bash
# test-complete.sh: completion logic through the `complete' command, no
# terminal needed (the pty side is test-interactive.sh): command names
# and aliases, after `;', each command's --options, settings, files,
# targets, and export names and meta contexts learned from a server.

# shellcheck source=tests/functions.sh
. "${srcdir:-tests}/functions.sh"
set -e
set -x

# check_complete LINE EXPECTED...: `complete "LINE"' prints exactly the
# EXPECTED lines (none: prints nothing), and exits 0.
check_complete ()
{
    local line=$1
    shift
    expect_status 0 "$NBDCLI" -c "complete \"$line\""
    if [ $# -gt 0 ]; then
        printf '%s\n' "$@" >"$tmp/want"
    else
        : >"$tmp/want"
    fi
    if ! diff -u "$tmp/want" "$tmp/out"; then
        fail "complete \"$line\": unexpected candidates (diff above: - expected, + got)"
    fi
}

# ---------------------------------------------------------------------
# Command names.
check_complete 'inf' info
check_complete 'l' list list-meta-context lmc
check_complete 'help li' list list-meta-context
check_complete 'sr; inf' info
check_complete 'sr;inf' info
check_complete 'nosuch ' 
check_complete 'zzz'

# An empty line: every command (nbdcli --list-commands) and every alias
# (`help' shows them in parentheses), sorted; `inflight' only while
# requests are in flight (none here), so that inf<TAB> gives `info'.
"$NBDCLI" --list-commands | grep -vx inflight >"$tmp/cmds"
"$NBDCLI" -c help | sed -n 's/^  [a-z-]* (\([a-z-]*\)) .*/\1/p' >>"$tmp/cmds"
grep -qx lmc "$tmp/cmds" || fail "no aliases found in \`help' output"
mapfile -t all < <(LC_ALL=C sort -u "$tmp/cmds")
check_complete '' "${all[@]}"

# ---------------------------------------------------------------------
# Options.
check_complete 'info --' --all --block-size --description --help --name --request
check_complete 'info --n' --name
check_complete 'info --name --b' --block-size
check_complete 'read --' --async --connections --df --flags --force --fua --help --inflight --out --single

# ---------------------------------------------------------------------
# Settings: the ones `help set' documents.
settings=(allow-plaintext client-flags errexit export timeout tls
          tls-certificates tls-hostname tls-psk tls-username tls-verify-peer)
check_complete 'set ' "${settings[@]}"
"$NBDCLI" -c 'help set' >"$tmp/help-set"
for s in "${settings[@]}"; do
    assert_grep -w -- "$s" "$tmp/help-set"
done
check_complete 'set tls-v' tls-verify-peer
check_complete 'set t' timeout tls tls-certificates tls-hostname tls-psk \
               tls-username tls-verify-peer

# ---------------------------------------------------------------------
# Targets.
check_complete 'connect ' '[' 'nbd+unix:///?socket=' 'nbd://' \
               'nbds+unix:///?socket=' 'nbds://'
check_complete 'connect nbds' 'nbds+unix:///?socket=' 'nbds://'

# ---------------------------------------------------------------------
# Files: `source' completes paths, directories with a trailing slash,
# dot files only when asked for.
d=$(tmpdir)
mkdir "$d/sub"
touch "$d/a.nbd" "$d/b.nbd" "$d/.hidden"
check_complete "source $d/" "$d/a.nbd" "$d/b.nbd" "$d/sub/"
check_complete "source $d/a" "$d/a.nbd"
check_complete "source $d/." "$d/.hidden"
check_complete "source $d/sub/"
check_complete "source $d/nosuchdir/"
(cd "$d" && expect_status 0 "$NBDCLI" -c 'complete "source "')
printf '%s\n' a.nbd b.nbd sub/ >"$tmp/want"
diff -u "$tmp/want" "$tmp/out" || fail "complete \"source \" in $d"

# source tests/: the files of tests/ (other tests may add and remove
# files there meanwhile, so only known files are required, and every
# candidate must be a path under tests/ that existed).
expect_status 0 "$NBDCLI" -c "complete \"source tests/\""
cat "$tmp/out"
for f in tests/functions.sh tests/run-tests.sh tests/test-complete.sh; do
    assert_grep -x -F "$f" "$tmp/out"
done
assert_not_grep -v '^tests/' "$tmp/out"
assert_not_grep -E '^tests/\.' "$tmp/out"
check_complete 'source tests/functions.s' tests/functions.sh

# ---------------------------------------------------------------------
# Names learned from the server: exports from NBD_OPT_LIST, contexts
# from NBD_OPT_LIST_META_CONTEXT.  Each `complete' is framed by
# `echo @@NAME' / `echo @@' so that its lines can be told from the
# protocol output.
if ! nbdkit --filter=exportname memory --version >/dev/null 2>&1; then
    skip "nbdkit with the exportname filter is needed for the rest"
fi
server=(nbdkit -s --filter=exportname memory 1M exportname-list=explicit
        exportname=alpha exportname=beta)
script='echo @@info-before; complete "info "; echo @@
list
echo @@info; complete "info "; echo @@
echo @@info-a; complete "info a"; echo @@
echo @@go; complete "go "; echo @@
echo @@export-name; complete "export-name b"; echo @@
echo @@smc-before; complete "smc b"; echo @@
lmc base:
echo @@smc; complete "smc b"; echo @@
echo @@lmc-export; complete "lmc --export "; echo @@
echo @@lmc-export-alpha; complete "lmc --export alpha b"; echo @@'
printf '%s\n' "$script" >"$tmp/learn.nbd"
expect_status 0 "$NBDCLI" -f "$tmp/learn.nbd" "[" "${server[@]}" "]"
mv "$tmp/out" "$tmp/learn.out"
cat "$tmp/learn.out"

# section NAME EXPECTED...: the lines between `@@NAME' and `@@'.
section ()
{
    local name=$1
    shift
    awk -v n="@@$name" '$0 == n { f = 1; next } /^@@/ { f = 0 } f' \
        "$tmp/learn.out" >"$tmp/got"
    if [ $# -gt 0 ]; then
        printf '%s\n' "$@" >"$tmp/want"
    else
        : >"$tmp/want"
    fi
    if ! diff -u "$tmp/want" "$tmp/got"; then
        fail "learned names, $name: unexpected candidates (diff above)"
    fi
}
section info-before
section info alpha beta
section info-a alpha
section go alpha beta
section export-name beta
section smc-before
section smc base:allocation
section lmc-export alpha beta
section lmc-export-alpha base:allocation
