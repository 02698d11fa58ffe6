/* A stand-in for Windows' bcryptprimitives.dll, which Wine 8 lacks and Go's
 * runtime loads at start for ProcessPrng. It fills the buffer from
 * advapi32's RtlGenRandom (SystemFunction036), which Wine has. */
#include <windows.h>
BOOLEAN WINAPI SystemFunction036(PVOID buf, ULONG len);
BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
  while (len > 0) {
    ULONG n = len > 0x7fffffff ? 0x7fffffff : (ULONG)len;
    if (!SystemFunction036(data, n)) return FALSE;
    data += n; len -= n;
  }
  return TRUE;
}
