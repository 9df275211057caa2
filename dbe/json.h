/*
 * json.h — bytes and keys as JSON values, one rule for every command that
 * writes JSON (scan --json, info and stat --json; export may share it):
 * bytes that are valid UTF-8 become a JSON string with the standard
 * escapes, any other bytes {"base64": "..."}.
 */
#ifndef DBE_JSON_H
#define DBE_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "udb.h"

/* 1 when p[0..n) is well-formed UTF-8 (no overlong forms, no surrogates,
   nothing past U+10FFFF). */
int dbe_utf8_valid(const uint8_t *p, size_t n);
/* Bytes as a JSON string, quotes included: \" \\ \b \f \n \r \t and \u00XX
   for the other control characters; every other byte as it is (so only
   for bytes known to be UTF-8, or for names dbe made). */
void dbe_json_string(FILE *f, const uint8_t *p, size_t n);
/* RFC 4648 base64 with padding, no quotes. */
void dbe_base64(FILE *f, const uint8_t *p, size_t n);
/* Bytes as a JSON value: a string when they are valid UTF-8, otherwise
   {"base64": "..."}. */
void dbe_json_bytes(FILE *f, const uint8_t *p, size_t n);
/* A key of an index as a JSON value: a STRING key's text by
   dbe_json_bytes, INTEGER and LONG_INT keys as numbers, other types as
   the string "0x..." (dbe's key text). */
void dbe_json_key(FILE *f, const udb_index_info *inf, const uint8_t *key);

#endif
