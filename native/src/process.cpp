// Process-wide settings of the LibTorch CPU allocator that cusprun relies on.
//
// Why: a forward pass allocates and frees activations of tens to hundreds of MB per layer, and a
// streamed run reads every layer into fresh buffers. glibc serves those with mmap, so every use
// faults its pages in 4 KB at a time: at the Llama-3.2-1B shape a third of the CPU time went to
// page faults. LibTorch's allocator asks for transparent huge pages (madvise(MADV_HUGEPAGE)) on
// buffers of 2 MB and more when THP_MEM_ALLOC_ENABLE is set, which it reads once, at its first
// allocation (benchmarks/README.md, "Huge pages").
#include <stdlib.h>

#include "cusprun.h"

extern "C" int cusprun_prefer_huge_pages(void) {
    if (getenv("THP_MEM_ALLOC_ENABLE") != nullptr) {
        return 0;  // the user's choice stands
    }
    return setenv("THP_MEM_ALLOC_ENABLE", "1", 0) == 0 ? 1 : -1;
}
