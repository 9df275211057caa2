#!/bin/sh
# README.md as a newcomer follows it: the C example compiles as printed
# (against dbe's libudb.a) and prints what its comment says; the "Load my
# CSV" recipe runs as printed on a CSV file with a header and quotes.
NAME=readme; . tests/lib/dbe_test.sh
# the first ```c block of README.md
sed -n '/^```c$/,/^```$/{p;/^```$/q}' README.md | sed '1d;$d' >"$T/example.c"
[ "$(wc -l <"$T/example.c")" -le 25 ] && ok "the C example is short" || bad "the C example is long"
udb_lib a
# cc SRC OUT: against $lib, a sanitized one too (make check SANITIZE=1)
build_c() {
    ${CC:-cc} -std=c11 -Wall -Wextra -Werror -Iudb "$1" "$lib" -lz -lpthread -o "$2" 2>"$T/err" ||
        ${CC:-cc} -std=c11 -Wall -Wextra -Werror -fsanitize=address,undefined -Iudb "$1" "$lib" -lz -lpthread \
            -o "$2" 2>>"$T/err"
}
if build_c "$T/example.c" "$T/example"; then
    ok "the C example compiles with -Wall -Wextra -Werror"
    (cd "$T" && ./example >out 2>err) && ok "it runs" || bad "it fails"
    same "it prints the value" "$T/out" 'Ada Lovelace\n'
    # the WAL-mode snippet (the second ```c block) opens that store
    { printf '#include <stdio.h>\n#include <udb.h>\nint main(void)\n{\n    udb_store *s;\n'
      sed -n '/^```c$/,/^```$/p' README.md | awk '/^```c$/{n++; next} /^```$/{next} n==2'
      printf '    udb_val v = {0};\n    if (udb_store_get(s, 1, "ada", 3, &v))\n        return 1;\n'
      printf '    printf("%%.*s\\n", (int)v.len, (const char *)v.data);\n    udb_val_free(&v);\n'
      printf '    return udb_store_close(s) != 0;\n}\n'; } >"$T/wal.c"
    if build_c "$T/wal.c" "$T/wal"; then
        ok "the WAL snippet compiles"
        (cd "$T" && ./wal >out 2>err) && ok "it opens the store in WAL mode" || bad "the WAL snippet fails"
        same "and reads it" "$T/out" 'Ada Lovelace\n'
    else
        bad "the WAL snippet does not compile: $(cat "$T/err")"
    fi
    expect 0 "$DBE" check "$T/people"
else
    bad "the C example does not compile"; cat "$T/err"
fi
# the CSV recipe, its commands as printed (dbe from this build)
mkdir -p "$T/csv"
printf 'id,name,city\n1,Ada,London\n2,Linus,Helsinki\n3,"Grace ""Amazing"" Hopper",Arlington\n' >"$T/csv/people.csv"
sed -n '/^\*\*Load my CSV\.\*\*/,/^```$/p' README.md | sed -n '/^```sh$/,/^```$/p' | sed '1d;$d' |
    sed "s|^dbe |\"$PWD/$DBE\" |" >"$T/recipe.sh"
[ "$(grep -c . "$T/recipe.sh")" -ge 4 ] && ok "the recipe has its commands" || bad "no recipe found"
(cd "$T/csv" && sh -e "$PWD/../recipe.sh" >out 2>err) && ok "the recipe runs" || { bad "the recipe fails"; cat "$T/csv/err"; }
has "get by id" "$T/csv/out" "2,Linus,Helsinki"
has "the quoted field, whole" "$T/csv/out" '"value": "3,\\"Grace \\"\\"Amazing\\"\\" Hopper\\",Arlington"'
expect 0 "$DBE" check "$T/csv/people"
finish
