/*
 * Fuzz target for the reply-text parsers the data connections rely on: EPSV (229), PASV (227),
 * the size in a 150 reply, PWD's quoted name (257) and FEAT's list.
 *
 * What aborts: a port outside 1..65535 accepted, an error without a message, a PASV address
 * that is not the six numbers read independently, a 150 size that is negative but not -1, a 257
 * name longer than the input or its buffer, FEAT without its "answered" bit.
 */
#include "fuzz_ftp.h"

#include <ctype.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_pasv(const uint8_t *data, size_t size, const char *buf)
{
    unsigned char ip[4];
    int port = -1;
    int r = sockit__ftp_parse_pasv(buf, size, ip, &port);
    if (r != 0 && r != SOCKIT_EPROTO) fail("pasv: an unknown result", data, size);
    if (r == 0 && (port < 1 || port > 65535)) fail("pasv: a port out of range", data, size);
    if (r == 0) {
        /* Independently: the six numbers after the first digit past the code. */
        size_t i = size > 4 ? 4 : size;
        while (i < size && !isdigit((unsigned char)buf[i])) i++;
        unsigned v[6];
        for (int k = 0; k < 6; k++) {
            v[k] = 0;
            while (i < size && isdigit((unsigned char)buf[i])) v[k] = v[k] * 10 + (unsigned)(buf[i++] - '0');
            i++;
        }
        if (v[0] != ip[0] || v[1] != ip[1] || v[2] != ip[2] || v[3] != ip[3] ||
            (int)(v[4] * 256 + v[5]) != port)
            fail("pasv: the address differs from the numbers in the text", data, size);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096) return 0;
    char *buf = copy_input(data, size);
    int port = sockit__ftp_parse_epsv(buf, size);
    if (port != SOCKIT_EPROTO && (port < 1 || port > 65535)) fail("epsv: a port out of range", data, size);
    if (port == SOCKIT_EPROTO && !*sockit_errmsg()) fail("epsv: an error without a message", data, size);
    check_pasv(data, size, buf);
    int64_t n = sockit__ftp_parse_150_size(buf, size);
    if (n < -1) fail("150: a negative size", data, size);
    char out[64];
    int q = sockit__ftp_parse_257(buf, size, out, sizeof out);
    if (q >= 0 && ((size_t)q >= sizeof out || (size_t)q > size || out[q] != 0))
        fail("257: a name longer than its room or not terminated", data, size);
    if (q < 0 && q != SOCKIT_EPROTO && q != -ENOBUFS) fail("257: an unknown result", data, size);
    int feat = sockit__ftp_parse_feat(buf, size);
    if (!(feat & SOCKIT_FTP_FEAT_FEAT)) fail("feat: the answered bit missing", data, size);
    free(buf);
    return 0;
}
