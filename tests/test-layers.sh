#!/usr/bin/env bash
# test-layers.sh: the layering holds, from the object files and the
# sources.  cli/ -> commands/ -> output/ -> proto/: an object may use
# symbols defined in its own layer or below, never above; an #include
# never names a header of a layer above; proto/ links into a program
# with no object from another layer (tests/unit/test-engine is one).

# shellcheck source=tests/functions.sh
. "${srcdir:-tests}/functions.sh"
set -e

requires nm --version

layers=(proto output commands cli)
rank () {
    local i
    for i in "${!layers[@]}"; do
        [ "${layers[i]}" = "$1" ] && { echo "$i"; return; }
    done
    echo -1
}

for l in "${layers[@]}"; do
    ls "$l"/*.o >/dev/null 2>&1 || fail "no objects in $l/: build first"
done

# Where each global symbol is defined.
: >"$tmp/defs"
for l in "${layers[@]}"; do
    nm --defined-only -g "$l"/*.o | awk -v l="$l" 'NF == 3 { print $3, l }' \
        >>"$tmp/defs"
done
sort -u "$tmp/defs" -o "$tmp/defs"

bad=0
for l in "${layers[@]}"; do
    r=$(rank "$l")
    for o in "$l"/*.o; do
        nm -u "$o" | awk '{ print $NF }' | sort -u >"$tmp/undef"
        while read -r sym where; do
            w=$(rank "$where")
            if [ "$w" -gt "$r" ]; then
                echo "LAYER: $o ($l) uses $sym, defined in $where/"
                bad=1
            fi
        done < <(join "$tmp/undef" "$tmp/defs")
    done
done

# Includes, by folder: a header found in a folder above is an error.
for l in "${layers[@]}"; do
    r=$(rank "$l")
    for f in "$l"/*.c "$l"/*.h; do
        [ -f "$f" ] || continue
        sed -n 's/^#include "\(.*\)"$/\1/p' "$f" | while read -r h; do
            for m in "${layers[@]}"; do
                if [ -f "$m/$h" ] && [ "$(rank "$m")" -gt "$r" ]; then
                    echo "LAYER: $f includes $m/$h"
                    echo bad >>"$tmp/inc-bad"
                fi
            done
        done
    done
done
[ -f "$tmp/inc-bad" ] && bad=1

# The check itself can fail: an object of proto/ that used a symbol of
# output/ would be found (a made-up object proves it).
cat >"$tmp/up.c" <<'EOC'
extern void print_state (void *, const void *);
void up (void);
void up (void) { print_state (0, 0); }
EOC
${CC:-cc} -c -o "$tmp/up.o" "$tmp/up.c"
nm -u "$tmp/up.o" | awk '{ print $NF }' | sort -u >"$tmp/undef"
join "$tmp/undef" "$tmp/defs" | grep -q '^print_state output$' ||
    fail "the layer check would not see proto calling output"

[ "$bad" = 0 ] || fail "the layering is broken (above)"
echo "layers: ${layers[*]}: no call or include runs upward"
