/*
 * cusprun C API: the kernels that fuse activation capture with relevance
 * accumulation (formulas: docs/method.md). One header, two back ends:
 *   - CPU  (libcusprun.so, native/):       always built; the reference.
 *   - CUDA (libcusprun_cuda.so, cuda/):    built where nvcc exists; loaded at run
 *                                          time by libcusprun only when a CUDA
 *                                          device is asked for.
 *
 * Conventions shared by every kernel:
 *   - `device` < 0 runs on the CPU; `device` >= 0 runs on that CUDA device, all
 *     pointers are then device pointers and work is queued on `stream`
 *     (a cudaStream_t, NULL = the legacy default stream). On the CPU `stream` is ignored.
 *   - `variant` is an index into the kernel's variant list (see the registry
 *     below); CUSPRUN_DEFAULT_VARIANT picks the back end's default (its fastest).
 *   - Documents may be packed into one batch: `doc_offsets` has n_docs+1
 *     ascending entries, document i owns rows [doc_offsets[i], doc_offsets[i+1]),
 *     doc_offsets[0] = 0 and doc_offsets[n_docs] = T. On CUDA doc_offsets is a
 *     device pointer too.
 *   - Accumulators are per document and are ADDED INTO (never overwritten), so
 *     one call per batch of a long document keeps summing.
 *   - Activation dtypes: CUSPRUN_F32, CUSPRUN_BF16, CUSPRUN_F16. Accumulator
 *     dtypes: CUSPRUN_F32 or CUSPRUN_F64. Inside a kernel all sums are formed in
 *     fp32 or wider.
 *   - Every function returns CUSPRUN_OK or an error code; cusprun_last_error()
 *     then gives a one-line message (thread-local). No function aborts the process
 *     on bad arguments.
 */
#ifndef CUSPRUN_H
#define CUSPRUN_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CUSPRUN_API_VERSION 3
#define CUSPRUN_DEFAULT_VARIANT (-1)

typedef enum cusprun_dtype {
    CUSPRUN_F32 = 0,
    CUSPRUN_BF16 = 1,
    CUSPRUN_F16 = 2,
    CUSPRUN_F64 = 3
} cusprun_dtype;

typedef enum cusprun_status {
    CUSPRUN_OK = 0,
    CUSPRUN_ERR_ARGUMENT = 1,    /* bad size, pointer, dtype or variant */
    CUSPRUN_ERR_UNSUPPORTED = 2, /* valid request this back end does not implement */
    CUSPRUN_ERR_NO_CUDA = 3,     /* CUDA back end not built, not loadable, or no device */
    CUSPRUN_ERR_CUDA = 4,        /* a CUDA runtime call failed */
    CUSPRUN_ERR_MEMORY = 5       /* a scratch allocation failed */
} cusprun_status;

/* --------------------------------------------------------------- version */

/* CUSPRUN_API_VERSION of the library actually loaded (bindings compare it with the
 * header they were built against). */
int cusprun_api_version(void);

/* ---------------------------------------------------------------- errors */

/* Message for the last failing call on this thread ("" if none). */
const char *cusprun_last_error(void);

/* -------------------------------------------------------------- registry */

typedef enum cusprun_backend { CUSPRUN_BACKEND_CPU = 0, CUSPRUN_BACKEND_CUDA = 1 } cusprun_backend;

/* Kernel names, in this order: "ffn_swiglu", "head_gram", "qk_neuron", "rank_update". */
int cusprun_kernel_count(void);
const char *cusprun_kernel_name(int kernel);

/* Variants of a kernel on a back end, numbered from 0; names are "<n>_<what>",
 * e.g. "1_naive", "2_omp_simd". The first (index 0) is always the plain reference.
 * Returns 0 / NULL for an unknown kernel, or for CUDA when the CUDA back end is not
 * available on this machine. A CUDA variant whose device code needs a newer GPU
 * architecture than a visible device runs (or than the build has) is not listed. */
int cusprun_variant_count(int backend, const char *kernel);
const char *cusprun_variant_name(int backend, const char *kernel, int variant);
/* Index of the named variant, or -1. Accepts the full name or its leading number ("2"). */
int cusprun_variant_find(int backend, const char *kernel, const char *name);
/* Index of the variant used for CUSPRUN_DEFAULT_VARIANT. */
int cusprun_variant_default(int backend, const char *kernel);

/* Loads the CUDA back end (libcusprun_cuda.so) from `library_path`, or, when it is
 * NULL, from the directory libcusprun.so was loaded from. Idempotent. Returns
 * CUSPRUN_OK, or CUSPRUN_ERR_NO_CUDA with a message saying why (not built, cannot
 * be opened, no device). Kernels called with device >= 0 load it on first use. */
int cusprun_cuda_load(const char *library_path);

/* Number of CUDA devices usable by the CUDA back end: 0 when the back end is not
 * built, its library cannot be loaded, or no device is present. Never fails. */
int cusprun_cuda_device_count(void);

/* --------------------------------------------------- threads and BLAS */

/* Sets the thread count of the OpenBLAS already loaded in this process (LibTorch's CPU build
 * runs its GEMMs there, in a pool separate from OpenMP's). Returns 1 when set, 0 when no
 * OpenBLAS is loaded, -1 for threads < 1. */
int cusprun_set_blas_threads(int threads);

/* Asks LibTorch's CPU allocator for transparent huge pages on tensors of 2 MB and more (sets
 * THP_MEM_ALLOC_ENABLE=1 in this process's environment), which cuts the page faults of large
 * activations and of layers read one at a time. LibTorch reads the setting at its first CPU
 * allocation, so call this before any tensor exists. Returns 1 when set, 0 when
 * THP_MEM_ALLOC_ENABLE was already set (the user's value is kept), -1 when setenv failed. */
int cusprun_prefer_huge_pages(void);

/* y = x w^T in fp32 on the CPU (a Linear layer without bias): x is n x k (row stride ldx >= k),
 * w is m x k contiguous, y is n x m (row stride ldy >= m, overwritten). Runs as tiles of y on
 * the OpenMP pool, each a cblas_sgemm of the BLAS library already loaded in the process (set it
 * to one thread with cusprun_set_blas_threads, or the two pools oversubscribe the cores).
 * Returns CUSPRUN_ERR_UNSUPPORTED when no such library is loaded. */
int cusprun_linear_f32(const float *x, int64_t ldx, const float *w, float *y, int64_t ldy,
                       int64_t n, int64_t k, int64_t m);

/* g = x x^T in fp32 on the CPU (the Gram of n channels over k samples): x is n x k (row stride
 * ldx >= k), g is n x n (row stride ldg >= n, overwritten, symmetric). The tiles on and above
 * the diagonal run as cusprun_linear_f32(x, x) runs them, the ones below are their transposes.
 * Returns CUSPRUN_ERR_UNSUPPORTED when no CBLAS library is loaded. */
int cusprun_gram_f32(const float *x, int64_t ldx, float *g, int64_t ldg, int64_t n, int64_t k);

/* ------------------------------------------------------------- kernels */

/* Each kernel's parameter list is written once, as a function type
 * (cusprun_<kernel>_fn): the CPU entry points below, the CUDA back end's exports
 * (cusprun_cuda.h), the CPU variants and the loader's table are all declared through
 * it, so a definition that drifts from it fails to compile. The lists keep their
 * grouping by role (clang-format off). */
/* clang-format off */

/*
 * 1. FFN SwiGLU relevance (see docs/method.md, Relevance of a unit: FFN neuron).
 *    gate, up: T rows of F values, row stride `in_stride` elements (>= F; lets
 *    gate and up be the two halves of one fused gate_up projection of width 2F).
 *    act_out (may be NULL): T x F, row stride F, receives a = silu(gate) * up in
 *    `act_dtype` (the forward pass continues from it).
 *    acc: n_docs x F in `acc_dtype`; acc[i][k] += sum_{t in doc i} a[t,k]^2,
 *    with a rounded to act_dtype first (what the forward pass actually uses).
 *    acc may be NULL (plain inference: activation only; doc_offsets, n_docs and
 *    acc_dtype are then ignored). act_out and acc may not both be NULL.
 */
typedef int cusprun_ffn_swiglu_fn(int device, int variant, void *stream,
                                  cusprun_dtype act_dtype,
                                  const void *gate, const void *up, int64_t in_stride,
                                  void *act_out,
                                  int64_t T, int64_t F,
                                  const int64_t *doc_offsets, int64_t n_docs,
                                  cusprun_dtype acc_dtype, void *acc);
cusprun_ffn_swiglu_fn cusprun_ffn_swiglu;

/*
 * 2. Head Gram (docs/method.md, Relevance of a unit: head, group).
 *    z: attention output before o_proj, T x H x d (row stride H*d), in act_dtype.
 *    Heads are grouped by key/value head: group g holds query heads
 *    [g*group_size, (g+1)*group_size), H = n_groups * group_size.
 *    gram: n_docs x n_groups x (group_size*d) x (group_size*d) in acc_dtype;
 *    for doc i, group g:  gram[i][g] += sum_t y_t y_t^T  where y_t is the
 *    concatenation of z[t, h, :] over the group's heads. The diagonal d x d blocks
 *    are the per-head S_h; the off-diagonal blocks are the cross-head Grams.
 *    Both triangles are written (the matrix is symmetric).
 */
typedef int cusprun_head_gram_fn(int device, int variant, void *stream,
                                 cusprun_dtype act_dtype, const void *z,
                                 int64_t T, int64_t H, int64_t d, int64_t group_size,
                                 const int64_t *doc_offsets, int64_t n_docs,
                                 cusprun_dtype acc_dtype, void *gram);
cusprun_head_gram_fn cusprun_head_gram;

/*
 * 3. Query/key neuron relevance (docs/method.md, Relevance of a unit: q/k, after PLND).
 *    q: T x H x d, k: T x Hkv x d (after RoPE), query head h reads key head
 *    h / (H / Hkv). Per document (attention never crosses a document boundary),
 *    per head h, per scored unit u:
 *        acc[i][h][u] += || softmax(A) - softmax(A - D_u) ||_F^2
 *    where A[s,t] = q_s . k_t * scale over the causal triangle t <= s of the
 *    document, D_u[s,t] = scale * sum_{j in u} q_s[j] k_t[j] and softmax is per row.
 *    rope_pairs != 0: units are the pairs {j, j + d/2}, j < d/2 (rotate-half RoPE
 *    rotates them together), so acc has d/2 units per head; rope_pairs == 0: one
 *    unit per dimension, d units. acc: n_docs x H x units, acc_dtype; the
 *    relevance is sqrt(acc). Memory: O(T) scratch per worker, never T x T.
 */
typedef int cusprun_qk_neuron_fn(int device, int variant, void *stream,
                                 cusprun_dtype act_dtype, const void *q, const void *k,
                                 int64_t T, int64_t H, int64_t Hkv, int64_t d,
                                 float scale, int rope_pairs,
                                 const int64_t *doc_offsets, int64_t n_docs,
                                 cusprun_dtype acc_dtype, void *acc);
cusprun_qk_neuron_fn cusprun_qk_neuron;

/*
 * 4. Rank update (docs/method.md, Ranks and the selection rule), one (layer, module) at a time.
 *    relevance: n_docs x N in rel_dtype (CUSPRUN_F32 or CUSPRUN_F64).
 *    For each document, rank its N values ascending (0 = least relevant; ties get
 *    their mean rank) and turn rank r into the percentile p = r / (N - 1)
 *    (p = 0 when N == 1). Then for every neuron k:
 *        rank_max[k]  = max(rank_max[k], p)                (float, N)
 *        rank_hist[k * n_bins + min(n_bins-1, floor(p * n_bins))] += 1   (int32, N x n_bins)
 *        relevance_sum[2k], [2k+1] += relevance[doc][k]    (int64, N x 2)
 *    relevance_sum is an exact 128-bit fixed-point sum: [2k] holds the integer part, [2k+1]
 *    the fraction in units of 2^-64 (its 64 bits read as unsigned); each term is cut to a
 *    multiple of 2^-64 (terms below 5e-20 vanish) and added with carry. The addition is
 *    exact, so the sums do not depend on the order of documents, calls, shards or back ends
 *    (they are what score files store; the Java ExactSum reads them as they are).
 *    Initialise rank_max to 0 (or -1 to tell "no document yet"), the others to 0.
 *    Relevance must lie in [0, 2^62): a NaN, a negative value, an infinity or a larger value
 *    is refused on both back ends (CUSPRUN_ERR_ARGUMENT, naming the first one in row-major
 *    order) before any accumulator changes; on CUDA the scan runs on the device and the call
 *    waits for its stream (8 bytes come back).
 */
typedef int cusprun_rank_update_fn(int device, int variant, void *stream,
                                   cusprun_dtype rel_dtype, const void *relevance,
                                   int64_t n_docs, int64_t N,
                                   float *rank_max, int32_t *rank_hist, int64_t n_bins,
                                   int64_t *relevance_sum);
cusprun_rank_update_fn cusprun_rank_update;
/* clang-format on */

#ifdef __cplusplus
}
#endif

#endif /* CUSPRUN_H */
