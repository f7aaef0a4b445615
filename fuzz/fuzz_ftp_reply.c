/*
 * Fuzz target for the FTP reply parser (sockit__ftp_parse_reply): the bytes a client has read
 * from a control connection.
 *
 * What aborts (a bug for the fuzzer to report):
 *   - a result other than > 0, SOCKIT_EINCOMPLETE or SOCKIT_EPROTO, or an error without a message;
 *   - on success: a length over the input or the reply limit, a reply not ending in LF, a code
 *     outside 100..599 or other than the first three bytes, a multi-line reply whose last line
 *     does not start with the code;
 *   - the answer changing with the amount of input: every prefix shorter than a reply is
 *     incomplete, and more input after a reply does not change it;
 *   - a prefix answering EPROTO where the whole input answered with a reply.
 */
#include "fuzz_ftp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_reply(const uint8_t *data, size_t size, const char *buf, ssize_t r, int code)
{
    if ((size_t)r > size || (size_t)r > SOCKIT__FTP_REPLY_MAX)
        fail("a reply longer than the input or the limit", data, size);
    if (buf[r - 1] != '\n') fail("a reply not ending in LF", data, size);
    int digits = (buf[0] - '0') * 100 + (buf[1] - '0') * 10 + (buf[2] - '0');
    if (code < 100 || code > 599 || code != digits)
        fail("a code that is not the first three digits", data, size);
    if (buf[3] == '-') {
        /* The last line starts with the code and SP (or ends right after it). */
        size_t start = (size_t)r - 1;
        while (start > 0 && buf[start - 1] != '\n') start--;
        if (start == 0 || (size_t)r - start < 4 || memcmp(buf + start, buf, 3) != 0 ||
            (buf[start + 3] != ' ' && buf[start + 3] != '\r' && buf[start + 3] != '\n'))
            fail("a multi-line reply that does not end with its code", data, size);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 2 * SOCKIT__FTP_REPLY_MAX) return 0;
    char *buf = copy_input(data, size);
    int code = 0;
    ssize_t r = sockit__ftp_parse_reply(buf, size, &code);
    if (r <= 0 && r != SOCKIT_EINCOMPLETE && r != SOCKIT_EPROTO) fail("an unknown result", data, size);
    if (r == SOCKIT_EPROTO && !*sockit_errmsg()) fail("an error without a message", data, size);
    if (r > 0) {
        check_reply(data, size, buf, r, code);
        int c2 = 0;
        for (size_t k = 0; k < (size_t)r; k += 1 + k / 16) /* prefixes, thinned for long inputs */
            if (sockit__ftp_parse_reply(buf, k, &c2) != SOCKIT_EINCOMPLETE)
                fail("a prefix of a reply is not incomplete", data, size);
        if (sockit__ftp_parse_reply(buf, (size_t)r, &c2) != r || c2 != code)
            fail("the reply alone parses differently", data, size);
    }
    free(buf);
    return 0;
}
