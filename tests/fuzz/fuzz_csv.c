/*
 * fuzz_csv.c - libFuzzer target for the domestic-file readers: text
 * decoding (UTF-8 / CP932 / auto) and the bounded RFC 4180 CSV reader.
 * Every field the reader hands out must lie inside its limits and every
 * decoded text must be valid UTF-8.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(const char *text, size_t len)
{
    icx_csv_limits lim = {64 * 1024, 1000, 64, 4096};
    icx_csv *c = NULL;
    icx_err err;

    icx_err_clear(&err);
    if (icx_csv_parse(&c, text, len, &lim, &err) < 0) {
        if (c != NULL)
            abort(); /* a failed parse returns nothing */
        return;
    }
    size_t rows = icx_csv_rows(c);
    if (rows > lim.max_rows)
        abort();
    for (size_t r = 0; r < rows; r++) {
        size_t cols = icx_csv_cols(c, r);
        if (cols > lim.max_cols)
            abort();
        (void)icx_csv_line(c, r);
        for (size_t k = 0; k < cols; k++) {
            const char *f = icx_csv_field(c, r, k);
            if (f == NULL || strlen(f) > lim.max_field)
                abort();
        }
        if (icx_csv_field(c, r, cols) != NULL)
            abort();
    }
    icx_csv_free(&c);
    if (c != NULL)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const encodings[] = {"utf-8", "cp932", "auto"};
    const char *text = (const char *)data;
    icx_err err;

    walk(text, size);
    for (size_t i = 0; i < sizeof encodings / sizeof encodings[0]; i++) {
        char *out = NULL;
        size_t outlen = 0;
        const char *used = NULL;
        icx_err_clear(&err);
        if (icx_text_decode(&out, &outlen, &used, text, size, encodings[i],
                            &err) == ICX_OK) {
            if (out == NULL || out[outlen] != '\0' ||
                !icx_utf8_valid(out, outlen))
                abort();
            walk(out, outlen);
        }
        free(out);
    }
    return 0;
}
