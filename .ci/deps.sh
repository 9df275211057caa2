#!/bin/sh
# Install what udb needs on a Debian/Ubuntu machine, if missing.
#   .ci/deps.sh build   zlib, cmocka and libedit headers (make, make check;
#                       without libedit dbe's session has no line editing),
#                       python3 (make check's dbe tests)
#   .ci/deps.sh bench   SQLite, Berkeley DB and LMDB headers (make bench)
#   .ci/deps.sh tools   valgrind, clang (sanitizer and fuzz runs), graphviz
#                       (tests/dbe_inspect.sh draws dbe dot's output) and
#                       pkg-config (CI's install check)
# Nothing is installed silently: the missing packages are named with the
# reason first. As root (or with sudo that needs no password) they are then
# installed with apt-get; otherwise the exact command is printed and the
# script fails, so that make stops.
set -e
need=""
why=""
want() { # want PACKAGE REASON
    need="$need $1"
    why="$why    $1: $2
"
}
have_hdr() { echo "#include <$1>" | ${CC:-cc} -E -x c - >/dev/null 2>&1; }
have_cmd() { command -v "$1" >/dev/null 2>&1; }
case "$1" in
build)
    have_hdr zlib.h || want zlib1g-dev "zlib.h, for compressed records (udb/store.c)"
    printf '#include <stdarg.h>\n#include <stddef.h>\n#include <setjmp.h>\n#include <cmocka.h>\n' |
        ${CC:-cc} -E -x c - >/dev/null 2>&1 || want libcmocka-dev "cmocka.h, for the unit tests (tests/test_*.c)"
    have_hdr histedit.h || want libedit-dev "histedit.h, for line editing in dbe's session (optional)"
    have_cmd python3 || want python3 "the dbe tests read JSON output and damage files with it (make check)"
    ;;
bench)
    have_hdr sqlite3.h || want libsqlite3-dev "sqlite3.h: the benchmark runs SQLite beside udb"
    have_hdr db.h || want libdb-dev "db.h: the benchmark runs Berkeley DB beside udb"
    have_hdr lmdb.h || want liblmdb-dev "lmdb.h: the benchmark runs LMDB beside udb"
    have_cmd /usr/bin/time || want time "/usr/bin/time: the benchmark measures peak memory"
    ;;
tools)
    have_cmd valgrind || want valgrind "make valgrind"
    have_cmd clang || want clang "the builds with clang and make fuzz"
    have_cmd dot || want graphviz "dot: tests/dbe_inspect.sh draws dbe dot's output"
    have_cmd pkg-config || want pkg-config "the install check builds programs with pkg-config"
    { ls /usr/lib/postgresql/*/bin/initdb || command -v initdb; } >/dev/null 2>&1 ||
        want postgresql "initdb: tests/dbe_pg.sh loads exports into a private PostgreSQL server"
    ;;
*)
    echo "usage: $0 build|bench|tools" >&2
    exit 2
    ;;
esac
[ -z "$need" ] && exit 0
printf 'udb: missing packages (%s):\n%s' "$1" "$why"
if [ "$(id -u)" = 0 ]; then
    SUDO=""
elif have_cmd sudo && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
else
    SUDO=none
fi
if [ "$SUDO" != none ] && have_cmd apt-get; then
    echo "installing them: ${SUDO:+sudo }apt-get install -y$need"
    { $SUDO apt-get update -qq >/dev/null 2>&1 || true; }
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null && exit 0
    echo "apt-get install failed" >&2
fi
echo "cannot install them here (this needs root, or sudo without a password prompt); run:" >&2
echo "    sudo apt-get install$need" >&2
echo "(or your system's equivalent), then run make again." >&2
exit 1
