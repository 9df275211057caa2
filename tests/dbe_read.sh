#!/bin/sh
# dbe's read commands on the fixtures: outputs, exit codes, bad arguments.
NAME=dbe_read; . tests/lib/dbe_test.sh
# manifest of one index, as key<TAB>datapos (classic 0x form kept; wide gets 0x added)
manifest() { # file index wide?
    awk -v ix="$2" -v wide="$3" -F'\t' '
        /^index /{ split($0, a, " "); cur = a[2]; next }
        NF >= 2 && cur == ix { k = $1; if (wide && type[cur] != "STRING") k = "0x" k; print k "\t" $2 }
        ' "$1"
}

# list == manifest for every index (raw form), reverse == reversed
for spec in "classic/l16_test.ndx classic/l16_test.manifest 5 0" \
            "classic/l16_types.ndx classic/l16_types.manifest 7 0" \
            "wide/m64_strings.ndx wide/m64_strings.ndx.manifest 3 1" \
            "wide/m64_empty.ndx wide/m64_empty.ndx.manifest 3 1"; do
    set -- $spec
    i=1
    while [ $i -le "$3" ]; do
        $DBE list "$F/$1" -i $i --raw >"$T/got" || bad "list $1 -i $i failed"
        # STRING keys have no 0x in wide manifests; compare on the datapos column and key text
        awk -F'\t' -v ix=$i '/^index /{split($0,a," "); cur=a[2]; t=$0; next} NF>=2 && cur==ix {print $2}' "$F/$2" >"$T/want.dp"
        cut -f2 "$T/got" >"$T/got.dp"
        if cmp -s "$T/want.dp" "$T/got.dp"; then ok "list $1 -i $i"; else bad "list $1 -i $i differs"; fi
        $DBE list "$F/$1" -i $i --raw --reverse | cut -f2 >"$T/rev.dp"
        if [ "$(tac "$T/rev.dp" | md5sum)" = "$(md5sum <"$T/got.dp")" ]; then ok "reverse $1 -i $i"; else bad "reverse $1 -i $i"; fi
        i=$((i + 1))
    done
done
# classic STRING list text equals the manifest text exactly
$DBE list $F/classic/l16_test.ndx -i 2 >"$T/got"
awk -F'\t' '/^index /{split($0,a," "); cur=a[2]; next} NF>=2 && cur==2 {print $1 "\t" $2}' $F/classic/l16_test.manifest >"$T/want"
if cmp -s "$T/want" "$T/got"; then ok "list text l16_test -i 2"; else bad "list text l16_test -i 2"; fi
# typed keys: INTEGER as decimal, raw as the manifests' hex
$DBE list $F/classic/l16_types.ndx -i 6 | head -1 | grep -q '^-32768	' && ok "INTEGER decimal" || bad "INTEGER decimal"
$DBE list $F/classic/l16_types.ndx -i 6 --raw | head -1 | grep -q '^0x0080	' && ok "INTEGER raw" || bad "INTEGER raw"

# find: found (exit 0, position), duplicates, absent (exit 1), typed keys
expect 0 $DBE find $F/classic/l16_test.ndx -i 1 ahscmx
[ "$(cat $T/out)" = "177" ] && ok "find newest duplicate" || bad "find gave $(cat $T/out)"
expect 0 $DBE find $F/classic/l16_test.ndx -i 1 ahscmx --all
[ "$(tr '\n' ' ' <$T/out)" = "177 164 " ] && ok "find --all" || bad "find --all gave $(cat $T/out)"
expect 1 $DBE find $F/classic/l16_test.ndx -i 1 no-such-key
expect 0 $DBE find $F/classic/l16_types.ndx -i 6 -4000
expect 0 $DBE find $F/classic/l16_types.ndx -i 3 0x64000000
k=$(awk -F'\t' '/^index 3/{on=1;next} /^index/{on=0} on && NF>=2 {print $1; exit}' $F/wide/m64_strings.ndx.manifest)
expect 0 $DBE find $F/wide/m64_strings.ndx -i 3 0x$k
expect 2 $DBE find $F/classic/l16_types.ndx -i 6 40000
expect 2 $DBE find $F/classic/l16_types.ndx -i 6 12abc
expect 2 $DBE find $F/classic/l16_test.ndx -i 1 this-key-is-much-too-long-for-twenty

# check: clean fixtures, the stale real file, heaps; l16_types indexes 4 and
# 7 (out of key order: writes are refused) need repair
for f in classic/l16_test.ndx wide/m64_strings.ndx wide/m64_types.ndx \
         wide/m64_empty.ndx wide/m64_heap.ndx classic/l16_heap.dat wide/m64_heap.dat; do
    expect 0 $DBE check $F/$f
done
expect 1 $DBE check $F/classic/l16_types.ndx
[ "$(grep -c '^problem: index [47]: .*`dbe repair`' $T/out)" = 2 ] && ok "l16_types: 4 and 7 need dbe repair" \
    || { bad "l16_types: problems about indexes 4 and 7"; cat $T/out; }
has "l16_types: the count" "$T/out" "^2 problem(s), 4 note(s)"
cp $F/classic/l16_types.ndx $T/types.ndx
expect 2 $DBE append $T/types.ndx -i 4 1 5
expect 0 $DBE repair $T/types.ndx
expect 0 $DBE check $T/types.ndx
expect 0 $DBE append $T/types.ndx -i 4 1 5
expect 1 $DBE check $F/real/test_index.ndx
grep -q "stale" $T/out && ok "stale infos diagnosed" || bad "no stale diagnosis"

# info, json
expect 0 $DBE info $F/classic/l16_test.ndx
grep -q "layout: classic" $T/out && ok "info layout" || bad "info layout"
expect 0 $DBE info $F/wide/m64_heap.dat --json
python3 -c "import json,sys; d=json.load(open('$T/out')); assert d['kind']=='heap' and d['tables']==16" \
    && ok "info heap json" || bad "info heap json"
expect 0 $DBE info $F/wide/m64_types.ndx --json
python3 -c "import json; d=json.load(open('$T/out')); assert len(d['indexes'])==7 and d['indexes'][6]['levels']==7" \
    && ok "info json" || bad "info json"

# usage and I/O errors
expect 2 $DBE
expect 2 $DBE frobnicate
expect 2 $DBE list
expect 2 $DBE list $F/classic/l16_test.ndx -i 0
expect 2 $DBE list $F/classic/l16_test.ndx -i x
expect 2 $DBE list $F/classic/l16_test.ndx --bogus
expect 2 $DBE list $T/does-not-exist.ndx
expect 2 $DBE info $F/classic/l16_test.ndx --layout sideways
expect 2 $DBE list $F/classic/l16_test.ndx -i 9
expect 1 $DBE list $F/classic/l16_test.ndx --layout wide
expect 1 $DBE info $F/classic/l16_test.manifest
expect 0 $DBE --help
expect 0 $DBE list --help
expect 0 $DBE --version

finish
