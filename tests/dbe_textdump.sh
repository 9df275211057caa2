#!/bin/sh
# dbe textdump / textload: dump -> load into a new file -> dump again gives
# the same bytes, the new file checks clean and holds every record (stores
# of both layouts, compressed, several indexes, binary keys and values;
# index files with several indexes, undefined ones and duplicates; the
# fixtures); hostile dumps are refused with their line and leave no file.
NAME=dbe_textdump; . tests/lib/dbe_test.sh
err_has() { has "message" "$T/err" "$1"; }

# round_trip SRC NEW: dump SRC, load NEW, dump NEW, compare; check NEW
round_trip() {
    $DBE textdump "$1" >"$T/d1" 2>"$T/err" || { bad "textdump $1"; cat "$T/err"; return; }
    $DBE textload "$2" "$T/d1" >"$T/out" 2>"$T/err" || { bad "textload $2"; cat "$T/err"; return; }
    $DBE textdump "$2" >"$T/d2" || bad "textdump $2"
    cmp -s "$T/d1" "$T/d2" && ok "$1: dump -> load -> dump is the same" || { bad "$1: dumps differ"; diff "$T/d1" "$T/d2" | head; }
    $DBE check "$2" >"$T/chk" 2>&1 && ok "$2: check clean" || { bad "$2: check"; cat "$T/chk"; }
}
same_store() { # same_store A B N: every record of A in B, in every index's order (as sets)
    for i in $(seq 1 $3); do
        $DBE export "$1" -i $i --format jsonl | sort >"$T/ra"
        $DBE export "$2" -i $i --format jsonl | sort >"$T/rb"
        cmp -s "$T/ra" "$T/rb" && ok "index $i: every record equal" || bad "$1 / $2 index $i: records differ"
    done
    $DBE export "$1" --format jsonl >"$T/ra"; $DBE export "$2" --format jsonl >"$T/rb"
    cmp -s "$T/ra" "$T/rb" && ok "index 1 order kept" || bad "index 1 order differs"
}
same_file() { # same_file A B: every index lists the same, in the same order
    n=$($DBE info "$1" | grep -c '^index [0-9]*:')
    for i in $(seq 1 $n); do
        $DBE list "$1" -i $i >"$T/la" 2>/dev/null; $DBE list "$2" -i $i >"$T/lb" 2>/dev/null
        cmp -s "$T/la" "$T/lb" && ok "$1 index $i: same records in the same order" || bad "$1 index $i differs"
    done
}

# ---- stores
S=$T/s
$DBE create-store $S --compress --index string:12:unique --index long_int:4 --index block:3:delete >/dev/null
put() { $DBE put "$@" >/dev/null || bad "put $*"; }
put $S 'a b' 1 'x\x00y' -- 'hello world'
put $S '' 2 0x000000 -- ''
put $S 'q"\\\t' -5 abc -- "$(printf 'bin\001\377')"
put $S z 2 abc -- dup2
put $S 'caf\xe9' 2 abc -- 'latin-1'
put $S '\x7f\x80\xff' 0 0xffffff -- '\'
head -c 100000 /dev/urandom >"$T/big"
$DBE put $S big 7 abc -- - <"$T/big" >/dev/null
round_trip $S $T/n
same_store $S $T/n 3
$DBE get $T/n big | cmp -s - "$T/big" && ok "a 100 kB binary value" || bad "big value"
head -12 "$T/d1" >"$T/h"
same "the header" "$T/h" 'format=udb-textdump\nversion=1\nkind=store\nlayout=wide\nindexes=3\ncompress=yes\ntable_slots=256\nindex=1 STRING:12:UNIQUE:203 create_nodes=16 create_leaves=64\nindex=2 LONG_INT:4:none:339 create_nodes=16 create_leaves=64\nindex=3 BLOCK:3:ALLOW_DELETE:370 create_nodes=16 create_leaves=64\nHEADER=END\n "" \\02 "" ""\n'
has "escapes" "$T/d1" '^ q\\22\\5c\\09 \\fb\\ff\\ff\\ff abc bin\\01\\ff$'
$DBE info $T/n | grep -q "compressed" && ok "compression kept" || true
C=$T/c
$DBE create-store $C --layout classic --index integer:2 --index string:20:unique+delete:5 >/dev/null
for i in $(seq 1 60); do put $C $((i % 7)) "k$i" -- "value $i"; done
$DBE del $C -i 2 k13 >/dev/null || bad "del"
round_trip $C $T/cn
same_store $C $T/cn 2
grep -q '^layout=classic$' "$T/d1" && ok "classic layout kept" || bad "layout"
$DBE create-store $T/e --index num_block:8 >/dev/null
round_trip $T/e $T/en
same "an empty store" "$T/out" '0\n'

# ---- index files
X=$T/x.ndx
$DBE create $X --index string:8 --index integer:2:unique --index num_block:3 --index character:1 >/dev/null
printf 'b\t5\na\t7\nb\t9\nb\t1\n\t3\n' | $DBE load $X >/dev/null
printf '3\t1\n-2\t2\n' | $DBE load $X -i 2 >/dev/null
printf 'x\t4000000000\n' | $DBE load $X -i 4 >/dev/null
round_trip $X $T/xn.ndx
cp "$T/d1" "$T/good"
same_file $X $T/xn.ndx
grep -q '^ b 1$' "$T/d1" && grep -q '^ \\03 1$' "$T/d1" && ok "keys and data positions" || bad "records in the dump"
for f in $F/classic/l16_test.ndx $F/classic/l16_types.ndx $F/wide/m64_types.ndx $F/wide/m64_strings.ndx \
         $F/wide/m64_empty.ndx $F/real/test_index.ndx; do
    $DBE check $f >/dev/null 2>&1 || continue
    b=$(basename $f)
    round_trip $f $T/fx-$b
    same_file $f $T/fx-$b
done
# a file with an undefined index
$DBE create $T/u.ndx --index string:4 >/dev/null
printf 'format=udb-textdump\nversion=1\nkind=index-file\nlayout=wide\nindexes=2\nindex=1 undefined\nindex=2 LONG_INT:4:none:16 create_nodes=3 create_leaves=5\nHEADER=END\nINDEX=2\n \\01 9\n \\02 8\nDATA=END\n' >"$T/ud"
expect 0 $DBE textload $T/ud.ndx "$T/ud"
$DBE textdump $T/ud.ndx | cmp -s - "$T/ud" && ok "undefined index and batch sizes kept" || bad "undefined index"

# ---- hostile dumps: refused with the line, no file left
bad_dump() { # bad_dump MESSAGE: textload of $T/bd fails with MESSAGE, leaves nothing
    rm -f $T/bn.ndx*
    expect 2 $DBE textload $T/bn.ndx "$T/bd"
    err_has "$1"
    [ -z "$(ls $T/bn.ndx* 2>/dev/null)" ] && ok "no file left" || bad "a failed textload left $(ls $T/bn.ndx*)"
}
printf 'hello\n' >"$T/bd"; bad_dump "line 1: not a dbe text dump"
sed 's/^version=1$/version=2/' "$T/good" >"$T/bd"; bad_dump "line 2: not version 1"
sed '/^HEADER=END$/,$d' "$T/good" >"$T/bd"; bad_dump "the dump ends before HEADER=END"
sed '$d' "$T/good" >"$T/bd"; bad_dump "the dump ends before DATA=END"
head -n -3 "$T/good" >"$T/bd"; bad_dump "the dump ends before INDEX=4"
{ cat "$T/good"; echo extra; } >"$T/bd"; bad_dump "text after the last DATA=END"
sed 's/^ b 1$/ b 1 2/' "$T/good" >"$T/bd"; bad_dump "more than 2 field(s)"
sed 's/^ b 1$/ b\\zz 1/' "$T/good" >"$T/bd"; bad_dump "field 1 is not printable text"
sed 's/^ b 1$/ b -1/' "$T/good" >"$T/bd"; bad_dump "the data position is not a decimal number"
sed 's/^ b 1$/ toolongkey 1/' "$T/good" >"$T/bd"; bad_dump "does not fit index 1"
sed 's/^ a 7$/ c 7/' "$T/good" >"$T/bd"; bad_dump "order"
sed 's/^indexes=4$/indexes=99999/' "$T/good" >"$T/bd"; bad_dump "indexes=99999 is not a number 0..65535"
sed 's/^index=2 .*/index=1 STRING:8:none:16 create_nodes=16 create_leaves=64/' "$T/good" >"$T/bd"; bad_dump "not an index 1..4 given once"
sed 's/^index=3 .*/index=3 NUM_BLOCK:3:none:16/' "$T/good" >"$T/bd"; bad_dump "create_nodes=N create_leaves=N must follow"
sed 's/^index=3 .*/index=3 NUM_BLOCK:99999:none:16 create_nodes=1 create_leaves=1/' "$T/good" >"$T/bd"; bad_dump "index 3: key size"
sed 's/^index=3 .*/index=3 undefined/' "$T/good" >"$T/bd"; bad_dump "INDEX=4 expected"
sed '/^index=3 /d' "$T/good" >"$T/bd"; bad_dump "no index=3 line"
sed 's/^layout=wide$/layout=round/' "$T/good" >"$T/bd"; bad_dump "'layout=round' is not a header line"
sed 's/^kind=index-file$/kind=store/' "$T/ud" >"$T/bd"; bad_dump "line 6: a store's indexes are all defined"
rm -f $T/exists.ndx; cp $X $T/exists.ndx; before=$(md5sum <$T/exists.ndx)
expect 2 $DBE textload $T/exists.ndx "$T/good"
err_has "exists"
[ "$(md5sum <$T/exists.ndx)" = "$before" ] && ok "an existing file is left alone" || bad "an existing file changed"
$DBE textdump $S >"$T/sd"
sed 's/^ z \\02 abc dup2$/ z \\02 abc/' "$T/sd" >"$T/bd"
expect 2 $DBE textload $T/sn2 "$T/bd"
err_has "a record of 4 field(s)"
[ -z "$(ls $T/sn2.* 2>/dev/null)" ] && ok "a failed store load leaves no file" || bad "store files left: $(ls $T/sn2.*)"
printf 'x.dat\n' >$T/sn3.dat
expect 2 $DBE textload $T/sn3 "$T/sd"
[ "$(cat $T/sn3.dat)" = x.dat ] && [ ! -e $T/sn3.ndx ] && ok "an existing NAME.dat is left alone" || bad "NAME.dat touched"
expect 2 $DBE textload
expect 2 $DBE textload $T/a $T/b $T/c
expect 2 $DBE textload $T/a $T/missing
expect 2 $DBE textdump $T/missing
expect 2 $DBE textdump $S extra

# ---- help and the man page name the new commands
$DBE --help >"$T/help"
for c in textdump textload backup; do
    grep -q "dbe $c " "$T/help" && ok "--help: $c" || bad "--help lacks $c"
    $DBE $c --help >"$T/h1" && grep -q "usage: dbe $c" "$T/h1" && ok "dbe $c --help" || bad "dbe $c --help"
    grep -q "^\.B $c " doc/dbe.1 && ok "dbe.1: $c" || bad "dbe.1 lacks $c"
done
finish
