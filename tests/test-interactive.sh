#!/usr/bin/env bash
# test-interactive.sh: the interactive shell in a pseudo-terminal, driven
# by expect (tests/interactive.exp), for both line editors: the binary
# under test ($NBDCLI, GNU readline by default) and a libedit build made
# here from a copy of the source tree.  For each: the prompt in every
# phase, a command's decoded output, TAB completion (commands, export
# names and meta contexts learned from the server), history (Up, the
# history file, a second session), Ctrl-C at the idle prompt, Ctrl-D.
#
# Skips (77) when expect or nbdkit is missing, or when libedit cannot be
# built (libedit-dev missing); under CI=true a skip is a failure, and CI
# installs libedit-dev.

# shellcheck source=tests/functions.sh
. "${srcdir:-tests}/functions.sh"
set -e
set -x

requires expect -v
requires nbdkit --version
requires nbdkit memory --version
requires nbdkit --filter=exportname memory --version

top=$(cd "$srcdir/.." && pwd)
exp=$srcdir/interactive.exp

# run_editor BINARY NAME: the expect script against BINARY, whose
# --dump-config must say lineedit=NAME; then the history file it left.
run_editor ()
{
    local bin=$1 name=$2 home hist le
    le=$("$bin" --dump-config | sed -n 's/^lineedit=//p')
    if [ "$le" != "$name" ]; then
        fail "$bin --dump-config says lineedit=$le, expected $name"
    fi
    home=$(tmpdir)
    hist=$home/history
    echo "=== $name: $bin"
    expect -f "$exp" "$bin" "$name" "$hist" "$home" ||
        fail "$name: interactive session (see the FAIL line above)"

    # History written by `quit' (session A), Ctrl-D (sessions B and C).
    # libedit's file starts with _HiStOrY_V2_ and writes a space as \040.
    echo "checking: $name: the history file holds the sessions' commands"
    test -s "$hist" || fail "$name: no history file $hist"
    cat "$hist"
    local sp='( |\\040)'
    for re in '^list$' "^info${sp}alpha${sp}?\$" '^sr$' "^lmc${sp}base:\$" \
              "^smc${sp}base:allocation${sp}?\$" '^go$' \
              "^echo${sp}hist-mark-1\$" '^quit$' \
              "^echo${sp}ctrl-c-3\$" \
              "^connect${sp}\\[${sp}nbdkit${sp}-s${sp}memory${sp}1M${sp}\\]\$" \
              '^disconnect$'; do
        assert_grep -E -- "$re" "$hist"
    done
    # `echo hist-mark-1' was entered twice in a row in session A and
    # recalled once more in session B: consecutive duplicates are kept
    # once, so exactly twice in the file.
    n=$(grep -c -E -- "^echo${sp}hist-mark-1\$" "$hist")
    [ "$n" = 2 ] || fail "$name: \"echo hist-mark-1\" $n times in $hist, expected 2"
    # History is private.
    perms=$(stat -c %a "$hist")
    [ "$perms" = 600 ] || fail "$name: $hist has mode $perms, expected 600"
    echo "ok: $name: history file"
}

# ---------------------------------------------------------------------
# Build the libedit variant first, so that a missing libedit skips
# before anything else runs.  The copy leaves out build products (and
# .git), so uncommitted files come along.
src=$tmp/src-libedit
mkdir "$src"
(cd "$top" &&
     tar --exclude=./.git --exclude='*.o' --exclude=./nbdcli \
         --exclude=./Makefile --exclude=./config.h \
         --exclude='./config.log*' --exclude='./tests/*.log' \
         --exclude=./tests/flawed-server -cf - .) |
    tar -C "$src" -xf -
if ! (cd "$src" && ./configure --with-readline=libedit) \
     >"$tmp/libedit-configure.log" 2>&1; then
    cat "$tmp/libedit-configure.log"
    skip "./configure --with-readline=libedit failed (libedit-dev missing?)"
fi
if ! make -C "$src" -j2 nbdcli >"$tmp/libedit-make.log" 2>&1; then
    cat "$tmp/libedit-make.log"
    fail "make nbdcli with libedit failed"
fi

# ---------------------------------------------------------------------
# The binary under test (GNU readline in the default build).
default_le=$("$NBDCLI" --dump-config | sed -n 's/^lineedit=//p')
case $default_le in
readline|libedit) run_editor "$NBDCLI" "$default_le" ;;
none) echo "note: $NBDCLI has no line editor; only the libedit build is tested" ;;
*) fail "$NBDCLI --dump-config: unexpected lineedit=$default_le" ;;
esac

# ---------------------------------------------------------------------
# The libedit build.
run_editor "$src/nbdcli" libedit

echo "ok: interactive shell: $NBDCLI (lineedit=$default_le) and the libedit build"
