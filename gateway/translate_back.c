/* placeholder replaced below */
#include "translate.h"
int icx_translate_back(icx_buf *csv_out, const icx_mapping *m,
                       const char *xml, size_t len, icx_err *err)
{
    (void)csv_out; (void)m; (void)xml; (void)len;
    return icx_err_set(err, ICX_ERROR, "not yet");
}
