#!/bin/sh
# A record store's own files through dbe's index-level commands: every
# write (append, delete, load, load --sorted, import, the session, create
# over a lost index file, repair in place) is refused with a message that
# names the store and its commands, and changes nothing; reads still work;
# dbe --raw lets them write (and break the store). Then dbe repair STORE
# rebuilds the indexes from the records: after raw damage, with STORE.ndx
# lost, with damaged frames; and what check, info and repair say about the
# stores udb 0.1 wrote (tests/fixtures/udb01).
NAME=dbe_store_guard; . tests/lib/dbe_test.sh
err_has() { has "message" "$T/err" "$1"; }
clean() { # clean STORE: dbe check passes
    $DBE check "$1" >"$T/chk" 2>&1 && ok "dbe check $1" || { bad "dbe check $1"; cat "$T/chk"; }
}
unchanged() { # unchanged WHAT: the store's files are as they were
    [ "$(cat $S.ndx $S.dat | md5sum)" = "$sum" ] && ok "$1 changes nothing" || bad "$1 changed the store"
}
refused() { # refused WHAT CMD...: exit 2, the message, nothing changed
    what=$1; shift
    expect 2 "$@"
    err_has "$S.ndx belongs to the record store $S"
    err_has "use dbe put, del, import, compact or repair $S"
    unchanged "$what"
}

S=$T/people
expect 0 $DBE create-store $S --index string:16 --index long_int:4:unique
i=1; while [ $i -le 40 ]; do $DBE put $S name$i $i -- "value $i" >/dev/null; i=$((i + 1)); done
$DBE del $S name7 >/dev/null; $DBE del $S -i 2 12 >/dev/null
sum=$(cat $S.ndx $S.dat | md5sum)

# ---- every index-level write is refused
refused "append" $DBE append $S.ndx zed 99
refused "append -i 2" $DBE append $S.ndx -i 2 77 99
refused "delete" $DBE delete $S.ndx name1
printf 'zed\t99\n' >"$T/lines"
expect_load() { "$@" <"$T/lines" >"$T/out" 2>"$T/err"; echo $?; }
[ "$(expect_load $DBE load $S.ndx)" = 2 ] && ok "load refused" || bad "load not refused"
err_has "$S.ndx belongs to the record store $S"
[ "$(expect_load $DBE load $S.ndx --sorted)" = 2 ] && ok "load --sorted refused" || bad "load --sorted not refused"
printf 'key\tdatapos\nzed\t99\n' >"$T/lines"
[ "$(expect_load $DBE import $S.ndx)" = 2 ] && ok "import to the index file refused" || bad "import not refused"
err_has "use dbe put, del, import, compact or repair $S"
printf 'O\nA zed 99\nX\n' >"$T/lines"
[ "$(expect_load $DBE $S.ndx)" = 2 ] && ok "session refused" || bad "session not refused"
err_has "$S.ndx belongs to the record store $S"
[ "$(expect_load $DBE session $S.ndx)" = 2 ] && ok "dbe session refused" || bad "dbe session not refused"
refused "repair in place" $DBE repair $S.ndx
unchanged "the refusals"
clean $S
mv $S.ndx $T/saved.ndx
expect 2 $DBE create $S.ndx --index string:16 --index long_int:4
err_has "$S.ndx belongs to the record store $S"
[ ! -e $S.ndx ] && ok "create over a lost index file refused" || bad "create made $S.ndx"
mv $T/saved.ndx $S.ndx

# ---- reads, and writes to new files, stay allowed
expect 0 $DBE find $S.ndx name1
expect 0 $DBE list $S.ndx -i 2
expect 0 $DBE check $S.ndx
expect 0 $DBE repair $S.ndx -o $T/copy.ndx
expect 0 $DBE convert $S.ndx $T/conv.ndx --layout classic
unchanged "reading"

# ---- dbe --raw writes the index file itself, and the store no longer checks
expect 0 $DBE --raw append $S.ndx zed 99
expect 0 $DBE --raw delete $S.ndx -i 2 3
expect 1 $DBE check $S
has "the raw writes broke it" "$T/out" "^problem: "
printf 'O\nX\n' | $DBE --raw $S.ndx >"$T/out" 2>"$T/err" && ok "dbe --raw session" || { bad "dbe --raw session"; cat "$T/err"; }

# ---- repair rebuilds every index from the records
expect 0 $DBE repair $S
has "what was wrong" "$T/out" "^problem: "
has "definitions" "$T/out" "^definitions: from the index infos"
has "records" "$T/out" "^records: 38 found in $S.dat and indexed under each of the 2 index(es)"
has "result" "$T/out" "^result: $S.ndx rebuilt from $S.dat in place"
has "clean after" "$T/out" "^clean"
clean $S
expect 0 $DBE get $S -i 2 3
same "the record deleted from index 2 alone is back" "$T/out" "value 3"
expect 1 $DBE get $S zed
expect 1 $DBE get $S name7
expect 0 $DBE repair $S
same "clean: nothing to do" "$T/out" "$S checks clean: nothing to repair\n"

# ---- the index file lost: check says what can be done, repair does it
$DBE export $S >"$T/before"
rm $S.ndx
expect 2 $DBE check $S
has "check says it can be rebuilt" "$T/out" "^rebuild: yes: .*dbe repair $S rebuilds $S.ndx from $S.dat alone"
expect 0 $DBE info $S
has "info: the definitions kept" "$T/out" "^index 2: LONG_INT keysize 4 attrs UNIQUE maxitems 339 (from the store descriptor)"
has "info: descriptor" "$T/out" "^descriptor: version 2, 2 index(es)"
expect 0 $DBE repair $S
has "from the descriptor" "$T/out" "^definitions: from the store descriptor"
clean $S
$DBE export $S | cmp -s - "$T/before" && ok "every record back under every index" || bad "records differ after the rebuild"

# ---- a damaged record: reported with its offset, skipped, the rest rebuilt
pos=$($DBE find $S.ndx name20)
printf 'X' | dd of=$S.dat bs=1 seek=$((pos + 9 + 20 + 16 + 3)) conv=notrunc 2>/dev/null
expect 1 $DBE check $S
expect 0 $DBE repair $S
has "the frame named" "$T/out" "^problem: offset $pos: no sound record at offset $pos (.*crc32)"
has "damage counted" "$T/out" "^damage: 1 unreadable frame(s)"
has "37 records" "$T/out" "^records: 37 found"
clean $S
expect 1 $DBE get $S name20

# ---- a one-index store keeps its key in every record now
O=$T/one
expect 0 $DBE create-store $O --index string:12 --compress
for k in a b c d e; do $DBE put $O $k -- "value of $k $k $k" >/dev/null; done
$DBE del $O c >/dev/null
rm $O.ndx
expect 0 $DBE repair $O
has "one index rebuilt" "$T/out" "^records: 4 found"
expect 0 $DBE scan $O --keys
same "its keys" "$T/out" "a\nb\nd\ne\n"

# ---- stores written by udb 0.1
cp $F/udb01/one_wide.ndx $F/udb01/one_wide.dat $F/udb01/two_classic.ndx $F/udb01/two_classic.dat $T/
expect 0 $DBE info $T/one_wide
has "old one-index store" "$T/out" "^rebuild: no: a one-index store written by udb 0.1 (store descriptor version 1): its records hold no key"
expect 0 $DBE check $T/one_wide
has "check says so too" "$T/out" "^rebuild: no: "
expect 0 $DBE info $T/two_classic
has "old two-index store" "$T/out" "^rebuild: with the definitions: "
has "definitions from the index file" "$T/out" "^index 1: STRING keysize 12 attrs ALLOW_DELETE maxitems 16 (from the index file)"
expect 0 $DBE put $T/one_wide kiwi -- green
expect 0 $DBE get $T/one_wide kiwi
same "an old store still works" "$T/out" "green"
leaf=$($DBE dump $T/one_wide.ndx | sed -n '/^leaf chain/,$p' | sed -n '3s/^  @\([0-9]*\):.*/\1/p')
dd if=/dev/zero of=$T/one_wide.ndx bs=1 seek=$leaf count=20 conv=notrunc 2>/dev/null
expect 1 $DBE check $T/one_wide
expect 1 $DBE repair $T/one_wide
has "repair says why it falls back" "$T/out" "^note: $T/one_wide is a one-index store written by udb 0.1"
has "the leaves repaired" "$T/out" "^result: $T/one_wide.ndx repaired in place"
err_has "hold no key to index them by"
rm $T/two_classic.ndx
expect 2 $DBE repair $T/two_classic
err_has "the index definitions are lost"
expect 0 $DBE repair $T/two_classic --index string:12:delete --index long_int:4:unique
has "from --index" "$T/out" "^definitions: from --index"
has "six records" "$T/out" "^records: 6 found"
clean $T/two_classic
expect 2 $DBE repair $T/one_wide.ndx --index string:16
err_has "--index is for a record store"
finish
