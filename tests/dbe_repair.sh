#!/bin/sh
# dbe repair on healthy files keeps every record, and on damaged ones names
# every record it does not keep: the first record at data position 0 (it
# was taken for a free leaf and dropped without a word), in both layouts,
# in place and with -o; a record at position 0 whose key is all zero too
# (kept, and noted when its next leaf is destroyed); a STRING key without
# its NUL, named with its index, key, data position and leaf.
NAME=dbe_repair; . tests/lib/dbe_test.sh
leaf_at() { # leaf_at FILE INDEX N: position of the N-th leaf (1-based) that dump shows
    $DBE dump "$1" -i "$2" | sed -n '/^leaf chain/,$p' | sed -n "$(($3 + 1))s/^  @\([0-9]*\):.*/\1/p"
}

for layout in classic wide; do
    for how in inplace out; do
        y=$T/y_${layout}_$how.ndx
        $DBE create $y --layout $layout --index string:32 --index block:4 >/dev/null
        $DBE append $y a 0 >/dev/null; $DBE append $y c 9 >/dev/null
        $DBE append $y -i 2 0x00000000 0 >/dev/null; $DBE append $y -i 2 0x00000001 5 >/dev/null
        $DBE list $y -i 2 >"$T/before2"
        if [ $how = out ]; then expect 0 $DBE repair $y -o $T/r.ndx; r=$T/r.ndx
        else expect 0 $DBE repair $y; r=$y; fi
        has "$layout $how: clean" "$T/out" "^check: clean"
        has "$layout $how: nothing dropped" "$T/out" "^records: 0 found but not kept, 0 kept in doubt"
        grep -q "^problem\|^note" "$T/out" && bad "$layout $how: findings on a healthy file" || ok "$layout $how: no findings"
        $DBE list $r >"$T/after"; $DBE list $r -i 2 >"$T/after2"
        same "$layout $how: the record at position 0 is kept" "$T/after" "a\t0\nc\t9\n"
        cmp -s "$T/before2" "$T/after2" && ok "$layout $how: the zero key at position 0 is kept" \
            || bad "$layout $how: index 2 changed"
        rm -f $T/r.ndx
    done
done

# the first record has a free leaf's shape (key 0, position 0) and its next leaf is destroyed:
# the tree still points at it, so it is kept, and the doubt is said
z=$T/z.ndx
$DBE create $z --layout wide --index block:4 >/dev/null
for k in 0 1 2 3; do $DBE append $z 0x0000000$k $k >/dev/null; done
head=$(leaf_at $z 1 1); second=$(leaf_at $z 1 2)
dd if=/dev/zero of=$z bs=1 seek="$second" count=29 conv=notrunc 2>/dev/null
expect 0 $DBE repair $z
has "the doubt is noted" "$T/out" "^note: index 1: offset $head: record 0x00000000 (data position 0, leaf at $head) has a free leaf's shape, but a tree node points at it"
has "the destroyed leaf is reported" "$T/out" "its next leaf at $second fails its checksum or lies outside the file (its record is lost)"
has "counted" "$T/out" "^records: 0 found but not kept, 1 kept in doubt"
$DBE list $z >"$T/l"
same "every intact record is back" "$T/l" "0x00000000\t0\n0x00000002\t2\n0x00000003\t3\n"

# a STRING key without its NUL (12 x's over "aa": the XOR checksum still holds) is named, not kept
x=$T/x.ndx
$DBE create $x --layout classic --index string:12 >/dev/null
for k in a aa b; do $DBE append $x $k 7 >/dev/null; done
p=$(leaf_at $x 1 2)
printf 'xxxxxxxxxxxx' | dd of=$x bs=1 seek=$((p + 13)) conv=notrunc 2>/dev/null
expect 0 $DBE repair $x
has "the record is named" "$T/out" "^problem: index 1: offset $p: record \"xxxxxxxxxxxx\" (data position 7, leaf at $p) is a STRING key without its NUL; it is not kept"
has "counted" "$T/out" "^records: 1 found but not kept, 0 kept in doubt"
has "not counted as recovered" "$T/out" "^index 1 (STRING keysize 12): 2 records recovered"
$DBE list $x >"$T/l"
same "the others are kept" "$T/l" "a\t7\nb\t7\n"
finish
