#!/bin/sh
# dbe's write commands: create, append, delete, load — outputs, exit codes,
# bad arguments, bad load lines; the files they write pass dbe check and the
# independent checkers (tests/tools).
NAME=dbe_write; . tests/lib/dbe_test.sh
TOOLS=tests/tools # the independent checkers (copied from the project's shared/tools)
expect_in() { # expect_in EXIT INPUT CMD...: the same with INPUT (printf %b form) on stdin
    want=$1; in=$2; shift 2
    printf '%b' "$in" | "$@" >"$T/out" 2>"$T/err"; got=$?
    if [ "$got" = "$want" ]; then ok "$* (stdin) -> $got"; else bad "$* (stdin) -> $got (want $want)"; cat "$T/err"; fi
}
err_has() { grep -q -- "$1" "$T/err" && ok "message: $1" || { bad "no message '$1'"; cat "$T/err"; }; }
checkers() { # checkers FILE LAYOUT: dbe check and the independent checker
    $DBE check "$1" >"$T/chk" 2>&1 && ok "dbe check $1" || { bad "dbe check $1"; cat "$T/chk"; }
    python3 "$TOOLS/${2}_check.py" "$1" >"$T/chk" 2>&1 && ok "${2}_check.py $1" ||
        { bad "${2}_check.py $1"; tail -5 "$T/chk"; }
}

# ---- create
W=$T/w.ndx; C=$T/c.ndx
expect 0 $DBE create $W --index string:20 --index long_int:4:unique+delete:5 --index=integer:2:3
$DBE info $W >"$T/info"
grep -q "layout: wide" "$T/info" && ok "wide is the default" || bad "default layout"
grep -q "index 1: STRING keysize 20 attrs none maxitems 145" "$T/info" && ok "defaults" || bad "defaults"
grep -q "index 2: LONG_INT keysize 4 attrs UNIQUE|ALLOW_DELETE maxitems 5" "$T/info" && ok "attrs+maxitems" || bad "attrs+maxitems"
grep -q "index 3: INTEGER keysize 2 attrs UNIQUE|ALLOW_DELETE" "$T/info" && ok "attrs as a number" || bad "attrs number"
checkers $W wide
expect 0 $DBE create $C --layout classic -i string:20:delete:7 -i string:12:unique
$DBE info $C | grep -q "layout: classic" && ok "classic create" || bad "classic create"
checkers $C classic
sum=$(md5sum <"$W")
expect 2 $DBE create $W --index string:20
err_has "exists"
[ "$(md5sum <"$W")" = "$sum" ] && ok "existing file untouched" || bad "existing file changed"
for spec in foo:3 string string:1 string:20:bogus string:20:unique:2 string:20:1:5:7 string:x \
            integer:9999999 string:20:unique+ block:0; do
    expect 2 $DBE create $T/bad.ndx --index $spec
    [ -e $T/bad.ndx ] && bad "create $spec left a file" && rm -f $T/bad.ndx
done
err_has "index 1 (block:0)"
expect 2 $DBE create $T/bad.ndx
expect 2 $DBE create $T/bad.ndx --index
expect 2 $DBE create $T/bad.ndx --index string:20 --layout sideways
expect 2 $DBE create $T/no-such-dir/x.ndx --index string:20
expect 2 $DBE create --index string:20
[ -e $T/bad.ndx ] && bad "a failed create left a file" || ok "failed creates leave no file"

# ---- append
expect 0 $DBE append $W hello 5
expect 0 $DBE append $W -i 1 hello 6
expect 0 $DBE append $W -i 1 'tab\there' 7
expect 0 $DBE append $W -i 2 -7 9
expect 0 $DBE append $W -i 2 0x01000000 10
expect 1 $DBE append $W -i 2 -7 11
err_has "UNIQUE"
expect 2 $DBE append $W -i 2 seven 9
expect 2 $DBE append $W -i 2 1 -1
expect 2 $DBE append $W -i 2 1 x
expect 2 $DBE append $W -i 2 1
expect 2 $DBE append $W -i 9 1 1
expect 2 $DBE append $W -i 1 this-key-is-too-long-for-20 1
expect 2 $DBE append $T/missing.ndx k 1
expect 2 $DBE append $C k 5000000000
err_has "does not fit the classic layout"
$DBE list $W >"$T/l1"
same "append: newest duplicate first, escapes" "$T/l1" 'hello\t6\nhello\t5\ntab\\there\t7\n'
$DBE list $W -i 2 >"$T/l2"
same "append: typed keys" "$T/l2" '-7\t9\n1\t10\n'

# ---- delete
expect 0 $DBE delete $W hello
same "delete prints the count" "$T/out" '2\n'
expect 1 $DBE delete $W hello
same "delete of an absent key prints 0" "$T/out" '0\n'
expect 2 $DBE delete $W
expect 2 $DBE delete $W -i 2 notanumber
expect 2 $DBE delete $W -i 7 k
expect 0 $DBE delete $W -i 2 -7
$DBE list $W -i 2 >"$T/l2"
same "delete removes only that key" "$T/l2" '1\t10\n'

# ---- load
expect_in 0 'b\t2\na\t1\nc\\tx\t3\r\n' $DBE load $C
same "load prints the count" "$T/out" '3\n'
$DBE list $C >"$T/l1"
same "load: records in key order, CRLF and escapes" "$T/l1" 'a\t1\nb\t2\nc\\tx\t3\n'
sum=$(md5sum <"$C")
expect_in 2 'd\t1\nnotab\ne\tx\nf\t-3\nthis-key-is-far-too-long\t5\ng\t8\n' $DBE load $C
err_has "line 2: no TAB"
err_has "line 3: data position 'x'"
err_has "line 4: data position '-3'"
err_has "line 5: 'this-key-is-far-too-long'"
err_has "nothing loaded (4 bad line(s) of 6; rolled back)"
$DBE list $C >"$T/l1b"
cmp -s "$T/l1" "$T/l1b" && ok "bad load: nothing loaded" || bad "bad load changed the index"
expect_in 2 'new\t1\nnew\t2\n' $DBE load $C -i 2
err_has "line 2: index 2 is UNIQUE"
$DBE list $C -i 2 >"$T/l2"
[ ! -s "$T/l2" ] && ok "UNIQUE clash: rolled back" || bad "UNIQUE clash left records"
expect_in 0 '' $DBE load $C
same "empty load" "$T/out" '0\n'
expect_in 2 '' $DBE load $C -i 3
expect_in 2 '' $DBE load $C extra
seq 1 5000 | awk '{ printf "k%05d\t%d\n", ($1 * 7919) % 5000, $1 }' >"$T/big"
$DBE load $C -i 2 <"$T/big" >"$T/out" 2>"$T/err" && ok "load 5000" || { bad "load 5000"; cat "$T/err"; }
same "load 5000 count" "$T/out" '5000\n'
$DBE list $C -i 2 >"$T/l2"
LC_ALL=C sort "$T/big" | cmp -s - "$T/l2" && ok "load 5000: listed in key order" || bad "load 5000 order"
# compact FILE.ndx: leaves in key order over their own places, the same records
$DBE list $C -i 2 >"$T/l2a"
expect 0 $DBE compact $C -i 2
grep -q "leaves of index 2 lie in key order" "$T/out" && ok "compact FILE.ndx -i 2 says so" || bad "compact -i 2: $(cat "$T/out")"
$DBE list $C -i 2 >"$T/l2b"
cmp -s "$T/l2a" "$T/l2b" && ok "compact FILE.ndx: the same records" || bad "compact FILE.ndx changed the records"
expect 0 $DBE compact $W
grep -q "leaves of every index lie in key order" "$T/out" && ok "compact FILE.ndx: every index" || bad "compact: $(cat "$T/out")"
expect 2 $DBE compact $C -i 9
checkers $C classic
checkers $W wide

finish
