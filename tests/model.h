/*
 * model.h — an in-memory reference of one index for the randomized tests:
 * records in traversal order (key order, duplicates newest first) and a
 * cursor that moves as the originals' did. Uses its own key comparison,
 * written from the layout documents, not the library's.
 */
#ifndef MODEL_H
#define MODEL_H

#include <stddef.h>
#include <stdint.h>

#define MODEL_KEYMAX 64 /* the largest key size a model holds */

typedef struct model_rec {
    uint8_t key[MODEL_KEYMAX];
    int64_t dp;
} model_rec;

typedef struct model {
    int type, classic, unique;
    unsigned ks;
    model_rec *r;
    size_t n, cap;
    long cur;           /* -1: nowhere; n: on the EOF leaf; else a record */
} model;

void model_init(model *m, int type, unsigned ks, int classic, int unique);
void model_free(model *m);
int model_cmp(const model *m, const uint8_t *a, const uint8_t *b);
/* First record whose key is >= key (n when none). */
size_t model_lower(const model *m, const uint8_t *key);
/* 1 when a record with key exists. */
int model_has(const model *m, const uint8_t *key);
/* Add a record after every other one, as it is (no order, no UNIQUE
   check): for loading a listing that is already in traversal order. */
void model_push(model *m, const uint8_t *key, int64_t dp);
/* Append: 0, or -1 when UNIQUE refuses it. The cursor lands on it. */
int model_append(model *m, const uint8_t *key, int64_t dp);
/* Remove every record with key; returns the count; moves the cursor. */
size_t model_delete_key(model *m, const uint8_t *key);
/* Remove the record under the cursor: 0, or -1 when not on a record. */
int model_delete_cur(model *m, model_rec *removed);
/* Cursor moves: 0 when the cursor is on a record afterwards, -1 otherwise
   (as UDB_NOTFOUND: unchanged position for next/prev at the ends). */
int model_first(model *m);
int model_last(model *m);
int model_next(model *m);
int model_prev(model *m);
int model_seek(model *m, const uint8_t *key);
int model_find(model *m, const uint8_t *key);

#endif
