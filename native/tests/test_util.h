// Tiny test helpers shared by the ctest programs: checks that count failures,
// seeded random data in every dtype, tolerant comparisons.
#pragma once
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <random>
#include <string>
#include <vector>

#include "cusprun.h"
#include "internal.h"

static int g_failures = 0, g_checks = 0;

#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        ++g_checks;                                                             \
        if (!(cond)) {                                                          \
            ++g_failures;                                                       \
            if (g_failures <= 30) {                                             \
                fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
                fprintf(stderr, __VA_ARGS__);                                   \
                fprintf(stderr, "\n");                                          \
            }                                                                   \
        }                                                                       \
    } while (0)

static inline int finish(const char *name) {
    printf("%s: %d checks, %d failures\n", name, g_checks, g_failures);
    return g_failures ? 1 : 0;
}

static inline const char *dtname(cusprun_dtype t) {
    return t == CUSPRUN_F32 ? "f32" : t == CUSPRUN_BF16 ? "bf16" : t == CUSPRUN_F16 ? "f16" : "f64";
}

// A buffer of n values of dtype t (activations: f32/bf16/f16; accumulators: f32/f64).
struct Buf {
    cusprun_dtype t;
    std::vector<unsigned char> bytes;
    Buf(cusprun_dtype t_, size_t n) : t(t_), bytes(n * cusprun::dtype_size(t_)) {}
    void *data() { return bytes.data(); }
    size_t size() const { return bytes.size() / cusprun::dtype_size(t); }
    double get(size_t i) const { return cusprun::load_as_double(t, bytes.data(), (int64_t)i); }
    void set(size_t i, double v) {
        switch (t) {
        case CUSPRUN_F32: ((float *)bytes.data())[i] = (float)v; break;
        case CUSPRUN_F64: ((double *)bytes.data())[i] = v; break;
        case CUSPRUN_BF16: ((uint16_t *)bytes.data())[i] = cusprun::f32_to_bf16((float)v); break;
        case CUSPRUN_F16: ((uint16_t *)bytes.data())[i] = cusprun::f32_to_f16((float)v); break;
        }
    }
};

static inline void fill_normal(Buf &b, std::mt19937_64 &rng, double sd = 1.0) {
    std::normal_distribution<double> N(0.0, sd);
    for (size_t i = 0; i < b.size(); ++i) b.set(i, N(rng));
}
static inline void fill_uniform(Buf &b, std::mt19937_64 &rng, double lo, double hi) {
    std::uniform_real_distribution<double> U(lo, hi);
    for (size_t i = 0; i < b.size(); ++i) b.set(i, U(rng));
}
static inline void fill_nan(Buf &b) {
    for (size_t i = 0; i < b.size(); ++i) b.set(i, NAN);
}

// Packed documents with uneven lengths (one empty) summing to T.
static inline std::vector<int64_t> uneven_offsets(int64_t T, std::mt19937_64 &rng) {
    std::vector<int64_t> o{0};
    std::uniform_int_distribution<int64_t> U(1, std::max<int64_t>(1, T / 2));
    bool empty_done = false;
    while (o.back() < T) {
        if (!empty_done && o.size() == 2) {  // an empty document as the second one
            o.push_back(o.back());
            empty_done = true;
            continue;
        }
        o.push_back(std::min(T, o.back() + U(rng)));
    }
    return o;
}
