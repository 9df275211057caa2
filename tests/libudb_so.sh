#!/bin/sh
# The shared library (make builds it beside libudb.a): its file names and
# soname follow UDB_VERSION of udb/udb.h, it exports exactly the functions
# udb/udb.h and udb/mdx.h declare (nothing internal), and a program links
# against it (udb.h, mdx.h) and runs.
NAME=libudb_so; . tests/lib/dbe_test.sh
CC=${CC:-cc}
udb_lib so; so=$lib
udb_lib a; ar=$lib
dir=$(cd "$(dirname "$so")" && pwd)
version=$(sed -n 's/^#define UDB_VERSION "\(.*\)"/\1/p' udb/udb.h)
major=${version%%.*}

# file names: libudb.so -> libudb.so.MAJOR -> libudb.so.VERSION
[ -f "$dir/libudb.so.$version" ] && [ ! -L "$dir/libudb.so.$version" ] &&
    [ "$(readlink "$dir/libudb.so")" = "libudb.so.$major" ] &&
    [ "$(readlink "$dir/libudb.so.$major")" = "libudb.so.$version" ] &&
    ok "libudb.so -> libudb.so.$major -> libudb.so.$version" || { bad "file names"; ls -l "$dir"/libudb.so*; }
readelf -d "$so" >"$T/dyn"
has "soname libudb.so.$major" "$T/dyn" "(SONAME) *Library soname: \[libudb.so.$major\]"

# every function the public headers declare (as the compiler sees them),
# against every symbol the library exports; names with two leading
# underscores belong to the compiler (the sanitizers' runtime)
printf '#include "udb.h"\n#include "mdx.h"\n' | $CC -E -DUDB_API= -Iudb -x c - |
    awk '/^# [0-9]+ "/ { keep = ($3 ~ /^"udb\/(udb|mdx)\.h"$/); next } keep' |
    tr '\n' ' ' | tr ';{}' '\n\n\n' | grep -v '^ *typedef' |
    grep -o '[A-Za-z_][A-Za-z_0-9]*(' | tr -d '(' | sort -u >"$T/declared"
nm -D --defined-only "$so" | awk 'NF == 3 { print $3 }' | grep -v '^__' | sort -u >"$T/exported"
n=$(wc -l <"$T/declared")
[ "$n" -gt 100 ] && grep -qx udb_store_get "$T/declared" && grep -qx MDXFind "$T/declared" &&
    ok "the headers declare $n functions" || { bad "the headers declare $n functions?"; cat "$T/declared"; }
if cmp -s "$T/declared" "$T/exported"; then
    ok "libudb.so exports exactly the $n declared functions"
else
    bad "exports differ from the declarations (< declared only, > exported only):"
    diff "$T/declared" "$T/exported" | grep '^[<>]'
fi

# a program against the shared library; a sanitizer build of the library
# needs its runtime in the program too
san=""
nm -D "$so" | grep -q ' __asan_\| __ubsan_' && san="-fsanitize=address,undefined"
cat >"$T/prog.c" <<'PROG'
#include <stdio.h>
#include "udb.h"
#include "mdx.h"

int main(int argc, char **argv)
{
    char name[4096], ndx[4096];
    if (argc < 2)
        return 2;
    snprintf(name, sizeof name, "%s/kv", argv[1]);
    snprintf(ndx, sizeof ndx, "%s/old.ndx", argv[1]);
    udb_index_def def = {UDB_KEY_STRING, 16, UDB_UNIQUE, 8, 0, 0};
    udb_store_def sd = {1, &def, 0, 0};
    udb_store *s;
    udb_key k = {"abc", 3};
    udb_val v = {0};
    int rc = udb_store_create(name, NULL, &sd, &s);
    if (!rc)
        rc = udb_store_put(s, &k, "value", 5);
    if (!rc)
        rc = udb_store_get(s, 1, "abc", 3, &v);
    if (rc) {
        fprintf(stderr, "%s: %s\n", udb_errname(rc), udb_errmsg(s));
        return 1;
    }
    printf("udb %s\n", udb_version());
    printf("abc: %.*s\n", (int)v.len, (const char *)v.data);
    rc = udb_store_get(s, 1, "a\tz", 3, &v);
    printf("%s: %s: %s\n", udb_errname(rc), udb_strerror(rc), udb_errmsg(s));
    udb_val_free(&v);
    udb_store_close(s);
    int h = MDXCreateFile(ndx, 1);
    MDXCreateIndex(h, ftSTRING, 8, attUNQUEE, 8, 0, 0);
    MDXAppend(h, "key", 42);
    printf("MDXFind: %ld\n", (long)MDXFind(h, "key"));
    MDXCloseFile(h);
    return 0;
}
PROG
if $CC -std=c11 $san -Iudb "$T/prog.c" -L"$dir" -ludb -Wl,-rpath,"$dir" -o "$T/prog" 2>"$T/err"; then
    ok "a program links with -ludb"
    readelf -d "$T/prog" >"$T/dyn"
    has "the program needs libudb.so.$major" "$T/dyn" "(NEEDED).*\[libudb.so.$major\]"
    expect 0 "$T/prog" "$T"
    same "its output" "$T/out" "udb $version\nabc: value\nUDB_NOTFOUND: not found: no record with that key, no further record, or no such file: no record with key \"a\\\\x09z\" in index 1\nMDXFind: 42\n"
else
    bad "a program does not link with -ludb"; cat "$T/err"
fi

# an internal function is in the archive but not exported
printf 'int udb_err_set(void *e, int code, const char *fmt, ...);\nint main(void) { return udb_err_set(0, 0, "x"); }\n' >"$T/inner.c"
$CC $san "$T/inner.c" "$ar" -lz -lpthread -o "$T/inner_a" 2>"$T/err" &&
    ok "udb_err_set links from libudb.a" || { bad "udb_err_set does not link from libudb.a"; cat "$T/err"; }
$CC $san "$T/inner.c" -L"$dir" -ludb -o "$T/inner_so" 2>"$T/err" &&
    bad "udb_err_set links from libudb.so (an internal name is exported)" || ok "udb_err_set is hidden in libudb.so"

finish
