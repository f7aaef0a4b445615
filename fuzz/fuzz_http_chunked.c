/*
 * Fuzz target for the in-place chunked decoder: sockit_http_chunked_init and
 * sockit_http_chunked_decode.
 *
 * Input: four control bytes, then a chunked body (maybe followed by the next message). The
 * body is decoded three ways by fresh decoders:
 *   1. all at once;
 *   2. in pieces whose sizes cycle through the control bytes (each & 0x3f; 0 is an empty call),
 *      or one byte at a time when control byte 0 has its top bit set;
 *   3. one byte at a time, with an empty call before every byte.
 * Every piece is copied into a buffer of exactly its size (ASan sees a read or write past it).
 * A readable seed therefore starts with e.g. "\x01\x02\x03\x04" (pieces of 1, 2, 3, 4 bytes).
 *
 * What aborts (a bug for the fuzzer to report):
 *   - a result other than SOCKIT_EINCOMPLETE, 1 or SOCKIT_EPROTO; SOCKIT_EPROTO or
 *     SOCKIT_EINCOMPLETE without a message of its own (below, a run's rc is 0 for "more
 *     needed", as the reference decoder says it);
 *   - an output longer than its input, or a rest that does not fit after the body;
 *   - the three ways disagreeing: in the result (more needed / complete / error), in the body
 *     bytes, or in the bytes handed back after the body (the next message);
 *   - the whole-input answer disagreeing with ref_decode below, a second, non-incremental
 *     reading of the grammar the decoder implements: RFC 9112 section 7.1 with CR LF line ends
 *     only (http.h: a bare LF is refused in chunked framing), 1 to 16 hex digits, an extension after ';' or whitespace,
 *     extension and trailer lines of at most 8 KiB without control characters (HTAB allowed),
 *     each trailer line a field: a token, ':', then the value (no folding).
 */
#include "fuzz_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT 65536

struct run {
    int rc;
    uint8_t *body, *rest;
    size_t nbody, nrest;
};

/* Feeds in[0, n) in pieces: piece k has size sizes[k % 4] (SIZE_MAX: all of it); with empties,
 * an empty call comes before each piece. */
static void feed(const uint8_t *data, size_t size, const uint8_t *in, size_t n,
                 const size_t sizes[4], int empties, struct run *out)
{
    sockit_http_chunked d;
    sockit_http_chunked_init(&d);
    out->body = malloc(n + 1);
    out->rest = malloc(n + 1);
    if (!out->body || !out->rest)
        abort();
    out->nbody = out->nrest = 0;
    out->rc = 0;
    size_t pos = 0, k = 0, idle = 0;
    do {
        size_t m = sizes[k++ % 4];
        if (m > n - pos)
            m = n - pos;
        if (empties) {
            char *e = malloc(1);
            size_t l = 0, rest = 99;
            if (!e)
                abort();
            int rc = sockit_http_chunked_decode(&d, e, &l, &rest);
            free(e);
            if (rc != SOCKIT_EINCOMPLETE || l != 0)
                fail("an empty call did not answer SOCKIT_EINCOMPLETE with nothing", data, size);
        }
        char *p = malloc(m ? m : 1);
        if (!p)
            abort();
        memcpy(p, in + pos, m);
        size_t l = m, rest = 99;
        arm_errmsg();
        int rc = sockit_http_chunked_decode(&d, p, &l, &rest);
        pos += m;
        if (rc != SOCKIT_EINCOMPLETE && rc != 1 && rc != SOCKIT_EPROTO)
            fail("an unknown result", data, size);
        if ((rc == SOCKIT_EPROTO || rc == SOCKIT_EINCOMPLETE) && !own_message())
            fail("SOCKIT_EPROTO or SOCKIT_EINCOMPLETE without a message of its own", data, size);
        out->rc = rc == SOCKIT_EINCOMPLETE ? 0 : rc;
        if (out->rc >= 0) {
            if (l > m)
                fail("more body out than bytes in", data, size);
            memcpy(out->body + out->nbody, p, l);
            out->nbody += l;
        }
        if (out->rc == 1) {
            if (rest > m - l)
                fail("a rest that does not fit after the body", data, size);
            memcpy(out->rest, p + l, rest);
            memcpy(out->rest + rest, in + pos, n - pos);
            out->nrest = rest + n - pos;
        }
        free(p);
        idle = m ? 0 : idle + 1;
        if (idle > 4)
            fail("the piece sizes make no progress (driver bug)", data, size);
    } while (out->rc == 0 && pos < n);
}

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
        return (c | 0x20) - 'a' + 10;
    return -1;
}

static int ctl(uint8_t c)
{
    return c < 0x20 && c != '\t';
}

/* A line end at in[*i]: 1 (consumed), 0 (input ends first), -1 (not a line end). */
static int line_end(const uint8_t *in, size_t n, size_t *i)
{
    if (in[*i] != '\r') /* CR LF only: a bare LF is refused in chunked framing */
        return -1;
    if (++*i == n)
        return 0;
    if (in[*i] != '\n')
        return -1;
    ++*i;
    return 1;
}

/* Skips the rest of an extension or trailer line (no control characters, at most 8 KiB) up to
 * its line end: 1, 0 (input ends first), -1. */
static int skip_line(const uint8_t *in, size_t n, size_t *i, size_t len)
{
    while (*i < n && in[*i] != '\r' && in[*i] != '\n') {
        if (ctl(in[*i]) || ++len > 8192)
            return -1;
        ++*i;
    }
    return *i == n ? 0 : line_end(in, n, i);
}

/* The reference decoder, on the whole input at once: 1 complete (*used bytes), 0 more needed,
 * -1 malformed, 2 either answer will do; body[0, *nbody) the body bytes seen. */
static int ref_decode(const uint8_t *in, size_t n, uint8_t *body, size_t *nbody, size_t *used)
{
    size_t i = 0;
    int r;
    *nbody = 0;
    for (;;) {
        uint64_t size = 0;
        size_t digits = 0;
        while (i < n && hexval(in[i]) >= 0) {
            if (++digits > 16)
                return -1;
            size = size << 4 | (uint64_t)hexval(in[i++]);
        }
        if (i == n)
            return 0;
        if (digits == 0)
            return -1;
        size_t sep = i; /* the decoder bounds the bytes after the first of BWS or ';' */
        while (i < n && (in[i] == ' ' || in[i] == '\t'))
            i++;
        if (i == n)
            return 0;
        if (in[i] == ';') {
            i++;
            r = skip_line(in, n, &i, i - sep - 1);
        } else if (i > sep && in[i] != '\r' && in[i] != '\n') {
            return 2; /* "5 x": not the grammar (only BWS before ';'), but http.h does not say */
        } else {
            r = line_end(in, n, &i);
        }
        if (r <= 0)
            return r;
        if (size == 0)
            break;
        size_t k = n - i < size ? n - i : (size_t)size;
        memcpy(body + *nbody, in + i, k);
        *nbody += k;
        i += k;
        if (i == n)
            return 0;
        if ((r = line_end(in, n, &i)) <= 0)
            return r;
    }
    for (;;) { /* trailer lines up to the empty one */
        if (i == n)
            return 0;
        if (in[i] == '\r' || in[i] == '\n') {
            if ((r = line_end(in, n, &i)) <= 0)
                return r;
            *used = i;
            return 1;
        }
        size_t name = 0; /* a field name (a token), then ':' */
        while (i < n && tchar(in[i])) {
            if (++name > 8192)
                return -1;
            i++;
        }
        if (i == n)
            return 0;
        if (name == 0 || in[i] != ':')
            return -1;
        i++;
        if ((r = skip_line(in, n, &i, name + 1)) <= 0)
            return r;
    }
}

static void run_free(struct run *r)
{
    free(r->body);
    free(r->rest);
}

static void compare(const uint8_t *data, size_t size, const struct run *a, const struct run *b,
                    const char *how)
{
    char what[128];
    if (a->rc != b->rc) {
        snprintf(what, sizeof what, "whole gives %d, %s gives %d", a->rc, how, b->rc);
        fail(what, data, size);
    }
    if (a->rc == SOCKIT_EPROTO)
        return; /* the body bytes before an error are not specified */
    if (a->nbody != b->nbody || memcmp(a->body, b->body, a->nbody) != 0) {
        snprintf(what, sizeof what, "whole and %s give different bodies (%zu and %zu bytes)", how,
                 a->nbody, b->nbody);
        fail(what, data, size);
    }
    if (a->rc == 1 && (a->nrest != b->nrest || memcmp(a->rest, b->rest, a->nrest) != 0)) {
        snprintf(what, sizeof what, "whole and %s hand back different rests", how);
        fail(what, data, size);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4 || size > MAX_INPUT)
        return 0;
    const uint8_t *in = data + 4;
    size_t n = size - 4;
    static const size_t whole[4] = {SIZE_MAX, SIZE_MAX, SIZE_MAX, SIZE_MAX};
    static const size_t ones[4] = {1, 1, 1, 1};
    size_t pieces[4];
    int any = 0;
    for (int i = 0; i < 4; i++) {
        pieces[i] = data[0] & 0x80 ? 1 : (size_t)(data[i] & 0x3f);
        any |= pieces[i] != 0;
    }
    if (!any)
        pieces[0] = 1;

    struct run a, b, c;
    feed(data, size, in, n, whole, 0, &a);
    if (a.rc >= 0 && a.nbody + (a.rc == 1 ? a.nrest : 0) > n)
        fail("body and rest longer than the input", data, size);
    if (a.rc == 1) {
        /* A complete body went through a last chunk: some line starts with '0'. */
        int last = 0;
        for (size_t i = 0; i + 1 < n - a.nrest && !last; i++)
            last = (i == 0 || in[i - 1] == '\n') && in[i] == '0';
        if (!last)
            fail("complete without a last chunk", data, size);
    }
    {
        uint8_t *body = malloc(n + 1);
        size_t nbody = 0, used = 0;
        if (!body)
            abort();
        int want = ref_decode(in, n, body, &nbody, &used);
        int got = a.rc == SOCKIT_EPROTO ? -1 : a.rc;
        if (want != 2 && want != got) {
            char what[96];
            snprintf(what, sizeof what, "the decoder says %d, the reference grammar %d", got, want);
            fail(what, data, size);
        }
        if (want == got && got >= 0 && (nbody != a.nbody || memcmp(body, a.body, nbody) != 0))
            fail("the decoder and the reference give different bodies", data, size);
        if (want == got && got == 1 &&
            (n - used != a.nrest || memcmp(in + used, a.rest, a.nrest) != 0))
            fail("the decoder and the reference hand back different rests", data, size);
        free(body);
    }
    feed(data, size, in, n, pieces, 0, &b);
    compare(data, size, &a, &b, "pieces");
    feed(data, size, in, n, ones, 1, &c);
    compare(data, size, &a, &c, "byte by byte");
    run_free(&a);
    run_free(&b);
    run_free(&c);
    return 0;
}
