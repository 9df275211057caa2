# tests/lib/dbe_test.sh — what the shell tests of dbe share; sourced, never
# run (tests/run.sh runs tests/*.sh only). Set NAME first:
#   NAME=dbe_read; . tests/lib/dbe_test.sh
# Gives DBE, F (the fixtures), a scratch directory T under tests/out, the
# failure count, the helpers below, and finish (the last line of a test).
set -u
DBE=${DBE:-dbe/dbe}
F=tests/fixtures
T=$(mktemp -d tests/out/$NAME.XXXXXX 2>/dev/null || { mkdir -p tests/out; mktemp -d tests/out/$NAME.XXXXXX; })
fails=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }
expect() { # expect EXIT CMD...: run, compare exit status
    want=$1; shift
    "$@" >"$T/out" 2>"$T/err"; got=$?
    if [ "$got" = "$want" ]; then ok "$* -> $got"; else bad "$* -> $got (want $want)"; cat "$T/err"; fi
}
same() { # same WHAT FILE TEXT: FILE holds exactly TEXT (printf %b form)
    printf '%b' "$3" | cmp -s - "$2" && ok "$1" || { bad "$1"; echo "  got:"; sed 's/^/    /' "$2"; }
}
has() { # has WHAT FILE TEXT: FILE has a line containing TEXT
    grep -q -- "$3" "$2" && ok "$1" || { bad "$1: no '$3'"; sed 's/^/    /' "$2"; }
}
udb_lib() { # udb_lib EXT: lib = the libudb.EXT (a, so) built with dbe (the
    # sanitizer builds keep theirs beside dbe, the plain build at the top)
    lib=$(dirname "$DBE")/libudb.$1
    [ -e "$lib" ] || lib=libudb.$1
}
build_helper() { # build_helper NAME: H = tests/NAME.c built against dbe's libudb.a
    # (plain, else with the sanitizers the library was built with) into $T,
    # or "" when neither links
    H=""
    udb_lib a
    for flags in "" "-fsanitize=address,undefined"; do
        ${CC:-cc} -std=c11 -D_POSIX_C_SOURCE=200809L -Iudb $flags "tests/$1.c" "$lib" -lz -lpthread \
            -o "$T/$1" 2>/dev/null && { H=$T/$1; break; }
    done
}
build_hot() { build_helper dbe_hot; } # H = tests/dbe_hot.c built, or ""
finish() { # the scratch directory goes; the exit status is the verdict
    rm -rf "$T"
    echo "$fails failure(s)"
    [ $fails = 0 ]
}
