#!/bin/sh
# Install what udb needs on a Debian/Ubuntu machine, if missing.
#   .ci/deps.sh build   zlib and cmocka headers (make, make check)
#   .ci/deps.sh bench   SQLite, Berkeley DB and LMDB headers (make bench)
#   .ci/deps.sh tools   valgrind, clang (sanitizer and fuzz runs) and
#                       graphviz (tests/dbe_inspect.sh draws dbe dot's output)
set -e
need=""
have_hdr() { echo "#include <$1>" | ${CC:-cc} -E -x c - >/dev/null 2>&1; }
case "$1" in
build)
    have_hdr zlib.h || need="$need zlib1g-dev"
    printf '#include <stdarg.h>\n#include <stddef.h>\n#include <setjmp.h>\n#include <cmocka.h>\n' |
        ${CC:-cc} -E -x c - >/dev/null 2>&1 || need="$need libcmocka-dev"
    ;;
bench)
    have_hdr sqlite3.h || need="$need libsqlite3-dev"
    have_hdr db.h || need="$need libdb-dev"
    have_hdr lmdb.h || need="$need liblmdb-dev"
    command -v /usr/bin/time >/dev/null 2>&1 || need="$need time"
    ;;
tools)
    command -v valgrind >/dev/null 2>&1 || need="$need valgrind"
    command -v clang >/dev/null 2>&1 || need="$need clang"
    command -v dot >/dev/null 2>&1 || need="$need graphviz"
    ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || need="$need postgresql" # tests/dbe_pg.sh
    ;;
*)
    echo "usage: $0 build|bench|tools" >&2
    exit 2
    ;;
esac
[ -z "$need" ] && exit 0
echo "installing:$need"
if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else SUDO=none; fi
if [ "$SUDO" != none ] && command -v apt-get >/dev/null 2>&1 &&
   { $SUDO apt-get update -qq >/dev/null 2>&1 || true; } &&
   DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $need >/dev/null; then
    exit 0
fi
echo "cannot install the build dependencies automatically; run:" >&2
echo "    sudo apt-get install$need" >&2
exit 1
