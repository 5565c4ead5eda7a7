/* cusprun.h and cusprun_cuda.h as C99 callers (the Java binding among them) see them: the
 * kernel function types declare the entry points, and the version is exported. */
#include <stdio.h>

#include "cusprun.h"
#include "cusprun_cuda.h"

int main(void) {
    cusprun_ffn_swiglu_fn *ffn = cusprun_ffn_swiglu;
    cusprun_head_gram_fn *gram = cusprun_head_gram;
    cusprun_qk_neuron_fn *qk = cusprun_qk_neuron;
    cusprun_rank_update_fn *rank = cusprun_rank_update;
    int64_t offs[2] = {0, 0};
    float x = 0.0f;
    /* nothing to do (act_out and acc both NULL) is an argument error, through the pointer too */
    int rc = ffn(-1, CUSPRUN_DEFAULT_VARIANT, NULL, CUSPRUN_F32, &x, &x, 1, NULL, 1, 1, offs, 1,
                 CUSPRUN_F32, NULL);
    if (cusprun_api_version() != CUSPRUN_API_VERSION || rc != CUSPRUN_ERR_ARGUMENT || !gram ||
        !qk || !rank) {
        fprintf(stderr, "c_header: api version %d (header %d), rc %d\n", cusprun_api_version(),
                CUSPRUN_API_VERSION, rc);
        return 1;
    }
    printf("c_header: API version %d\n", cusprun_api_version());
    return 0;
}
