/* A stand-in for another copy of a library cusprun ships (a system LibTorch, libgomp, OpenBLAS),
 * built under that library's file name and soname. The tests put these on LD_LIBRARY_PATH and
 * java.library.path, where the dynamic linker and JavaCPP look: a process that loads one of them
 * names it on stderr and aborts, as a process with two LibTorch versions crashes. */
#include <stdio.h>
#include <stdlib.h>

#ifndef CONFLICT_NAME
#error "CONFLICT_NAME must name the library this file stands in for"
#endif

__attribute__((constructor)) static void conflicting_library_loaded(void) {
    fprintf(stderr, "conflicting library loaded: %s (not the one cusprun ships)\n", CONFLICT_NAME);
    fflush(stderr);
    abort();
}
