#!/bin/sh
# dbe's repair, convert, dump, dot and stat, the session's S counters, and
# progress on a terminal: outputs, exit codes, bad arguments, the real
# unclosed file (1004 records back, clean, accepted by the independent
# checker, every key found), damaged copies of the fixtures, a damaged
# store, classic <-> wide round trips against the manifests, Graphviz
# parsing dot's output (when installed), stat's numbers against check and
# the heap manifests, and no progress in a pipe.
NAME=dbe_inspect; . tests/lib/dbe_test.sh
TOOLS=tests/tools # the independent checkers (copied from the project's shared/tools)
err_has() { has "message" "$T/err" "$1"; }
clean() { # clean FILE: dbe check passes
    $DBE check "$1" >"$T/chk" 2>&1 && ok "dbe check $1" || { bad "dbe check $1"; cat "$T/chk"; }
}
checker() { # checker classic|wide FILE [MANIFEST]: the independent checker accepts FILE and
    # reads MANIFEST's records from it (wide_check.py compares the MANIFEST it is given;
    # classic_check.py --manifest WRITES what it read: its record lines are compared)
    if [ "$1" = classic ]; then
        rm -f "$T/read.m"
        python3 "$TOOLS/classic_check.py" "$2" --quiet --manifest "$T/read.m" >"$T/py" 2>&1; rc=$?
        if [ $rc = 0 ] && [ -n "${3:-}" ]; then
            grep '	' "$3" >"$T/want.m"
            grep '	' "$T/read.m" | cmp -s - "$T/want.m" || { rc=1; echo "records differ" >>"$T/py"; }
        fi
    else
        python3 "$TOOLS/wide_check.py" "$2" ${3:-} >"$T/py" 2>&1; rc=$?
    fi
    [ $rc = 0 ] && ok "$1 checker: $2 ${3:-}" || { bad "$1 checker: $2 ${3:-}"; tail -5 "$T/py"; }
}
unchanged() { # unchanged WHAT FILE MD5: FILE still has its bytes
    [ "$(md5sum <"$2")" = "$3" ] && ok "$1 unchanged" || bad "$1 changed"
}
lists_equal() { # lists_equal WHAT A B N: every index 1..N of A and B lists the same (--raw)
    i=1; d=0
    while [ $i -le "$4" ]; do
        $DBE list "$2" -i $i --raw >"$T/la" 2>&1; $DBE list "$3" -i $i --raw >"$T/lb" 2>&1
        cmp -s "$T/la" "$T/lb" || { d=1; echo "  index $i differs"; }
        i=$((i + 1))
    done
    [ $d = 0 ] && ok "$1" || bad "$1"
}
leaf_at() { # leaf_at FILE INDEX N: position of the N-th leaf (1-based) that dump shows
    $DBE dump "$1" -i "$2" | sed -n '/^leaf chain/,$p' | sed -n "$(($3 + 1))s/^  @\([0-9]*\):.*/\1/p"
}
zero() { # zero FILE POS LEN
    dd if=/dev/zero of="$1" bs=1 seek="$2" count="$3" conv=notrunc 2>/dev/null
}

FIXSUM=$(cat $F/*/* | md5sum)

# ==== repair ======================================================================================
R=$F/real/test_index.ndx
RSUM=$(md5sum <$R)
expect 0 $DBE repair $R -o $T/real.ndx
unchanged "the source of repair -o" $R "$RSUM"
has "index 1 recovered" "$T/out" "^index 1 (STRING keysize 50): 1004 records recovered; chain in 1 piece(s), 0 break(s)"
for i in 2 3 4 5; do has "index $i empty" "$T/out" "^index $i (STRING keysize 50): 0 records recovered"; done
has "leaves" "$T/out" "^leaves: 1009 found on chains (EOF leaves included), 0 on chains no index claims"
has "result" "$T/out" "^result: written to $T/real.ndx"
has "checked" "$T/out" "^check: clean"
clean $T/real.ndx
checker wide $T/real.ndx
$DBE list $T/real.ndx -i 1 | cut -f1 | sort >"$T/keys"
{ seq 1 1000; printf 'key1\nkey100\nkey20\nkey99\n'; } | sort >"$T/want"
cmp -s "$T/keys" "$T/want" && ok "the 1004 keys: 1..1000 and four words" || bad "recovered keys"
# every key through one session (a process per key took ~15 s), every
# 50th through the find command too
{ echo "C 1"; sed 's/^/F /' "$T/keys"; } | $DBE $T/real.ndx >"$T/sess" 2>&1
found=$(grep -c '^found' "$T/sess")
[ "$found" = 1004 ] && ok "a session finds every key" || { bad "a session found $found of 1004 keys"; grep -v '^found' "$T/sess" | head -5; }
miss=0
while IFS= read -r k; do $DBE find $T/real.ndx -i 1 "$k" >/dev/null || { miss=$((miss + 1)); echo "  missing $k"; }; done <<EOF_KEYS
$(awk 'NR % 50 == 1' "$T/keys")
EOF_KEYS
[ $miss = 0 ] && ok "dbe find finds every 50th key" || bad "$miss key(s) not found"
for i in 2 3 4 5; do
    [ -z "$($DBE list $T/real.ndx -i $i)" ] && ok "index $i lists nothing" || bad "index $i not empty"
done
# in place, in one transaction; a second repair keeps every record
cp $R $T/inplace.ndx
expect 0 $DBE repair $T/inplace.ndx
has "in place" "$T/out" "^result: $T/inplace.ndx repaired in place"
has "sizes" "$T/out" "^size: 382938 bytes before, 318999 after"
clean $T/inplace.ndx
lists_equal "in place == to a new file" $T/inplace.ndx $T/real.ndx 5
expect 0 $DBE repair $T/inplace.ndx
lists_equal "a second repair changes no record" $T/inplace.ndx $T/real.ndx 5
[ -e $T/inplace.ndx.repair-tmp ] && bad "temporary copy left" || ok "no temporary copy left"

# refusals: nothing written, nothing changed
S0=$(md5sum <$T/real.ndx)
expect 2 $DBE repair $R -o $T/real.ndx
err_has "exists; dbe never overwrites a file"
unchanged "an existing OUT" $T/real.ndx "$S0"
expect 2 $DBE repair $T/real.ndx -o $T/real.ndx
err_has "is $T/real.ndx itself (without -o, repair works in place)"
unchanged "FILE given as OUT" $T/real.ndx "$S0"
expect 2 $DBE repair $T/missing.ndx
err_has "cannot open"
expect 2 $DBE repair $T/missing.ndx -o $T/never.ndx
[ -e $T/never.ndx ] && bad "OUT made from a missing file" || ok "no OUT from a missing file"
expect 2 $DBE repair $F/wide/m64_heap.dat -o $T/never.ndx
err_has "is a HeapFile; repair works on MultiIndex files"
[ -e $T/never.ndx ] && bad "OUT made from a heap" || ok "no OUT from a heap"
head -c 5000 /dev/urandom >$T/junk.ndx
JS=$(md5sum <$T/junk.ndx)
expect 1 $DBE repair $T/junk.ndx
err_has "not a MultiIndex file"
unchanged "an unrecognisable file" $T/junk.ndx "$JS"
expect 2 $DBE repair
expect 2 $DBE repair $R extra
expect 2 $DBE repair $R -o
expect 2 $DBE repair $R --bogus

# damage: zeroed tree nodes lose nothing
cp $F/classic/l16_test.ndx $T/nodes.ndx
root=$($DBE dump $T/nodes.ndx -i 2 | sed -n 2p | sed 's/.*root @\([0-9]*\),.*/\1/')
zero $T/nodes.ndx "$root" 40
expect 1 $DBE check $T/nodes.ndx
expect 0 $DBE repair $T/nodes.ndx
has "nothing lost" "$T/out" "^index 2 (STRING keysize 20): 223 records recovered; chain in 1 piece(s), 0 break(s)"
clean $T/nodes.ndx
checker classic $T/nodes.ndx $F/classic/l16_test.manifest
lists_equal "zeroed nodes: every record back" $T/nodes.ndx $F/classic/l16_test.ndx 5
# damage: a destroyed leaf loses its record, reported; the rest comes back
cp $F/wide/m64_strings.ndx $T/leaf.ndx
pos=$(leaf_at $T/leaf.ndx 1 3)
$DBE dump $T/leaf.ndx -i 1 | sed -n '/^leaf chain/,$p' | sed -n 4p | sed 's/^  @[0-9]*: \(.*\) (datapos \([0-9]*\))$/\1\t\2/' >"$T/lost"
zero $T/leaf.ndx "$pos" 20
expect 1 $DBE check $T/leaf.ndx
expect 0 $DBE repair $T/leaf.ndx -o $T/leaf_fixed.ndx
has "the loss is reported" "$T/out" "^problem: index 1: offset [0-9]*: the leaf chain breaks after the leaf at [0-9]*: its next leaf at $pos fails its checksum or lies outside the file (its record is lost)"
[ "$(grep -c 'record is lost' "$T/out")" = 1 ] && ok "one loss reported" || bad "losses reported: $(grep -c 'record is lost' "$T/out")"
has "the break counted" "$T/out" "records recovered; chain in 2 piece(s), 1 break(s)"
clean $T/leaf_fixed.ndx
checker wide $T/leaf_fixed.ndx
$DBE list $F/wide/m64_strings.ndx -i 1 | grep -v -x -F -f "$T/lost" >"$T/want"
$DBE list $T/leaf_fixed.ndx -i 1 >"$T/got"
[ "$(wc -l <"$T/want")" = "$(($(wc -l <"$T/got")))" ] && cmp -s "$T/want" "$T/got" \
    && ok "exactly the destroyed record is missing" || bad "records after a destroyed leaf"
for i in 2 3; do
    $DBE list $F/wide/m64_strings.ndx -i $i --raw >"$T/a"; $DBE list $T/leaf_fixed.ndx -i $i --raw >"$T/b"
    cmp -s "$T/a" "$T/b" && ok "index $i intact" || bad "index $i changed"
done
# damage: the second leaf of a chain (the first keeps only its tree's pointer)
cp $F/classic/l16_test.ndx $T/second.ndx
zero $T/second.ndx "$(leaf_at $T/second.ndx 1 2)" 33
expect 0 $DBE repair $T/second.ndx
has "first leaf kept" "$T/out" "^index 1 (STRING keysize 20): 219 records recovered"
clean $T/second.ndx
[ "$($DBE list $T/second.ndx -i 1 | head -1)" = "$($DBE list $F/classic/l16_test.ndx -i 1 | head -1)" ] \
    && ok "the first record survives" || bad "the first record is lost"

# a store: left alone when clean; else every index rebuilt from the records, then the store check
S=$T/st
$DBE create-store $S --index string:12 --index long_int:4 >/dev/null
i=1; while [ $i -le 30 ]; do $DBE put $S k$i $i -- "value $i" >/dev/null; i=$((i + 1)); done
$DBE export $S >$T/st.tsv
expect 0 $DBE repair $S
same "a clean store is left alone" "$T/out" "$S checks clean: nothing to repair\n"
expect 2 $DBE repair $S -o $T/st2.ndx
err_has "is a record store: it is repaired in place"
zero $S.ndx "$(leaf_at $S.ndx 2 2)" 29
expect 0 $DBE repair $S
has "the check before names the record" "$T/out" "^problem: offset [0-9]*: index 2 has no entry for the record at"
has "store rebuilt" "$T/out" "^result: $S.ndx rebuilt from $S.dat in place"
has "every record re-indexed" "$T/out" "^index 2: 30 records"
has "store checked" "$T/out" "^store: $S.ndx + $S.dat, 2 index(es)"
has "store clean" "$T/out" "^clean"
expect 0 $DBE get $S -i 2 2
same "the lost entry is back" "$T/out" "value 2"
# a store for stat below: the records exported before the damage
$DBE create-store $T/st3 --index string:12 --index long_int:4 >/dev/null
expect 0 $DBE import $T/st3 <$T/st.tsv
same "every record re-imported" "$T/out" "30\n"
clean $T/st3

# ==== convert ======================================================================================
# classic -> wide -> classic keeps every manifest
expect 0 $DBE convert $F/classic/l16_test.ndx $T/c2w.ndx --layout wide
has "converted" "$T/out" "^$F/classic/l16_test.ndx -> $T/c2w.ndx: wide layout, 5 index(es)"
has "index 3 copied" "$T/out" "^index 3: STRING keysize 20 maxitems 3: 220 records"
has "checked" "$T/out" "^check: clean"
checker wide $T/c2w.ndx $F/classic/l16_test.manifest
expect 0 $DBE convert $T/c2w.ndx $T/w2c.ndx --layout classic
checker classic $T/w2c.ndx $F/classic/l16_test.manifest
lists_equal "l16_test round trip" $T/w2c.ndx $F/classic/l16_test.ndx 5
# wide -> classic -> wide
for f in m64_types m64_empty m64_heap; do
    n=$($DBE info $F/wide/$f.ndx | sed -n 's/^indexes: //p')
    expect 0 $DBE convert $F/wide/$f.ndx $T/$f.c.ndx --layout classic
    checker classic $T/$f.c.ndx
    expect 0 $DBE convert $T/$f.c.ndx $T/$f.w.ndx --layout wide
    checker wide $T/$f.w.ndx $F/wide/$f.ndx.manifest
    lists_equal "$f round trip" $T/$f.w.ndx $F/wide/$f.ndx "$n"
done
# l16_types: the indexes the original left out of key order come back sorted
expect 0 $DBE convert $F/classic/l16_types.ndx $T/t2w.ndx --layout wide
has "the original's disorder noted" "$T/out" "^note: index 4: the original left this index out of key order; the copy is sorted"
expect 0 $DBE convert $T/t2w.ndx $T/t2c.ndx --layout classic
clean $T/t2c.ndx
i=1; d=0
while [ $i -le 7 ]; do
    $DBE list $F/classic/l16_types.ndx -i $i --raw | sort >"$T/a"; $DBE list $T/t2c.ndx -i $i --raw | sort >"$T/b"
    cmp -s "$T/a" "$T/b" || d=1; i=$((i + 1))
done
[ $d = 0 ] && ok "l16_types round trip: the same records" || bad "l16_types round trip"
# another node order keeps every record
expect 0 $DBE convert $F/wide/m64_types.ndx $T/order.ndx --maxitems 4
has "maxitems" "$T/out" "^index 1: BLOCK keysize 8 maxitems 4: "
checker wide $T/order.ndx $F/wide/m64_types.ndx.manifest
# a larger key size for STRING keys
expect 0 $DBE convert $F/classic/l16_test.ndx $T/wider.ndx --keysize 32
has "keysize" "$T/out" "^index 1: STRING keysize 32 maxitems 7: 220 records"
checker classic $T/wider.ndx $F/classic/l16_test.manifest
# positions beyond 32 bits do not fit the classic layout: refused, nothing left
expect 2 $DBE convert $F/wide/m64_strings.ndx $T/range.ndx --layout classic
err_has "does not fit the classic layout (positions and sizes of the classic layout have 32 bits"
ls $T/range.ndx* >/dev/null 2>&1 && bad "a refused conversion left files" || ok "a refused conversion leaves nothing"
# refusals
S0=$(md5sum <$T/c2w.ndx)
expect 2 $DBE convert $F/classic/l16_test.ndx $T/c2w.ndx
err_has "exists; dbe never overwrites a file"
unchanged "an existing OUT" $T/c2w.ndx "$S0"
expect 2 $DBE convert $T/c2w.ndx $T/c2w.ndx
err_has "itself"
expect 1 $DBE convert $R $T/stale.ndx
err_has "stale infos; run dbe repair first"
expect 2 $DBE convert $F/wide/m64_types.ndx $T/small.ndx --keysize 2
err_has "does not fit"
ls $T/small.ndx* >/dev/null 2>&1 && bad "a failed conversion left files" || ok "a failed conversion leaves nothing"
expect 2 $DBE convert $F/wide/m64_types.ndx $T/bad.ndx --maxitems 2
err_has "max items 2 is invalid"
expect 2 $DBE convert $F/wide/m64_types.ndx $T/bad.ndx --layout sideways
expect 2 $DBE convert $F/wide/m64_types.ndx $T/bad.ndx --maxitems 0
expect 2 $DBE convert $F/wide/m64_types.ndx $T/bad.ndx --keysize x
expect 2 $DBE convert $F/wide/m64_types.ndx
expect 2 $DBE convert $T/missing.ndx $T/bad.ndx
expect 2 $DBE convert $F/classic/l16_heap.dat $T/bad.ndx
err_has "is a HeapFile; convert works on MultiIndex files"
expect 2 $DBE convert $S $T/bad.ndx
err_has "is a record store"
ls $T/bad.ndx* >/dev/null 2>&1 && bad "refusals left files" || ok "refusals leave nothing"

# ==== dump ========================================================================================
E=$F/wide/m64_empty.ndx
expect 0 $DBE dump $E -i 3
same "dump of a small tree" "$T/out" "index 3 of $E: STRING keysize 6 maxitems 4, wide layout
1 level(s), 1 node(s), 3 record(s); root @712, first leaf @924, EOF leaf @862
level 1 (the root; its children are leaves): 1 node(s), 4 of 4 item slots used
  @712 [4/4]: a -> @924 | b -> @893 | c -> @2013 | EOF -> @862
leaf chain: 3 record(s), then the EOF leaf
  @924: a (datapos 1)
  @893: b (datapos 2)
  @2013: c (datapos 3)
  @862: EOF\n"
expect 0 $DBE dump $F/classic/l16_test.ndx -i 3
has "header" "$T/out" "^6 level(s), 131 node(s), 220 record(s); root @108585"
has "root level" "$T/out" "^level 6 (the root): 1 node(s), 2 of 3 item slots used"
has "root node" "$T/out" "^  @108585 \[2/3\]: enkhnshqb -> @28337 | EOF -> @108502"
has "bottom level" "$T/out" "^level 1 (the bottom; its children are leaves): 79 node(s), 186 of 237 item slots used"
has "long level cut" "$T/out" "^  ... 73 more node(s) ...$"
has "long chain cut" "$T/out" "^  ... 210 more leaves ...$"
has "summary note" "$T/out" "^(summarised: dbe dump --all shows every node and leaf)"
[ "$(grep -c '^  @' "$T/out")" = $((1 + 2 + 5 + 6 + 6 + 6 + 11)) ] && ok "summarised: 3 nodes at each end, 5 leaves" \
    || bad "summarised dump shows $(grep -c '^  @' "$T/out") lines"
expect 0 $DBE dump $F/classic/l16_test.ndx -i 3 --all
[ "$(grep -c '^  @[0-9]* \[' "$T/out")" = 131 ] && ok "--all: every node" || bad "--all nodes"
[ "$(grep -c '^  @[0-9]*: ' "$T/out")" = 221 ] && ok "--all: every leaf" || bad "--all leaves"
grep -q 'more' "$T/out" && bad "--all cut something" || ok "--all cuts nothing"
# the chain dump --all shows is the list
$DBE dump $F/classic/l16_test.ndx -i 2 --all | sed -n '/^leaf chain/,$p' | sed '1d;$d' \
    | sed 's/^  @[0-9]*: \(.*\) (datapos \([0-9]*\))$/\1\t\2/' >"$T/a"
$DBE list $F/classic/l16_test.ndx -i 2 >"$T/b"
cmp -s "$T/a" "$T/b" && ok "dump's leaf chain == list" || bad "dump's leaf chain != list"
expect 0 $DBE dump $F/wide/m64_types.ndx -i 7
has "7 levels" "$T/out" "^7 level(s)"
expect 0 $DBE dump $E -i 1
has "an empty index" "$T/out" "^  @204 \[1/4\]: EOF -> @386"
expect 2 $DBE dump $E -i 9
err_has "no index 9 (the file has 3)"
expect 2 $DBE dump $E -i 0
expect 2 $DBE dump $E -i x
expect 1 $DBE dump $R
err_has "dbe repair"
expect 2 $DBE dump $T/missing.ndx
expect 1 $DBE dump $F/wide/m64_heap.dat
expect 2 $DBE dump $E --json
expect 2 $DBE dump

# ==== dot =========================================================================================
expect 0 $DBE dot $E -i 3
has "digraph" "$T/out" "^digraph udb_index {"
has "the node with its ports" "$T/out" '^  n712 \[label="<i0> a|<i1> b|<i2> c|<i3> EOF"\];'
has "an edge to a leaf" "$T/out" "^  n712:i3:s -> l862;"
has "a leaf" "$T/out" '^    l924 \[shape=box, style=rounded, label="a\\n1"\];'
has "the chain" "$T/out" "^    l2013 -> l862 \[color=gray50\];"
[ "$(tail -1 "$T/out")" = "}" ] && ok "closed" || bad "dot output not closed"
expect 0 $DBE dot $F/classic/l16_test.ndx -i 3
cp "$T/out" $T/summary.dot
[ "$(grep -c '^  n[0-9]* \[label' $T/summary.dot)" = 52 ] && ok "summarised: the levels that fit in 60 nodes" \
    || bad "summarised dot draws $(grep -c '^  n[0-9]* \[label' $T/summary.dot) nodes"
has "what is not drawn" $T/summary.dot 'more \[shape=note, label="level 1: 79 node(s)\\n220 record(s)'
expect 0 $DBE dot $F/classic/l16_test.ndx -i 3 --all
cp "$T/out" $T/all.dot
[ "$(grep -c '^  n[0-9]* \[label' $T/all.dot)" = 131 ] && ok "--all: every node" || bad "--all nodes"
[ "$(grep -c '^    l[0-9]* \[' $T/all.dot)" = 221 ] && ok "--all: every leaf" || bad "--all leaves"
# keys with the characters dot treats specially
$DBE create $T/odd.ndx --index string:12:none:3 >/dev/null
printf 'a|b\t1\n{x}\t2\n<y>\t3\nq"q\t4\nb\\\\s\t5\nsp ace\t6\n' | $DBE load $T/odd.ndx >/dev/null
expect 0 $DBE dot $T/odd.ndx
cp "$T/out" $T/odd.dot
if command -v dot >/dev/null 2>&1; then
    for g in $T/summary.dot $T/all.dot $T/odd.dot; do
        dot -Tsvg "$g" >"$T/g.svg" 2>"$T/g.err" && [ ! -s "$T/g.err" ] && grep -q '<svg' "$T/g.svg" \
            && ok "Graphviz draws $(basename $g)" || { bad "Graphviz on $g"; head -5 "$T/g.err"; }
    done
    $DBE dot $E -i 3 | dot -Tpng >"$T/tree.png" && [ -s "$T/tree.png" ] && ok "dbe dot | dot -Tpng" || bad "dot -Tpng"
    dot -Tplain $T/odd.dot | grep -q 'a|b' && ok "special characters drawn as they are" || bad "special characters"
else
    ok "Graphviz not installed: drawing skipped"
fi
expect 1 $DBE dot $R
expect 2 $DBE dot $E -i 4
expect 2 $DBE dot $T/missing.ndx

# ==== stat ========================================================================================
L=$F/classic/l16_test.ndx
expect 0 $DBE stat $L
has "file" "$T/out" "^file: $L (MultiIndex, classic layout, 128498 bytes)"
has "index 3" "$T/out" "^index 3: STRING keysize 20 maxitems 3 (node 83 bytes, leaf 33 bytes)"
has "records" "$T/out" "^  records 220, distinct keys 185, levels 6, nodes 131"
has "nodes per level" "$T/out" "^  nodes per level from the root: 1 2 5 12 32 79$"
has "fill" "$T/out" "^  fill per level from the root: 66.7% 83.3% 80.0% 88.9% 82.3% 78.5%; 80.4% of all item slots"
has "free blocks" "$T/out" "^  leaves 221 (the EOF leaf included), free nodes 19, free leaves 79"
has "bytes" "$T/out" "^  bytes used 18166; wasted 6032 (free nodes and leaves 4184, empty item slots 1848)"
has "header" "$T/out" "^header and index infos: 198 bytes; bytes no index reaches: 0"
expect 0 $DBE stat $L --json
cp "$T/out" $T/stat.json
python3 -m json.tool $T/stat.json >/dev/null && ok "stat --json is JSON" || bad "stat --json is not JSON"
$DBE check $L >$T/check.txt
python3 - $T/stat.json $T/check.txt <<'EOF' && ok "stat --json agrees with check and adds up" || bad "stat --json numbers"
import json, re, sys
s = json.load(open(sys.argv[1]))
chk = {}
for line in open(sys.argv[2]):
    m = re.match(r'index (\d+): (\d+) records, (\d+) distinct keys, (\d+) levels, (\d+) nodes, (\d+) leaves, (\d+) free nodes, (\d+) free leaves', line)
    if m:
        chk[int(m.group(1))] = [int(g) for g in m.groups()[1:]]
blocks = 0
for x in s['indexes']:
    want = chk[x['index']]
    got = [x['records'], x['distinct'], x['levels'], x['nodes'], x['leaves'], x['free_nodes'], x['free_leaves']]
    assert got == want, (x['index'], got, want)
    assert sum(x['nodes_per_level']) == x['nodes'] and len(x['nodes_per_level']) == x['levels']
    assert x['bytes_used'] == x['nodes'] * x['node_size'] + x['leaves'] * x['leaf_size']
    slots = sum(x['nodes_per_level']) * x['maxitems'] - sum(x['items_per_level'])
    assert x['bytes_slack'] == slots * (x['keysize'] + 4)
    blocks += x['bytes_used'] + x['bytes_free']
assert s['header_bytes'] + blocks + s['unaccounted_bytes'] == s['size'] == 128498
assert s['layout'] == 'classic' and s['problems'] == 0 and len(s['indexes']) == 5
EOF
# heaps: live bytes and holes against the manifest (lost holes count as live: udb cannot see them)
H=$F/wide/m64_heap.dat
expect 0 $DBE stat $H --json
python3 - "$T/out" $H.manifest <<'EOF' && ok "heap stat == manifest" || bad "heap stat"
import json, sys
s = json.load(open(sys.argv[1]))
live = lost = 0; holes = []
for line in open(sys.argv[2], encoding='latin-1'):
    f = line.rstrip('\n').split('\t')
    if f[0] == 'live': live += int(f[3])
    if f[0] == 'lost': lost += int(f[4])
    if f[0] == 'hole': holes.append(int(f[4]))
assert s['kind'] == 'heap' and s['tables'] == 16 and s['header_bytes'] == 11
assert s['holes'] == len(holes) == 46 and s['hole_bytes'] == sum(holes) and s['largest_hole'] == max(holes)
assert s['live_bytes'] == live + lost, (s['live_bytes'], live, lost)
EOF
expect 0 $DBE stat $F/classic/l16_heap.dat
same "classic heap stat" "$T/out" "file: $F/classic/l16_heap.dat (HeapFile, classic layout, 324 bytes)
  live bytes 123 (records and anything else that is no hole, holes table or header)
  holes 5, 77 bytes, the largest 33 bytes
  holes tables 3, 117 bytes; header 7 bytes
  first holes table 207, 4 slots per table (39 bytes each)\n"
# a store: both files
expect 0 $DBE stat $T/st3 --json
python3 -c "import json,sys; d=json.load(open('$T/out')); assert d['kind']=='store' and d['index_file']['indexes'][1]['records']==30 and d['heap_file']['kind']=='heap'" \
    && ok "store stat --json" || bad "store stat --json"
expect 0 $DBE stat $T/st3
has "store" "$T/out" "^store: $T/st3 ($T/st3.ndx + $T/st3.dat)"
# damaged and unreadable
expect 1 $DBE stat $R
has "unreadable tree" "$T/out" "^  tree unreadable: index 1: the index info records no tree"
has "problems" "$T/out" "^problems: 6 (dbe check lists them)"
expect 1 $DBE stat $R --json
python3 -m json.tool "$T/out" >/dev/null && ok "stat --json of a damaged file is JSON" || bad "damaged stat json"
expect 2 $DBE stat $T/missing.ndx
expect 2 $DBE stat $L -i 1
expect 2 $DBE stat

# ==== the session's S: cache and write counters =================================================
cp $F/wide/m64_empty.ndx $T/sess.ndx
printf 'O\nA x\nS\n' | $DBE $T/sess.ndx >"$T/out" 2>"$T/err"
has "cache line" "$T/out" "^node cache: [0-9]* hit(s), [0-9]* miss(es) ([0-9.]*% hits)"
has "write line" "$T/out" "^written: [1-9][0-9]* page(s) in 1 commit(s), [1-9][0-9]* journal page(s), 0 spill(s)"

# ==== progress: on a terminal (or DBE_PROGRESS=1), never in a pipe =================================
B=$T/big.ndx
$DBE create $B --index long_int:4 >/dev/null
seq 1 20000 | awk '{print $1 "\t" $1}' >$T/big.tsv
$DBE load $B --sorted <$T/big.tsv >/dev/null
$DBE create-store $T/bs --index long_int:4 >/dev/null
seq 1 5000 | awk 'BEGIN{print "k1\tv"} {print $1 "\tv" $1}' >$T/bs.tsv
$DBE import $T/bs --sorted <$T/bs.tsv >/dev/null
$DBE del $T/bs 7 >/dev/null
quiet() { # quiet WHAT CMD...: nothing on stderr in a pipe
    what=$1; shift
    "$@" >/dev/null 2>"$T/perr"
    [ ! -s "$T/perr" ] && ok "no progress in a pipe: $what" || { bad "stderr in a pipe: $what"; od -c "$T/perr" | head -3; }
}
shows() { # shows PHASE CMD...: DBE_PROGRESS=1 draws PHASE on stderr
    ph=$1; shift
    DBE_PROGRESS=1 "$@" >/dev/null 2>"$T/perr"
    grep -q "$ph: [0-9]" "$T/perr" && ok "progress: $ph" || { bad "no progress for $ph"; od -c "$T/perr" | head -3; }
}
quiet check $DBE check $B
quiet repair $DBE repair $B -o $T/bq.ndx
quiet convert $DBE convert $B $T/bq2.ndx --layout classic
quiet compact $DBE compact $T/bs
$DBE create $T/lq.ndx --index long_int:4 >/dev/null
$DBE create $T/lp.ndx --index long_int:4 >/dev/null
quiet load sh -c "$DBE load $T/lq.ndx <$T/big.tsv"
quiet N sh -c "printf 'C\nN 3000\nX\n' | $DBE $T/nq.ndx"
shows check $DBE check $B
shows "check heap" $DBE check $T/bs
shows "repair scan" $DBE repair $B -o $T/bp.ndx
shows "repair write" $DBE repair $B -o $T/bp2.ndx
shows "convert read" $DBE convert $B $T/bp3.ndx --layout classic
shows "convert write" $DBE convert $B $T/bp4.ndx --layout classic
$DBE del $T/bs 9 >/dev/null
shows compact $DBE compact $T/bs
shows load sh -c "$DBE load $T/lp.ndx <$T/big.tsv"
shows N sh -c "printf 'C\nN 3000\nX\n' | $DBE $T/np.ndx"
cmp -s $T/bq.ndx $T/bp.ndx && cmp -s $T/bq2.ndx $T/bp3.ndx && ok "progress changes no byte of the results" \
    || bad "results differ with progress"
if command -v script >/dev/null 2>&1; then
    script -qc "$DBE repair $B -o $T/tty.ndx" /dev/null >"$T/tty" 2>&1
    grep -q "repair write: [0-9]" "$T/tty" && ok "a terminal gets progress" || { bad "no progress on a terminal"; head -c 300 "$T/tty"; }
else
    ok "script(1) not installed: terminal test skipped"
fi

# ==== help and the man page name every new command =================================================
$DBE --help >"$T/help"
for c in repair convert dump dot stat; do
    grep -q "dbe $c " "$T/help" && ok "--help: $c" || bad "--help lacks $c"
    $DBE $c --help >"$T/h1" && grep -q "usage: dbe $c" "$T/h1" && ok "dbe $c --help" || bad "dbe $c --help"
    grep -q "^\.B $c " doc/dbe.1 && ok "dbe.1: $c" || bad "dbe.1 lacks $c"
done

[ "$(cat $F/*/* | md5sum)" = "$FIXSUM" ] && ok "the fixtures are unchanged" || bad "a fixture changed"
finish
