#!/bin/sh
# dbe import of ordinary CSV / TSV files through a column mapping (--csv,
# --tsv, --header, --key, --value): RFC 4180 quoting, CRLF, byte order
# mark, numbers, errors naming line and column, nothing committed on a bad
# row; export's JSON lines parsed by a JSON parser for binary keys and
# values (and read back); export --format copy (PostgreSQL COPY text) and
# its refusal of fields that are not text.
NAME=dbe_xfer; . tests/lib/dbe_test.sh
err_has() { has "message" "$T/err" "$1"; }
sum() { cat "$1.ndx" "$1.dat" | md5sum; }

# ---- import --csv: header, names, quoting, CRLF, BOM, the record as the value
S=$T/s
$DBE create-store $S --index string:24 --index long_int:4 >/dev/null
printf '\357\273\277name,id,note\r\n"Smith, J", 7 ,"said ""hi""\r\nthen left"\r\nO"Brien,2,plain\r\n\r\nx,-3,\n' >"$T/a.csv"
expect 0 $DBE import $S "$T/a.csv" --csv --header --key name --key id
same "three rows" "$T/out" '3\n'
expect 0 $DBE export $S --format jsonl
same "keys and whole records" "$T/out" \
'{"k1": "O\\"Brien", "k2": 2, "v": "TyJCcmllbiwyLHBsYWlu"}
{"k1": "Smith, J", "k2": 7, "v": "IlNtaXRoLCBKIiwgNyAsInNhaWQgIiJoaSIiDQp0aGVuIGxlZnQi"}
{"k1": "x", "k2": -3, "v": "eCwtMyw="}
'
expect 0 $DBE get $S 'Smith, J'
printf '"Smith, J", 7 ,"said ""hi""\r\nthen left"' | cmp -s - "$T/out" && ok "the value is the record as read" || bad "record value"

# columns by number, --value, TSV with quotes, the standard input
S2=$T/s2
$DBE create-store $S2 --index long_int:4 --index string:8 >/dev/null
printf '10\tb\t"tab\there"\n11\ta\t"two\nlines"\n12\tc\tq"uote\n' >"$T/b.tsv"
expect 0 sh -c "$DBE import $S2 - --tsv --key 1 --key 2 --value 3 <$T/b.tsv"
same "TSV rows" "$T/out" '3\n'
$DBE get $S2 10 >"$T/v"; same "quoted TAB" "$T/v" 'tab\there'
$DBE get $S2 11 >"$T/v"; same "quoted newline" "$T/v" 'two\nlines'
$DBE get $S2 12 >"$T/v"; same "a quote inside a field is data" "$T/v" 'q"uote'
$DBE get $S2 -i 2 a >"$T/v"; same "index 2 by column 2" "$T/v" 'two\nlines'
printf 'id,name,v\n20,z,by name and number\n' >"$T/c.csv"
expect 0 $DBE import $S2 "$T/c.csv" --csv --header --key id --key 2 --value v
$DBE get $S2 20 >"$T/v"; same "--header: names and numbers" "$T/v" 'by name and number'

# equal keys: the later row is the newer (a put per row, in file order)
printf '30,d,first\n30,d,second\n' >"$T/d.csv"
expect 0 $DBE import $S2 "$T/d.csv" --csv --key 1 --key 2 --value 3
$DBE get $S2 30 >"$T/v"; same "the last row of a key is the newest" "$T/v" 'second'
$DBE create-store $T/srt --index long_int:4 --index string:8 >/dev/null
printf '1,a,x\n2,b,y\n2,c,z\n' >"$T/e.csv"
expect 0 $DBE import $T/srt "$T/e.csv" --csv --key 1 --key 2 --value 3 --sorted
same "--sorted" "$T/out" '3\n'
$DBE check $T/srt >/dev/null && ok "--sorted: check clean" || bad "--sorted: check"

# ---- bad rows: line and column named, nothing committed
before=$(sum $S)
printf 'name,id,note\nok,1,x\n"long name that does not fit in",2,x\nn,abc,x\nn,0x10,x\nshort,4\n"two\nlines",99999999999,x\n' >"$T/bad.csv"
expect 2 $DBE import $S "$T/bad.csv" --csv --header --key name --key id
err_has "line 3: column 1 (name): 'long name that does not fit in' is 30 bytes; a STRING key of key size 24 holds at most 23"
err_has "line 4: column 2 (id): 'abc' is not a LONG_INT"
err_has "line 5: column 2 (id): '0x10' is not a decimal LONG_INT"
err_has "line 6: 2 field(s); the header has 3"
err_has "line 7: column 2 (id): '99999999999' is not a LONG_INT"
err_has "nothing imported (5 bad record(s); rolled back)"
[ "$(sum $S)" = "$before" ] && ok "a failed import changes nothing" || bad "a failed import changed the store"
printf 'a,1\na,1\n' >"$T/u.csv"
$DBE create-store $T/uq --index string:8:unique --index long_int:4 >/dev/null
expect 2 $DBE import $T/uq "$T/u.csv" --csv --key 1 --key 2
err_has "line 2: "
[ "$($DBE scan $T/uq | wc -l)" = 0 ] && ok "a UNIQUE clash: nothing imported" || bad "UNIQUE clash imported rows"
printf 'x,1\n"open,2\n' >"$T/q.csv"
expect 2 $DBE import $S "$T/q.csv" --csv --key 1 --key 2
err_has "line 2: the input ends inside a quoted field"
printf 'x,"a"b\n' >"$T/q2.csv"
expect 2 $DBE import $S "$T/q2.csv" --csv --key 1 --key 2
err_has "line 1: text after a closing quote"
# mapping errors
expect 2 $DBE import $S "$T/a.csv" --csv --header --key name --key nosuch
err_has "no column 'nosuch'"
expect 2 $DBE import $S "$T/a.csv" --csv --key 1 --key 4
err_has "no column 4"
expect 2 $DBE import $S "$T/a.csv" --csv --key name --key 2
err_has "names need --header"
expect 2 $DBE import $S "$T/a.csv" --csv --header --key name
err_has "has 2 index(es): give a --key COL for each"
expect 2 $DBE import $S "$T/a.csv" --csv --tsv --key 1 --key 2
expect 2 $DBE import $S "$T/a.csv" --key 1 --key 2
expect 2 $DBE import $S "$T/a.csv" --csv
expect 2 $DBE import $S "$T/a.csv" --csv --key 1 --key
expect 2 $DBE import $S "$T/a.csv" --csv --key 1 --key 2 --format csv
expect 2 $DBE import $S $T/missing.csv --csv --key 1 --key 2
$DBE create $T/f.ndx --index string:8 >/dev/null
expect 2 $DBE import $T/f.ndx "$T/a.csv" --csv --key 1
err_has "load into a record store"
[ "$(sum $S)" = "$before" ] && ok "refused imports change nothing" || bad "a refused import changed the store"
: >"$T/empty.csv"
expect 0 $DBE import $S "$T/empty.csv" --csv --header --key name --key id
same "an empty file" "$T/out" '0\n'

# ---- JSON lines: valid JSON for every key and value; read back
J=$T/j
$DBE create-store $J --index string:16 --index block:4 --index long_int:4 >/dev/null
$DBE put $J 'caf\xe9' 0x00ff0a22 1 -- "$(printf 'Latin-1 caf\351')" >/dev/null
$DBE put $J 'caf\xc3\xa9' 0x5c000000 2 -- "$(printf 'UTF-8 caf\303\251')" >/dev/null
$DBE put $J '\xff\xfe\x01"\\' 0x01020304 3 -- - <"$T/a.csv" >/dev/null
printf '\000\001\377"\\\n' | $DBE put $J 'ctl\x01\x1f\x7f' 0x00000000 4 -- - >/dev/null
$DBE put $J '' 0x20202020 5 -- '' >/dev/null
expect 0 $DBE export $J --format jsonl
cp "$T/out" "$T/j.jsonl"
python3 - "$T/j.jsonl" <<'PY' && ok "every line is JSON (strict UTF-8)" || bad "export --format jsonl is not JSON"
import base64, json, sys
rows = [json.loads(line.decode('utf-8')) for line in open(sys.argv[1], 'rb')]
k1 = lambda r: base64.b64decode(r['k1']['base64']) if isinstance(r['k1'], dict) else r['k1'].encode()
got = [(k1(r), r['k2'], r['k3'], base64.b64decode(r['v'])) for r in rows]
want = [(b'', '0x20202020', 5, b''),
        (b'caf\xc3\xa9', '0x5c000000', 2, b'UTF-8 caf\xc3\xa9'),
        (b'caf\xe9', '0x00ff0a22', 1, b'Latin-1 caf\xe9'),
        (b'ctl\x01\x1f\x7f', '0x00000000', 4, b'\x00\x01\xff"\\\n'),
        (b'\xff\xfe\x01"\\', '0x01020304', 3, open(sys.argv[1].replace('j.jsonl', 'a.csv'), 'rb').read())]
assert got == want, got
assert isinstance(rows[2]['k1'], dict) and isinstance(rows[1]['k1'], str)
PY
has "a key that is not UTF-8 is {\"base64\": ...}" "$T/j.jsonl" '"k1": {"base64": "Y2Fm6Q=="}'
[ ! -s "$T/err" ] && ok "no note for JSON lines" || bad "a note for JSON lines"
$DBE create-store $T/j2 --index string:16 --index block:4 --index long_int:4 >/dev/null
expect 0 $DBE import $T/j2 "$T/j.jsonl" --format jsonl
$DBE export $T/j2 --format jsonl | cmp -s - "$T/j.jsonl" && ok "JSON lines round trip" || bad "JSON lines round trip"
printf '%s\n' '{"k1": {"base64": "!!"}, "k2": "0x00", "k3": 1, "v": ""}' \
    '{"k1": {"b64": "YQ=="}, "k2": "0x00", "k3": 1, "v": ""}' \
    '{"k1": {"base64": "YQ==", "x": 1}, "k2": "0x00", "k3": 1, "v": ""}' >"$T/badj"
expect 2 $DBE import $T/j2 "$T/badj" --format jsonl
err_has 'line 1: not a base64 string in {"base64": ...}'
err_has 'line 2: expected {"base64": "..."}'
err_has "line 3: expected '}' after the base64 string"

# {"base64": ...} for a key of any type and for the value
$DBE create-store $T/j3 --index block:4 --index string:8 >/dev/null
printf '%s\n' '{"k1": {"base64": "AAEC"}, "k2": {"base64": "/w=="}, "v": {"base64": "AP8="}}' >"$T/b64"
expect 0 $DBE import $T/j3 "$T/b64" --format jsonl
expect 0 $DBE export $T/j3 --format jsonl
same "base64 objects read back" "$T/out" '{"k1": "0x00010200", "k2": {"base64": "/w=="}, "v": "AP8="}\n'
printf '%s\n' '{"k1": {"base64": "AAECAwQ="}, "k2": "x", "v": ""}' >"$T/b64"
expect 2 $DBE import $T/j3 "$T/b64" --format jsonl
err_has "line 1: k1: a key of 5 bytes; the key size is 4"

# ---- --format copy: PostgreSQL COPY text
C=$T/c
$DBE create-store $C --index string:16 --index long_int:4 >/dev/null
$DBE put $C 'tab\there' 1 -- "$(printf 'back\\\\slash\tTAB\r\nCRLF')" >/dev/null
$DBE put $C '\\.' 2 -- '' >/dev/null
$DBE put $C 'caf\xc3\xa9' 3 -- '\N' >/dev/null
expect 0 $DBE export $C --format copy
same "COPY text: escapes, no header" "$T/out" '\\\\.\t2\t\ncaf\303\251\t3\t\\\\N\ntab\\there\t1\tback\\\\\\\\slash\\tTAB\\r\\nCRLF\n'
expect 0 $DBE export $T/f.ndx --format copy
expect 2 $DBE export $J --format copy
[ ! -s "$T/out" ] && ok "not text: nothing written" || bad "copy wrote output before refusing"
err_has "the record with key caf\\\\xe9 in index 1: k1 is not UTF-8"
err_has "v is not UTF-8 text or holds a NUL byte"
err_has "nothing written: 4 field(s) are not UTF-8 text"
expect 2 $DBE import $C --format copy
err_has "for export only"
finish
