#!/bin/sh
# CI's install check: make install into a scratch DESTDIR, every file in its
# place, programs built with pkg-config against the installed shared library
# and (--static) the archive, with #include <udb.h> and #include <udb/udb.h>,
# then make uninstall leaves nothing behind. Needs pkg-config and readelf.
set -eu
cd "$(dirname "$0")/.."
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
prefix=/usr/local
root=$dest$prefix
version=$(sed -n 's/^#define UDB_VERSION "\(.*\)"/\1/p' udb/udb.h)
major=${version%%.*}
fail() { echo "install check: $*" >&2; exit 1; }

make --no-print-directory install PREFIX=$prefix DESTDIR="$dest" >/dev/null
for f in lib/libudb.a lib/libudb.so.$version lib/pkgconfig/udb.pc include/udb.h include/udb/udb.h \
    include/udb/mdx.h bin/dbe share/man/man1/dbe.1 share/doc/udb/api.md share/doc/udb/dbe.md \
    share/doc/udb/format.md share/doc/udb/mdx.md share/doc/udb/tree.svg; do
    [ -f "$root/$f" ] || fail "missing after install: $f"
done
[ "$(readlink "$root/lib/libudb.so")" = "libudb.so.$major" ] || fail "lib/libudb.so is not a link to libudb.so.$major"
[ "$(readlink "$root/lib/libudb.so.$major")" = "libudb.so.$version" ] || fail "lib/libudb.so.$major is not a link to libudb.so.$version"
"$root/bin/dbe" --version

pc() { PKG_CONFIG_PATH="$root/lib/pkgconfig" pkg-config --define-variable=prefix="$root" "$@" udb; }
[ "$(pc --modversion)" = "$version" ] || fail "pkg-config --modversion udb is not $version"
for form in udb.h udb/udb.h; do
    extra=""
    [ "$form" = udb/udb.h ] && extra="#include <udb/mdx.h>"
    printf '#include <stdio.h>\n#include <%s>\n%s\n%s\n' "$form" "$extra" \
        'int main(void) { printf("%s %s\n", udb_version(), udb_errname(UDB_NOTFOUND)); return 0; }' \
        >"$dest/prog.c"
    # shared: the program needs libudb.so.MAJOR
    # shellcheck disable=SC2046
    cc -std=c11 "$dest/prog.c" $(pc --cflags --libs) -Wl,-rpath,"$root/lib" -o "$dest/shared"
    readelf -d "$dest/shared" | grep -q "(NEEDED).*\[libudb.so.$major\]" || fail "<$form>: not linked to libudb.so.$major"
    [ "$("$dest/shared")" = "$version UDB_NOTFOUND" ] || fail "<$form>: the shared program's output"
    # static: libudb.a and the private libraries (-lz -lpthread)
    # shellcheck disable=SC2046
    cc -std=c11 -static "$dest/prog.c" $(pc --static --cflags --libs) -o "$dest/static"
    ! readelf -d "$dest/static" 2>/dev/null | grep -q NEEDED || fail "<$form>: the static program needs shared libraries"
    [ "$("$dest/static")" = "$version UDB_NOTFOUND" ] || fail "<$form>: the static program's output"
    echo "install check: <$form> builds and runs against libudb.so and (--static) libudb.a"
done

make --no-print-directory uninstall PREFIX=$prefix DESTDIR="$dest" >/dev/null
left=$(find "$dest" ! -type d ! -name 'prog.c' ! -name shared ! -name static)
[ -z "$left" ] || fail "left after make uninstall: $left"
echo "install check: make uninstall removed every file"
