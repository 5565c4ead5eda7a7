// Internal declarations shared by the CPU back end's translation units.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "cusprun.h"
#include "kernel_args.h"

namespace cusprun {

// Sets this thread's last error (printf-style, one line) and returns `code`.
int fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
// Copies an error message coming from elsewhere (the CUDA back end).
void set_error_text(const char *msg);

// ---- scalar dtype conversions (bit manipulation, round-to-nearest-even) ----
static inline float bits_to_f32(uint32_t u) { return __builtin_bit_cast(float, u); }
static inline uint32_t f32_to_bits(float f) { return __builtin_bit_cast(uint32_t, f); }

static inline float bf16_to_f32(uint16_t h) { return bits_to_f32((uint32_t)h << 16); }
static inline uint16_t f32_to_bf16(float f) {
    uint32_t u = f32_to_bits(f);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((u >> 16) | 0x40u);  // quiet NaN
    return (uint16_t)((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}
static inline float f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t em = h & 0x7FFFu;
    float mag;
    if (em >= 0x7C00u) mag = bits_to_f32((em << 13) | 0x7F800000u);        // inf / NaN
    else if (em >= 0x0400u) mag = bits_to_f32((em << 13) + (112u << 23));  // normal
    else mag = (float)em * 0x1p-24f;                                       // subnormal, exact
    return bits_to_f32(f32_to_bits(mag) | sign);
}
// After F. Giesen's float_to_half_fast3_rtne: exact RNE incl. subnormals, inf, NaN.
static inline uint16_t f32_to_f16(float f) {
    uint32_t u = f32_to_bits(f);
    uint32_t sign = u & 0x80000000u;
    u ^= sign;
    uint32_t o;
    if (u >= (143u << 23)) {  // >= 65536: overflow, inf or NaN
        o = (u > 0x7F800000u) ? 0x7E00u : 0x7C00u;
    } else if (u < (113u << 23)) {        // result is subnormal or zero
        float r = bits_to_f32(u) + 0.5f;  // 0.5 = denorm magic: FPU rounds for us
        o = f32_to_bits(r) - f32_to_bits(0.5f);
    } else {
        uint32_t odd = (u >> 13) & 1u;
        u += ((uint32_t)(15 - 127) << 23) + 0xFFFu + odd;
        o = u >> 13;
    }
    return (uint16_t)(o | (sign >> 16));
}

static inline double load_as_double(cusprun_dtype dt, const void *p, int64_t i) {
    switch (dt) {
    case CUSPRUN_F32: return ((const float *)p)[i];
    case CUSPRUN_BF16: return bf16_to_f32(((const uint16_t *)p)[i]);
    case CUSPRUN_F16: return f16_to_f32(((const uint16_t *)p)[i]);
    default: return ((const double *)p)[i];
    }
}
static inline size_t dtype_size(cusprun_dtype dt) {
    return dt == CUSPRUN_F64 ? 8 : dt == CUSPRUN_F32 ? 4 : 2;
}

// ---- per-ISA microkernels (simd_kernels.inc, compiled for several targets) ----
struct SimdKernels {
    const char *isa;
    // rows x n tile of the FFN: a = silu(gate)*up (rounded to dt), optional store to act
    // (row stride act_stride), accf/accd[c] += a^2 (at most one non-null).
    void (*ffn_tile)(int dt, const void *gate, const void *up, int64_t in_stride, void *act,
                     int64_t act_stride, int64_t rows, int64_t n, float *accf, double *accd);
    // dst[r*ldp + c] = (float)src[r*src_stride + c], zero-padding columns n..ldp-1.
    void (*to_f32_panel)(int dt, const void *src, int64_t src_stride, int64_t rows, int64_t n,
                         float *dst, int64_t ldp);
    // M[i*n + j] += y[i]*y[j] for j >= i (upper triangle of a rank-1 update).
    void (*gram_rank1)(const float *y, int64_t n, float *M);
    // M[r*ldm + c] += sum_t P[t*ldp + r0 + r] * P[t*ldp + c0 + c], r < nr (multiple of 4),
    // c < nc (multiple of 32): register-blocked.
    void (*gram_block)(const float *P, int64_t ldp, int64_t tc, int64_t r0, int64_t nr, int64_t c0,
                       int64_t nc, float *M, int64_t ldm);
    // One query row of qk_neuron: q (d, f32), KT (d rows of keys, row stride ldk, L valid).
    // Scratch s, p, em, e: L floats each. unit_acc[u] += ||p - p_u'||^2.
    void (*qk_row)(const float *q, const float *KT, int64_t ldk, int64_t L, int64_t d,
                   int rope_pairs, float scale, float *s, float *p, float *em, float *e,
                   double *unit_acc);
};

const SimdKernels &simd_generic();
const SimdKernels &simd_avx2();
const SimdKernels &simd_avx512();
// Best for this CPU, or the one named by env CUSPRUN_ISA (generic|avx2|avx512) if supported.
const SimdKernels &simd();

// ---- CPU variants: the public kernel types (cusprun.h); arguments already validated,
// device, variant and stream unused ----
cusprun_ffn_swiglu_fn ffn_naive, ffn_omp_simd;
cusprun_head_gram_fn gram_naive, gram_omp_simd, gram_blocked;
cusprun_qk_neuron_fn qk_naive, qk_omp_simd;
cusprun_rank_update_fn rank_naive, rank_omp_simd;

// Shared by both rank_update variants so that their results are bit-identical.
static inline void rank_apply(double p, int64_t k, double rel, float *rank_max, int32_t *rank_hist,
                              int64_t n_bins, int64_t *relevance_sum) {
    float pf = (float)p;
    if (pf > rank_max[k]) rank_max[k] = pf;
    int64_t bin = (int64_t)(p * (double)n_bins);
    if (bin > n_bins - 1) bin = n_bins - 1;
    rank_hist[k * n_bins + bin] += 1;
    cusprun_args::exact_add(relevance_sum, k, rel);
}

}  // namespace cusprun
