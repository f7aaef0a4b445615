/*
 * The HTTP parser against picohttpparser and http-parser, in the same run on the same machine.
 *
 *   bench_parser [RUNS]          every input through every parser: the best of RUNS timed runs
 *                                (default 9; the parsers take turns, so machine noise hits all)
 *                                as ns per message, and the ratio sockit/picohttpparser
 *   bench_parser one PARSER INPUT N
 *                                N messages through one parser only, untimed: for callgrind,
 *                                which bench/parser_bench.sh runs at two N and subtracts, giving
 *                                the instructions per message (exact and repeatable)
 *
 * PARSER: sockit, sockit2 (sockit_http_head_end and then the parse, as a server that waits for
 * the whole head does), pico, hp (http-parser). INPUT: browser, curl, response, chunked.
 *
 * Nothing is vendored: picohttpparser is Debian's libh2o-evloop0.13, which has it compiled in and
 * exports phr_*, without a header (the prototypes below are picohttpparser's own); http-parser
 * is Debian's libhttp-parser-dev. Every parser is asked for the same result: the method, target,
 * version and every header name and value as pointers into the buffer (http-parser through its
 * callbacks), or the decoded chunked body. The chunked decoders decode in place, so each message
 * starts from a fresh copy of the input, for every parser alike.
 */
#include <sockit/http.h>

#include <http_parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

/* ---- picohttpparser's interface (picohttpparser.h, declared here: Debian ships no header) --- */
struct phr_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};
struct phr_chunked_decoder {
    size_t bytes_left_in_chunk;
    char consume_trailer;
    char _hex_count;
    char _state;
};
int phr_parse_request(const char *buf, size_t len, const char **method, size_t *method_len,
                      const char **path, size_t *path_len, int *minor_version,
                      struct phr_header *headers, size_t *num_headers, size_t last_len);
int phr_parse_response(const char *buf, size_t len, int *minor_version, int *status,
                       const char **msg, size_t *msg_len, struct phr_header *headers,
                       size_t *num_headers, size_t last_len);
ssize_t phr_decode_chunked(struct phr_chunked_decoder *decoder, char *buf, size_t *bufsz);

/* ---- the inputs ------------------------------------------------------------------------------ */

/* The browser request of picohttpparser's own bench.c (705 bytes). */
static const char browser[] =
    "GET /wp-content/uploads/2010/03/hello-kitty-darth-vader-pink.jpg HTTP/1.1\r\n"
    "Host: www.kittyhell.com\r\n"
    "User-Agent: Mozilla/5.0 (Macintosh; U; Intel Mac OS X 10.6; ja-JP-mac; rv:1.9.2.3) "
    "Gecko/20100401 Firefox/3.6.3 Pathtraq/0.9\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
    "Accept-Language: ja,en-us;q=0.7,en;q=0.3\r\n"
    "Accept-Encoding: gzip,deflate\r\n"
    "Accept-Charset: Shift_JIS,utf-8;q=0.7,*;q=0.7\r\n"
    "Keep-Alive: 115\r\n"
    "Connection: keep-alive\r\n"
    "Cookie: wp_ozh_wsa_visits=2; wp_ozh_wsa_visit_lasttime=xxxxxxxxxx; "
    "__utma=xxxxxxxxx.xxxxxxxxxx.xxxxxxxxxx.xxxxxxxxxx.xxxxxxxxxx.x; "
    "__utmz=xxxxxxxxx.xxxxxxxxxx.x.x.utmccn=(referral)|utmcsr=reader.livedoor.com|utmcct=/reader/"
    "|utmcmd=referral\r\n"
    "\r\n";

/* What curl 7.88 sends for `curl http://example.com/`. */
static const char curl[] = "GET / HTTP/1.1\r\n"
                           "Host: example.com\r\n"
                           "User-Agent: curl/7.88.1\r\n"
                           "Accept: */*\r\n"
                           "\r\n";

/* A typical response head (a static file from a web server). */
static const char response[] = "HTTP/1.1 200 OK\r\n"
                               "Date: Mon, 30 Nov 2026 20:00:00 GMT\r\n"
                               "Server: Apache/2.4.57 (Debian)\r\n"
                               "Last-Modified: Tue, 03 Nov 2026 09:14:12 GMT\r\n"
                               "ETag: \"2aa6-5e9a7d0f6c3a1\"\r\n"
                               "Accept-Ranges: bytes\r\n"
                               "Content-Length: 10918\r\n"
                               "Vary: Accept-Encoding\r\n"
                               "Cache-Control: max-age=3600\r\n"
                               "Content-Type: text/html; charset=UTF-8\r\n"
                               "Keep-Alive: timeout=5, max=100\r\n"
                               "Connection: Keep-Alive\r\n"
                               "\r\n";

/* A chunked body: built at start-up (chunks of 1000, 2000, 512, 100 and 7 bytes, the last
 * chunk and one trailer). */
static char chunked[8192];
static size_t chunked_len;
static size_t chunked_body; /* the decoded length */

/* http-parser decodes chunked bodies only inside a message: this head is put in front. */
static const char chunked_head[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
static char chunked_msg[8192];
static size_t chunked_msg_len;

static void build_chunked(void)
{
    static const size_t sizes[] = {1000, 2000, 512, 100, 7};
    size_t o = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        o += (size_t)snprintf(chunked + o, sizeof chunked - o, "%zx\r\n", sizes[i]);
        for (size_t k = 0; k < sizes[i]; k++) chunked[o++] = (char)('a' + (i + k) % 26);
        memcpy(chunked + o, "\r\n", 2);
        o += 2;
        chunked_body += sizes[i];
    }
    o += (size_t)snprintf(chunked + o, sizeof chunked - o, "0\r\nX-Checksum: 12345\r\n\r\n");
    chunked_len = o;
    memcpy(chunked_msg, chunked_head, sizeof chunked_head - 1);
    memcpy(chunked_msg + sizeof chunked_head - 1, chunked, chunked_len);
    chunked_msg_len = sizeof chunked_head - 1 + chunked_len;
}

/* ---- one message through each parser ------------------------------------------------------- */

enum { IN_BROWSER, IN_CURL, IN_RESPONSE, IN_CHUNKED, NINPUTS };
static const char *const input_names[NINPUTS] = {"browser", "curl", "response", "chunked"};
enum { P_SOCKIT, P_SOCKIT2, P_PICO, P_HP, NPARSERS };
static const char *const parser_names[NPARSERS] = {"sockit", "sockit2", "pico", "hp"};

static volatile size_t sink; /* results go here, so no parse is optimised away */
static char scratch[8192];  /* where the chunked decoders decode */

static size_t run_sockit(int in, int head_end_first)
{
    sockit_http_header h[32];
    const char *buf = in == IN_BROWSER ? browser : in == IN_CURL ? curl : response;
    size_t len = in == IN_BROWSER ? sizeof browser - 1 : in == IN_CURL ? sizeof curl - 1 : sizeof response - 1;
    if (in == IN_CHUNKED) {
        sockit_http_chunked d;
        size_t n = chunked_len, rest;
        memcpy(scratch, chunked, chunked_len);
        sockit_http_chunked_init(&d);
        if (sockit_http_chunked_decode(&d, scratch, &n, &rest) != 1 || n != chunked_body) abort();
        return n;
    }
    if (head_end_first) {
        size_t scanned = 0;
        if (sockit_http_head_end(buf, len, &scanned) != (ssize_t)len) abort();
    }
    ssize_t r;
    if (in == IN_RESPONSE) {
        sockit_http_response resp = {.headers = h, .nheaders = 32};
        r = sockit_http_parse_response(buf, len, &resp);
        if (r != (ssize_t)len || resp.nheaders != 11) abort();
        return (size_t)r + resp.nheaders + resp.reason.n;
    }
    sockit_http_request req = {.headers = h, .nheaders = 32};
    r = sockit_http_parse_request(buf, len, &req);
    if (r != (ssize_t)len) abort();
    return (size_t)r + req.nheaders + req.target.n;
}

static size_t run_pico(int in)
{
    struct phr_header h[32];
    size_t nh = 32;
    int minor, status, r;
    if (in == IN_CHUNKED) {
        struct phr_chunked_decoder d;
        size_t n = chunked_len;
        memcpy(scratch, chunked, chunked_len);
        memset(&d, 0, sizeof d);
        d.consume_trailer = 1;
        if (phr_decode_chunked(&d, scratch, &n) != 0 || n != chunked_body) abort();
        return n;
    }
    if (in == IN_RESPONSE) {
        const char *msg;
        size_t msg_len;
        r = phr_parse_response(response, sizeof response - 1, &minor, &status, &msg, &msg_len, h, &nh, 0);
        if (r != (int)sizeof response - 1 || nh != 11) abort();
        return (size_t)r + nh + msg_len;
    }
    const char *buf = in == IN_BROWSER ? browser : curl;
    size_t len = in == IN_BROWSER ? sizeof browser - 1 : sizeof curl - 1;
    const char *method, *path;
    size_t method_len, path_len;
    r = phr_parse_request(buf, len, &method, &method_len, &path, &path_len, &minor, h, &nh, 0);
    if (r != (int)len) abort();
    return (size_t)r + nh + path_len;
}

/* http-parser: the callbacks keep what picohttpparser and sockit return (pointers and lengths). */
struct hp_result {
    const char *url, *name[32], *value[32];
    size_t url_len, name_len[32], value_len[32], n, body;
    int done;
};

static int hp_url(http_parser *p, const char *at, size_t n)
{
    struct hp_result *r = p->data;
    r->url = at;
    r->url_len = n;
    return 0;
}

static int hp_field(http_parser *p, const char *at, size_t n)
{
    struct hp_result *r = p->data;
    if (r->n == 32) return 1;
    r->name[r->n] = at;
    r->name_len[r->n] = n;
    return 0;
}

static int hp_value(http_parser *p, const char *at, size_t n)
{
    struct hp_result *r = p->data;
    r->value[r->n] = at;
    r->value_len[r->n++] = n;
    return 0;
}

static int hp_body(http_parser *p, const char *at, size_t n)
{
    struct hp_result *r = p->data;
    (void)at;
    r->body += n;
    return 0;
}

static int hp_complete(http_parser *p)
{
    ((struct hp_result *)p->data)->done = 1;
    return 0;
}

static int hp_headers_complete(http_parser *p)
{
    ((struct hp_result *)p->data)->done = 1;
    return 0;
}

static size_t run_hp(int in)
{
    static http_parser_settings head_settings = {.on_url = hp_url, .on_header_field = hp_field,
                                                 .on_header_value = hp_value,
                                                 .on_headers_complete = hp_headers_complete};
    static http_parser_settings body_settings = {.on_header_field = hp_field, .on_header_value = hp_value,
                                                 .on_body = hp_body, .on_message_complete = hp_complete};
    http_parser p;
    struct hp_result r;
    r.n = r.body = 0;
    r.done = 0;
    const char *buf = in == IN_BROWSER ? browser : in == IN_CURL ? curl : in == IN_RESPONSE ? response : chunked_msg;
    size_t len = in == IN_BROWSER ? sizeof browser - 1 : in == IN_CURL ? sizeof curl - 1
               : in == IN_RESPONSE ? sizeof response - 1 : chunked_msg_len;
    http_parser_init(&p, in == IN_BROWSER || in == IN_CURL ? HTTP_REQUEST : HTTP_RESPONSE);
    p.data = &r;
    size_t n = http_parser_execute(&p, in == IN_CHUNKED ? &body_settings : &head_settings, buf, len);
    if (n != len || !r.done || p.http_errno) abort();
    if (in == IN_CHUNKED && r.body != chunked_body) abort();
    return n + r.n + r.body;
}

static size_t run(int parser, int in)
{
    switch (parser) {
    case P_SOCKIT: return run_sockit(in, 0);
    case P_SOCKIT2: return run_sockit(in, 1);
    case P_PICO: return run_pico(in);
    default: return run_hp(in);
    }
}

/* ---- timing ---------------------------------------------------------------------------------- */

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* ns per message over one timed run of about 20 ms. */
static double time_one(int parser, int in, size_t iters)
{
    size_t acc = 0;
    double t0 = now_ns();
    for (size_t i = 0; i < iters; i++) acc += run(parser, in);
    double t = now_ns() - t0;
    sink = acc;
    return t / (double)iters;
}

static int lookup(const char *const *names, int n, const char *s)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], s)) return i;
    return -1;
}

int main(int argc, char **argv)
{
    build_chunked();
    if (argc == 5 && !strcmp(argv[1], "one")) {
        int p = lookup(parser_names, NPARSERS, argv[2]), in = lookup(input_names, NINPUTS, argv[3]);
        long n = atol(argv[4]);
        if (p < 0 || in < 0 || n < 0) {
            fprintf(stderr, "bench_parser one: PARSER is sockit|sockit2|pico|hp, INPUT "
                            "browser|curl|response|chunked, N a count\n");
            return 2;
        }
        size_t acc = 0;
        for (long i = 0; i < n; i++) acc += run(p, in);
        sink = acc;
        return 0;
    }
    int runs = argc > 1 ? atoi(argv[1]) : 9;
    if (argc > 2 || runs < 1 || runs > 1000) {
        fprintf(stderr, "usage: bench_parser [RUNS] | bench_parser one PARSER INPUT N\n");
        return 2;
    }
    static const size_t sizes[NINPUTS] = {sizeof browser - 1, sizeof curl - 1, sizeof response - 1, 0};
    printf("%-9s %6s %12s %12s %12s %12s %12s\n", "input", "bytes", "sockit ns", "sockit2 ns",
           "pico ns", "http-parser", "sockit/pico");
    for (int in = 0; in < NINPUTS; in++) {
        double best[NPARSERS];
        size_t iters[NPARSERS];
        for (int p = 0; p < NPARSERS; p++) {
            /* Calibrate: about 20 ms per run. */
            double t = time_one(p, in, 1000);
            iters[p] = t > 0 ? (size_t)(20e6 / t) + 1 : 100000;
            best[p] = 1e18;
        }
        for (int r = 0; r < runs; r++)
            for (int p = 0; p < NPARSERS; p++) {
                double t = time_one(p, in, iters[p]);
                if (t < best[p]) best[p] = t;
            }
        printf("%-9s %6zu %12.1f %12.1f %12.1f %12.1f %12.2f\n", input_names[in],
               in == IN_CHUNKED ? chunked_len : sizes[in], best[P_SOCKIT], best[P_SOCKIT2],
               best[P_PICO], best[P_HP], best[P_SOCKIT] / best[P_PICO]);
    }
    printf("(best of %d runs; sockit2 = sockit_http_head_end then the parse; chunked: %zu-byte "
           "body in 5 chunks plus a trailer, decoded in place from a fresh copy by every parser; "
           "http-parser's chunked figure includes a %zu-byte response head)\n",
           runs, chunked_body, sizeof chunked_head - 1);
    return 0;
}
