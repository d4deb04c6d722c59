#!/usr/bin/env bash
# test-docs.sh: nbdcli.1 matches the program.
#  - every command of `nbdcli --list-commands' has an `.It Ic NAME' entry
#    (or `.It Xo Ic NAME' for a multi-line synopsis) in nbdcli.1, and
#    every such entry in INTERACTIVE COMMANDS is a command (no stale docs);
#  - every long option of `nbdcli --help' is documented as `Fl -NAME';
#  - `help NAME' works for every command;
#  - `mandoc -Tlint -Wwarning nbdcli.1' prints nothing.

# shellcheck source=tests/functions.sh
. "${srcdir:-tests}/functions.sh"
set -e
set -x

man=nbdcli.1
[ -f "$man" ] || fail "$man is missing (run the tests from the top of the tree)"
[ -x "$NBDCLI" ] || fail "$NBDCLI was not built"

expect_status 0 "$NBDCLI" --list-commands
cp "$tmp/out" "$tmp/commands"
[ -s "$tmp/commands" ] || fail "--list-commands printed nothing"

# The `.It [Xo] Ic NAME' names in the INTERACTIVE COMMANDS section.
awk '/^\.Sh /     { in_cmds = ($0 == ".Sh INTERACTIVE COMMANDS"); next }
     in_cmds && /^\.It (Xo )?Ic / {
         sub(/^\.It (Xo )?Ic /, "")
         print $1
     }' "$man" >"$tmp/documented"
[ -s "$tmp/documented" ] || fail "$man has no .It Ic entries in INTERACTIVE COMMANDS"

# 1. Every command is documented.
missing=
while read -r cmd; do
    grep -qxF -- "$cmd" "$tmp/documented" || missing="$missing $cmd"
done <"$tmp/commands"
[ -z "$missing" ] || fail "commands without an .It Ic entry in $man:$missing"

# 2. Every documented command exists.
stale=
while read -r cmd; do
    grep -qxF -- "$cmd" "$tmp/commands" || stale="$stale $cmd"
done <"$tmp/documented"
[ -z "$stale" ] || fail ".It Ic entries in $man that are not commands:$stale"

# 3. Every long option of --help appears as `Fl -NAME'.
expect_status 0 "$NBDCLI" --help
grep -oE -- '--[a-z][a-z0-9-]*' "$tmp/out" | sed 's/^--//' | sort -u >"$tmp/longopts"
[ -s "$tmp/longopts" ] || fail "--help lists no long options"
undocumented=
while read -r opt; do
    grep -qE -- "(^|[[:space:]])Fl -$opt([[:space:]]|$)" "$man" ||
        undocumented="$undocumented --$opt"
done <"$tmp/longopts"
[ -z "$undocumented" ] || fail "long options not documented in $man:$undocumented"

# 4. `help NAME' exits 0 and says something, for every command.
while read -r cmd; do
    expect_status 0 "$NBDCLI" -c "help $cmd"
    [ -s "$tmp/out" ] || fail "\`help $cmd' printed nothing"
done <"$tmp/commands"

# 5. mandoc -Tlint -Wwarning: not a word.
command -v mandoc >/dev/null 2>&1 || skip "mandoc is not installed"
mandoc -Tlint -Wwarning "$man" >"$tmp/lint" 2>&1 || true
if [ -s "$tmp/lint" ]; then
    _show "$tmp/lint"
    fail "mandoc -Tlint -Wwarning $man is not clean"
fi
