/*
 * mdx.h — the C functions of the original EMDX Win16 DLL (MDXOpenFile,
 * MDXAppend, MDXFind, MDXGetFirst, ... MDXDeleteCurrent) over udb, so that
 * old client code compiles unchanged. Declarations and the original
 * constants only; the behaviour, and every place it differs from the
 * original DLL, is in doc/mdx.md.
 *
 * Conventions kept from the original: integer handles (-1 = none), one
 * active index per handle (1-based), one cursor per index, data positions
 * as 32-bit signed integers (-1 = "no position"), 0/1 results, and an
 * error number per handle (errOK .. errINIT) read with MDXGetError.
 * New code should use udb.h instead.
 */
#ifndef UDB_MDX_H
#define UDB_MDX_H

#include <stdint.h>
#include "udb.h" /* UDB_API: what the shared library exports */

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Win16 calling-convention words, defined away ---------------------- */
#ifndef FAR
#define FAR
#endif
#ifndef NEAR
#define NEAR
#endif
#ifndef PASCAL
#define PASCAL
#endif
/* The Borland keywords; code that uses these words as identifiers defines
   MDX_NO_WIN16_KEYWORDS before including this header. */
#ifndef MDX_NO_WIN16_KEYWORDS
#ifndef far
#define far
#endif
#ifndef near
#define near
#endif
#ifndef _export
#define _export
#endif
#endif

/* ---- the original constants -------------------------------------------- */
/* error numbers (MDXGetError) */
#define errOK 0
#define errERROR 1
#define errREAD 2
#define errWRITE 3
#define errSEEK 4
#define errBADDATA 5
#define errMEMERROR 6
#define errPOINTER 7
#define errBADFILEDATA 8
#define errBADFILEHANDLE 9
#define errCREATE 10
#define errGETFILESIZE 11
#define errOPEN 12
#define errCLOSE 13
#define errGETFILEPOS 14
#define errINIT 15

/* key types (MDXCreateIndex, MDXGetKeyType) */
#define ftVOID 0
#define ftBLOCK 1
#define ftNUMBLOCK 2
#define ftINTEGER 3
#define ftLONGINT 4
#define ftSTRING 5
#define ftLOGICAL 6
#define ftCHARACTER 7

/* index attributes (MDXCreateIndex), with the original spelling */
#define attUNQUEE 1
#define attDELETE 2

/* handles are 0 .. MDX_MAX_HANDLES - 1, as in the original DLL */
#define MDX_MAX_HANDLES 256

/* ---- files ---------------------------------------------------------------- */
UDB_API int FAR PASCAL MDXCreateFile(const char FAR *IndexFileName, int NumIndexes);
UDB_API int FAR PASCAL MDXOpenFile(const char FAR *IndexFileName);
UDB_API void FAR PASCAL MDXCloseFile(int MDXHandle);
UDB_API void FAR PASCAL MDXCLoseAll(void);
UDB_API void FAR PASCAL MDXFlushFile(int MDXHandle);

/* ---- indexes -------------------------------------------------------------- */
UDB_API void FAR PASCAL MDXCreateIndex(int MDXHandle, unsigned int AKeyCode, unsigned int AKeySize,
                                       unsigned int AAttrib, unsigned int ANumItems,
                                       int32_t AFreeCreateNode, int32_t AFreeCreateLeave);
UDB_API unsigned int FAR PASCAL MDXGetNumIndexes(int MDXHandle);
UDB_API void FAR PASCAL MDXSetActiveIndex(int MDXHandle, unsigned int AIndexNo);
UDB_API unsigned int FAR PASCAL MDXGetKeyType(int MDXHandle);
UDB_API unsigned int FAR PASCAL MDXGetKeySize(int MDXHandle);
UDB_API int FAR PASCAL MDXUnque(int MDXHandle);
UDB_API int FAR PASCAL MDXCanDelete(int MDXHandle);
UDB_API int FAR PASCAL MDXCompare(int MDXHandle, const void FAR *AKey1, const void FAR *AKey2);

/* ---- records (on the active index) ------------------------------------------ */
UDB_API int FAR PASCAL MDXAppend(int MDXHandle, const void FAR *AKey, int32_t ADataPos);
UDB_API int32_t FAR PASCAL MDXFind(int MDXHandle, const void FAR *AKey);
UDB_API int FAR PASCAL MDXDelete(int MDXHandle, const void FAR *AKey);
UDB_API int32_t FAR PASCAL MDXDeleteCurrent(int MDXHandle);

/* ---- the cursor of the active index -------------------------------------------- */
UDB_API int32_t FAR PASCAL MDXGetFirst(int MDXHandle, void FAR *AKey);
UDB_API int32_t FAR PASCAL MDXGetNext(int MDXHandle, void FAR *AKey);
UDB_API int32_t FAR PASCAL MDXGetPrev(int MDXHandle, void FAR *AKey);
UDB_API int32_t FAR PASCAL MDXGetCurrent(int MDXHandle, void FAR *AKey);
UDB_API int FAR PASCAL MDXGetEOF(int MDXHandle);
UDB_API int FAR PASCAL MDXGetBOF(int MDXHandle);

/* ---- errors ----------------------------------------------------------------------- */
UDB_API int FAR PASCAL MDXGetError(int MDXHandle);
UDB_API void FAR PASCAL MDXSetError(int MDXHandle, int AError);
UDB_API void FAR PASCAL MDXClearError(int MDXHandle);

#ifdef __cplusplus
}
#endif
#endif
