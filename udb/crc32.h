/*
 * crc32.h — CRC-32 with zlib's polynomial and conventions: udb_crc32(0,
 * buf, len) equals zlib's crc32(0, buf, len). Used for record frames and
 * journal records.
 */
#ifndef UDB_CRC32_H
#define UDB_CRC32_H

#include <stddef.h>
#include <stdint.h>

uint32_t udb_crc32(uint32_t crc, const void *buf, size_t len);

#endif
