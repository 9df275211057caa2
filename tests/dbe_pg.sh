#!/bin/sh
# What doc/dbe.md says about loading exports into PostgreSQL, run for real:
# the blocks marked <!-- dbe_pg.sh: NAME --> are taken from the doc as they
# stand and run (dbe and psql on PATH, mystore the store under test) against
# a private server (initdb into a temporary directory, a Unix socket there,
# no TCP; as nobody when run as root), on stores with binary keys, UTF-8 and
# Latin-1 text, quotes, commas, newlines, CRs, tabs, backslashes, \. and \N,
# empty keys and values; every row the server holds is compared with what
# the test put into the store. Without PostgreSQL's server programs: SKIPPED,
# exit status 77 (tests/run.sh counts it as skipped).
NAME=dbe_pg; . tests/lib/dbe_test.sh
PGBIN=""
for d in "$(dirname "$(readlink -f "$(command -v initdb 2>/dev/null || echo /none)")")" /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ] && { PGBIN=$d; break; }
done
PSQL=$(command -v psql || echo "$PGBIN/psql")
if [ -z "$PGBIN" ] || [ ! -x "$PSQL" ]; then
    rm -rf "$T"
    echo "SKIPPED: PostgreSQL not installed (apt-get install postgresql)"
    exit 77
fi

# ---- a private server
P=$(mktemp -d /tmp/dbe_pg.XXXXXX)
as_pg() { # the server's programs run as nobody when we are root (initdb refuses root)
    if [ "$(id -u)" = 0 ]; then su nobody -s /bin/sh -c "$1"; else sh -c "$1"; fi
}
[ "$(id -u)" = 0 ] && chown nobody "$P"
stop_pg() {
    as_pg "'$PGBIN/pg_ctl' -D '$P/data' -m immediate -w stop" >/dev/null 2>&1
    rm -rf "$P"
}
trap stop_pg EXIT
if ! as_pg "'$PGBIN/initdb' -D '$P/data' -U dbe --auth=trust -E UTF8 --locale=C" >"$T/initdb.log" 2>&1 ||
   ! as_pg "'$PGBIN/pg_ctl' -D '$P/data' -l '$P/log' -w -o \"-c listen_addresses='' -k '$P' -p 5432 -c fsync=off\" start" \
       >"$T/pgctl.log" 2>&1; then
    bad "cannot start a PostgreSQL server"; cat "$T/initdb.log" "$T/pgctl.log" "$P/log" 2>/dev/null | tail -20
    finish; exit
fi
export PGHOST="$P" PGPORT=5432 PGUSER=dbe PGDATABASE=postgres
ok "a private PostgreSQL server ($("$PSQL" -Atc 'SHOW server_version'))"
BIN=$(cd "$T" && pwd)/bin # dbe and psql for the doc's commands
mkdir "$BIN"
ln -s "$(readlink -f "$DBE")" "$BIN/dbe"
[ "$(command -v psql)" ] || ln -s "$PSQL" "$BIN/psql"

# ---- the stores: rows made here, loaded with dbe import, checked with dbe export
# mkstore NAME KIND: KIND all (any bytes), text (values UTF-8 text), latin1key
# (all plus a STRING key that is not UTF-8); $T/NAME.want: hex(k1)|k2|hex(k3)|hex(v)
mkstore() {
    python3 - "$T/$1" "$2" <<'PY'
import sys
out, kind = sys.argv[1], sys.argv[2]
keys = [b'plain', b'', b'comma,quote"end', b'tab\there', b'nl\nline', b'cr\rlf', b'back\\slash',
        b'\\.', b'\\N', b'0xnot hex', b'caf\xc3\xa9 \xe2\x82\xac', b' spaces ', b'NULL']
texts = [b'hello', b'', b'UTF-8: caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80', b'"quoted", comma',
         b'line1\nline2\r\nline3', b'tab\there', b'back\\slash \\N \\.', b'\\.', b'\\N', b'x' * 3000,
         b'\x01\x1f\x7f control', b'latin-1 as UTF-8: \xc3\xa0\xc3\xa9', b' ']
binary = [b'\x00', b'\x00\xff\x00\n\t,"', b'Latin-1: caf\xe9 na\xefve', bytes(range(256)), b'\\x00']
vals = texts if kind == 'text' else texts + binary
rows = []
for i, v in enumerate(vals):
    k1 = keys[i % len(keys)] + (b'' if i < len(keys) else b'#%d' % i)
    k3 = bytes([(i * 37) % 256, 0 if i % 3 == 0 else 0xff, (i * 11) % 256])
    rows.append((k1, i * 1000 - 5000, k3, v))
if kind == 'latin1key':
    rows.append((b'Latin-1 key caf\xe9', 99999, b'\xe9\x00\x01', b'v'))
esc = lambda b: ''.join('\\x%02x' % c for c in b)
with open(out + '.tsv', 'w') as f:
    f.write('k1\tk2\tk3\tv\n')
    for k1, k2, k3, v in rows:
        f.write('%s\t%d\t0x%s\t%s\n' % (esc(k1), k2, k3.hex(), esc(v)))
with open(out + '.want', 'w') as f:
    for k1, k2, k3, v in sorted(rows, key=lambda r: r[1]):
        f.write('%s|%d|%s|%s\n' % (k1.hex(), k2, k3.hex(), v.hex()))
PY
    $DBE create-store "$T/$1" --index string:40 --index long_int:4:unique --index block:3 >/dev/null &&
        $DBE import "$T/$1" <"$T/$1.tsv" >/dev/null || { bad "store $1"; return; }
    # what dbe holds is what was meant
    $DBE export "$T/$1" --format jsonl | python3 -c '
import base64, json, sys
k = lambda x: base64.b64decode(x["base64"]) if isinstance(x, dict) else x.encode()
rows = [json.loads(l.decode()) for l in sys.stdin.buffer]
for r in sorted(rows, key=lambda r: r["k2"]):
    print("%s|%d|%s|%s" % (k(r["k1"]).hex(), r["k2"], r["k3"][2:], base64.b64decode(r["v"]).hex()))' |
        cmp -s - "$T/$1.want" && ok "store $1 holds its $(wc -l <"$T/$1.want") rows" || bad "store $1: dbe holds other rows"
}
mkstore all all
mkstore text text
mkstore latin latin1key

# doc_block NAME: the commands of the block marked NAME in doc/dbe.md
doc_block() {
    awk -v m="<!-- dbe_pg.sh: $1 -->" '$0 == m { on = 1; next } on && /^```sh$/ { code = 1; next }
        code && /^```$/ { exit } code { print }' doc/dbe.md
}
# run_doc NAME STORE DB: run the block in a fresh database DB on STORE as mystore
run_doc() {
    "$PSQL" -q -c "CREATE DATABASE $3" >/dev/null || { bad "CREATE DATABASE $3"; return 1; }
    W=$T/w-$3; mkdir "$W"
    cp "$T/$2.ndx" "$W/mystore.ndx"; cp "$T/$2.dat" "$W/mystore.dat"
    doc_block $1 >"$W/cmds.sh"
    [ -s "$W/cmds.sh" ] || { bad "doc/dbe.md has no block $1"; return 1; }
    (cd "$W" && PATH="$BIN:$PATH" PGDATABASE=$3 sh -e cmds.sh) >"$W/log" 2>&1
}
# rows DB K1 K3 V: the server's rows as hex(k1)|k2|hex(k3)|hex(v), NULL shown
rows() {
    "$PSQL" -d $1 -At -F'|' -c "SELECT coalesce(encode($2, 'hex'), 'NULL'), k2,
        coalesce(encode($3, 'hex'), 'NULL'), coalesce(encode($4, 'hex'), 'NULL') FROM t ORDER BY k2"
}
check_rows() { # check_rows WHAT STORE DB K1 K3 V
    rows $3 "$4" "$5" "$6" >"$T/got" 2>&1
    cmp -s "$T/got" "$T/$2.want" && ok "$1: every row as dbe holds it ($(wc -l <"$T/got"))" ||
        { bad "$1: rows differ"; diff "$T/$2.want" "$T/got" | head -10; }
}
utf8() { echo "convert_to($1, 'UTF8')"; }

# ---- CSV: bytea values
for s in all text; do
    run_doc csv $s csv_$s && ok "csv block on $s" || { bad "csv block on $s"; cat "$T/w-csv_$s/log"; }
    check_rows "csv $s" $s csv_$s "$(utf8 k1)" k3 v
done
# a STRING key that is not UTF-8: the server refuses the whole COPY, into text and bytea
run_doc csv latin csv_latin && bad "csv of a Latin-1 key loaded" || has "csv: Latin-1 key refused" "$T/w-csv_latin/log" "invalid byte sequence for encoding \"UTF8\""
[ "$("$PSQL" -d csv_latin -Atc 'SELECT count(*) FROM t')" = 0 ] && ok "... nothing loaded" || bad "part of the COPY loaded"
"$PSQL" -d csv_latin -q -c 'CREATE TABLE b (k1 bytea, k2 integer, k3 text, v bytea)' &&
    (cd "$T/w-csv_latin" && "$PSQL" -d csv_latin -c "\copy b FROM 'out.csv' WITH (FORMAT csv, HEADER true)") >"$T/o" 2>&1 &&
    bad "a Latin-1 key loaded into bytea" || has "... into bytea too" "$T/o" "invalid byte sequence"
has "... dbe's note" "$T/w-csv_latin/log" "1 STRING key(s) are not UTF-8"
# CSV quoting: an unquoted empty field is NULL (so dbe quotes it); CRLF lines load
printf 'k1,k2,k3,v\r\n,1,0x000000,\\x41\r\n"",2,0x000000,\\x42\r\n' >"$T/q.csv"
"$PSQL" -d csv_text -q -c 'CREATE TABLE q (k1 text, k2 integer, k3 text, v bytea)' &&
    "$PSQL" -d csv_text -q -c "\copy q FROM '$T/q.csv' WITH (FORMAT csv, HEADER true)" &&
    [ "$("$PSQL" -d csv_text -At -c "SELECT k2, k1 IS NULL, encode(v, 'escape') FROM q ORDER BY k2" | tr '\n' ' ')" = "1|t|A 2|f|B " ] &&
    ok "an unquoted empty field is NULL, \"\" is empty; CRLF lines load" || bad "CSV NULL / CRLF claims"

# ---- COPY text: text values
run_doc copy text copy_text && ok "copy block on text" || { bad "copy block on text"; cat "$T/w-copy_text/log"; }
check_rows "copy text" text copy_text "$(utf8 k1)" "decode(substr(k3, 3), 'hex')" "$(utf8 v)"
run_doc copy all copy_all && bad "copy of binary values ran" || has "copy: binary values refused" "$T/w-copy_all/log" "nothing written"
[ ! -s "$T/w-copy_all/out.txt" ] && ok "... and out.txt is empty" || bad "copy wrote part of a refused store"

# ---- JSON lines into jsonb: every store
for s in all text latin; do
    run_doc jsonl $s jsonl_$s && ok "jsonl block on $s" || { bad "jsonl block on $s"; cat "$T/w-jsonl_$s/log"; }
    check_rows "jsonl $s" $s jsonl_$s k1 k3 v
done
finish
