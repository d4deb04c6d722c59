#!/usr/bin/env bash
# test-build.sh: the build itself: --dump-config agrees with config.h,
# and make install / uninstall honour DESTDIR and PREFIX; make distclean
# returns a copy of the sources to what it was.

# shellcheck source=tests/functions.sh
. "${srcdir:-tests}/functions.sh"
set -e
set -x

[ -x "$NBDCLI" ] || fail "$NBDCLI was not built"
[ -f config.h ] || fail "config.h missing: run ./configure"

# --dump-config: version=, lineedit=, tls= lines matching config.h.
expect_status 0 "$NBDCLI" --dump-config
cp "$tmp/out" "$tmp/config"
assert_grep -E '^version=[0-9]' "$tmp/config"
assert_grep -E '^lineedit=(readline|libedit|none)$' "$tmp/config"
assert_grep -x 'tls=gnutls' "$tmp/config"

version=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' config.h)
lineedit=$(sed -n 's/^#define LINEEDIT_NAME "\(.*\)"$/\1/p' config.h)
if [ -z "$version" ] || [ -z "$lineedit" ]; then
    fail "config.h lacks PACKAGE_VERSION or LINEEDIT_NAME"
fi
assert_grep -x -F "version=$version" "$tmp/config"
assert_grep -x -F "lineedit=$lineedit" "$tmp/config"

# make install DESTDIR=... PREFIX=/usr, then make uninstall.
requires make --version
unset MAKEFLAGS MFLAGS MAKELEVEL
dest=$tmp/dest
make install DESTDIR="$dest" PREFIX=/usr >"$tmp/install.log" 2>&1 ||
    { _show "$tmp/install.log"; fail "make install failed"; }
[ -x "$dest/usr/bin/nbdcli" ] || fail "$dest/usr/bin/nbdcli not installed"
cmp "$NBDCLI" "$dest/usr/bin/nbdcli" || fail "installed nbdcli differs"
[ -f "$dest/usr/share/man/man1/nbdcli.1" ] || fail "nbdcli.1 not installed"
cmp nbdcli.1 "$dest/usr/share/man/man1/nbdcli.1"
"$dest/usr/bin/nbdcli" --dump-config >"$tmp/config2"
cmp "$tmp/config" "$tmp/config2"
# Nothing else was installed, and nothing outside DESTDIR.
(cd "$dest" && find . -type f | sort) >"$tmp/files"
printf '%s\n' ./usr/bin/nbdcli ./usr/share/man/man1/nbdcli.1 >"$tmp/want"
diff -u "$tmp/want" "$tmp/files"

make uninstall DESTDIR="$dest" PREFIX=/usr >"$tmp/uninstall.log" 2>&1 ||
    { _show "$tmp/uninstall.log"; fail "make uninstall failed"; }
[ ! -e "$dest/usr/bin/nbdcli" ] || fail "make uninstall left nbdcli"
[ ! -e "$dest/usr/share/man/man1/nbdcli.1" ] || fail "make uninstall left nbdcli.1"

# make distclean in a copy of the sources leaves exactly what was there
# before configure and make.
src=$tmp/distclean
mkdir "$src"
(cd "$srcdir/.." && tar --exclude=.git --exclude='*.o' --exclude=./nbdcli \
    --exclude=./Makefile --exclude=./config.h --exclude='./config.log*' \
    --exclude='*.old' --exclude='./tests/*.log' --exclude=./tests/flawed-server \
    --exclude=./tests/unit/test-engine \
    --exclude='./tests/fuzz/fuzz-*[!c]' --exclude=./tests/fuzz/artifacts \
    -cf - .) | tar -C "$src" -xf -
(cd "$src" && find . -type f | sort) > "$tmp/before"
(cd "$src" && ./configure && make -j2 && make tests/flawed-server &&
     make distclean) > "$tmp/distclean.log" 2>&1 ||
    { _show "$tmp/distclean.log"; fail "configure, make, distclean failed"; }
(cd "$src" && find . -type f | sort) > "$tmp/after"
diff "$tmp/before" "$tmp/after" > "$tmp/diff" ||
    { _show "$tmp/diff"; fail "make distclean left or removed files"; }
