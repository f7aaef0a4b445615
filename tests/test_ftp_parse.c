/*
 * test_ftp_parse.c — the FTP client's parsers as tables: replies (single and multi-line, limits,
 * every truncated prefix incomplete, inputs against a guard page), EPSV/PASV/150/257/FEAT reply
 * texts, MLSD facts, LIST lines (Unix `ls -l` variants and DOS) and times.
 */
#include "testutil.h"

#include "internal/ftp.h"

static void test_reply_table(void)
{
    static const struct {
        const char *in;
        ssize_t want; /* bytes, or a code */
        int code;
    } rows[] = {
        {"220 ready\r\n", 11, 220},
        {"220 ready\n", 10, 220},
        {"200\r\n", 5, 200},
        {"230 ok\r\n150 next\r\n", 8, 230},
        {"211-Features:\r\n MLSD\r\n SIZE\r\n211 End\r\n", 38, 211},
        {"211-a\r\n211-b\r\n211 c\r\n", 21, 211},
        {"211-a\r\n 211 not the end\r\n212 other\r\n211\r\n", 41, 211},
        {"220-multi\r\nno code here\r\n220-still\r\n220 done\r\n", 46, 220},
        {"220", SOCKIT_EINCOMPLETE, 0},
        {"220 no end", SOCKIT_EINCOMPLETE, 0},
        {"211-a\r\n211-b\r\n", SOCKIT_EINCOMPLETE, 0},
        {"", SOCKIT_EINCOMPLETE, 0},
        {"HTTP/1.1 200 OK\r\n", SOCKIT_EPROTO, 0},
        {"620 bad class\r\n", SOCKIT_EPROTO, 0},
        {"020 bad class\r\n", SOCKIT_EPROTO, 0},
        {"22x bad\r\n", SOCKIT_EPROTO, 0},
        {"2200 long code\r\n", SOCKIT_EPROTO, 0},
        {"220_x\r\n", SOCKIT_EPROTO, 0},
        {"\r\n", SOCKIT_EPROTO, 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        TU_CTX("row %zu: %s", i, tu_esc(rows[i].in));
        size_t n = strlen(rows[i].in);
        char *g = tu_guarded(rows[i].in, n);
        int code = 0;
        CHECK_INT(sockit__ftp_parse_reply(g, n, &code), ==, rows[i].want);
        if (rows[i].want > 0) {
            CHECK_INT(code, ==, rows[i].code);
            /* Every shorter prefix of a complete reply is incomplete. */
            for (size_t k = 0; k < (size_t)rows[i].want; k++)
                CHECK_INT(sockit__ftp_parse_reply(g, k, &code), ==, SOCKIT_EINCOMPLETE);
        }
        tu_guarded_free(g, n);
    }
}

static void test_reply_limits(void)
{
    /* A line of exactly the limit passes; one byte more without LF is refused. */
    size_t n = SOCKIT__FTP_LINE_MAX;
    char *buf = malloc(SOCKIT__FTP_REPLY_MAX + 2 * SOCKIT__FTP_LINE_MAX);
    memset(buf, 'x', n);
    memcpy(buf, "220 ", 4);
    buf[n - 1] = '\n';
    int code;
    CHECK_INT(sockit__ftp_parse_reply(buf, n, &code), ==, (ssize_t)n);
    buf[n - 1] = 'x';
    CHECK_INT(sockit__ftp_parse_reply(buf, n - 1, &code), ==, SOCKIT_EINCOMPLETE);
    CHECK_INT(sockit__ftp_parse_reply(buf, n, &code), ==, SOCKIT_EPROTO);
    CHECK_CONTAINS(sockit_errmsg(), "line over");
    /* A multi-line reply over 64 KiB is refused, complete or not. */
    size_t o = 0;
    o += (size_t)sprintf(buf + o, "220-start\r\n");
    while (o < SOCKIT__FTP_REPLY_MAX + 100) o += (size_t)sprintf(buf + o, " filler line\r\n");
    CHECK_INT(sockit__ftp_parse_reply(buf, o, &code), ==, SOCKIT_EPROTO);
    CHECK_CONTAINS(sockit_errmsg(), "reply over");
    o += (size_t)sprintf(buf + o, "220 end\r\n");
    CHECK_INT(sockit__ftp_parse_reply(buf, o, &code), ==, SOCKIT_EPROTO);
    free(buf);
}

static void test_epsv_pasv(void)
{
    static const struct {
        const char *in;
        int port;
    } epsv[] = {
        {"229 Entering Extended Passive Mode (|||6446|)", 6446},
        {"229 ok (!!!1!)", 1},
        {"229 (|||65535|)", 65535},
        {"229 (|||65536|)", SOCKIT_EPROTO},
        {"229 (|||0|)", SOCKIT_EPROTO},
        {"229 (|||12)", SOCKIT_EPROTO},
        {"229 (||12|)", SOCKIT_EPROTO},
        {"229 (1112221)", SOCKIT_EPROTO},
        {"229 no parens", SOCKIT_EPROTO},
        {"229 (|||9999999|)", SOCKIT_EPROTO},
    };
    for (size_t i = 0; i < sizeof epsv / sizeof *epsv; i++) {
        TU_CTX("%s", epsv[i].in);
        size_t n = strlen(epsv[i].in);
        char *g = tu_guarded(epsv[i].in, n);
        CHECK_INT(sockit__ftp_parse_epsv(g, n), ==, epsv[i].port);
        tu_guarded_free(g, n);
    }
    static const struct {
        const char *in;
        int rc, port;
        unsigned char ip[4];
    } pasv[] = {
        {"227 Entering Passive Mode (127,0,0,1,4,1).", 0, 1025, {127, 0, 0, 1}},
        {"227 Entering Passive Mode 10,1,2,3,255,255", 0, 65535, {10, 1, 2, 3}},
        {"227 =192,168,0,1,0,21", 0, 21, {192, 168, 0, 1}},
        {"227 (127,0,0,1,0,0)", SOCKIT_EPROTO, 0, {0}},
        {"227 (256,0,0,1,4,1)", SOCKIT_EPROTO, 0, {0}},
        {"227 (127,0,0,1,4)", SOCKIT_EPROTO, 0, {0}},
        {"227 nothing", SOCKIT_EPROTO, 0, {0}},
    };
    for (size_t i = 0; i < sizeof pasv / sizeof *pasv; i++) {
        TU_CTX("%s", pasv[i].in);
        size_t n = strlen(pasv[i].in);
        char *g = tu_guarded(pasv[i].in, n);
        unsigned char ip[4] = {0};
        int port = -1;
        CHECK_INT(sockit__ftp_parse_pasv(g, n, ip, &port), ==, pasv[i].rc);
        if (pasv[i].rc == 0) {
            CHECK_INT(port, ==, pasv[i].port);
            CHECK_MEM(ip, pasv[i].ip, 4);
        }
        tu_guarded_free(g, n);
    }
}

static void test_reply_texts(void)
{
    const char *t = "150 Opening BINARY mode data connection for a.bin (1234 bytes).";
    CHECK_INT(sockit__ftp_parse_150_size(t, strlen(t)), ==, 1234);
    t = "150 File status okay. About to open data connection.";
    CHECK_INT(sockit__ftp_parse_150_size(t, strlen(t)), ==, -1);
    t = "150 (x bytes) (99 bytes)";
    CHECK_INT(sockit__ftp_parse_150_size(t, strlen(t)), ==, 99);
    char out[64];
    t = "257 \"/a \"\"quoted\"\" dir\" is the current directory.";
    CHECK_INT(sockit__ftp_parse_257(t, strlen(t), out, sizeof out), ==, 15);
    CHECK_STR(out, "/a \"quoted\" dir");
    t = "257 no quotes";
    CHECK_INT(sockit__ftp_parse_257(t, strlen(t), out, sizeof out), ==, SOCKIT_EPROTO);
    t = "257 \"/unterminated";
    CHECK_INT(sockit__ftp_parse_257(t, strlen(t), out, sizeof out), ==, SOCKIT_EPROTO);
    t = "257 \"/long\"";
    CHECK_INT(sockit__ftp_parse_257(t, strlen(t), out, 5), ==, -ENOBUFS);
    t = "211-Features:\n EPRT\n EPSV\n MDTM\n MLST type*;size*;modify*;\n REST STREAM\n SIZE\n"
        " UTF8\n TVFS\n AUTH TLS\n211 End";
    int want = SOCKIT_FTP_FEAT_FEAT | SOCKIT_FTP_FEAT_EPRT | SOCKIT_FTP_FEAT_EPSV |
               SOCKIT_FTP_FEAT_MDTM | SOCKIT_FTP_FEAT_MLSD | SOCKIT_FTP_FEAT_REST |
               SOCKIT_FTP_FEAT_SIZE | SOCKIT_FTP_FEAT_UTF8 | SOCKIT_FTP_FEAT_TVFS |
               SOCKIT_FTP_FEAT_AUTH_TLS;
    CHECK_INT(sockit__ftp_parse_feat(t, strlen(t)), ==, want);
    t = "211-Features:\n RESTART\n SIZEX\n211 End";
    CHECK_INT(sockit__ftp_parse_feat(t, strlen(t)), ==, SOCKIT_FTP_FEAT_FEAT);
}

static void test_times(void)
{
    CHECK_INT(sockit__ftp_parse_time("19700101000000", 14), ==, 0);
    CHECK_INT(sockit__ftp_parse_time("20240229235959", 14), ==, 1709251199);
    CHECK_INT(sockit__ftp_parse_time("20240229235959.123", 18), ==, 1709251199);
    CHECK_INT(sockit__ftp_parse_time("2024022923595", 13), ==, -1);
    CHECK_INT(sockit__ftp_parse_time("20241329235959", 14), ==, -1);
    CHECK_INT(sockit__ftp_parse_time("2024022923595x", 14), ==, -1);
    CHECK_INT(sockit__ftp_parse_time("20240229235959.", 15), ==, 1709251199);
    CHECK_INT(sockit__ftp_parse_time("20240229235959x1", 16), ==, -1);
    CHECK_INT(sockit__ftp_days(2000, 3, 1), ==, 11017);
}

static int str_is(sockit_str s, const char *want)
{
    if (!want) return s.p == NULL;
    return s.p && s.n == strlen(want) && memcmp(s.p, want, s.n) == 0;
}

static void test_mlsd(void)
{
    static const struct {
        const char *in;
        int rc, type;
        int64_t size, mtime;
        const char *name, *perm, *unique;
    } rows[] = {
        {"type=file;size=12;modify=19700101000102;perm=adfrw;unique=8U1; a.txt\r\n", 0,
         SOCKIT_FTP_FILE, 12, 62, "a.txt", "adfrw", "8U1"},
        {"Type=dir;Modify=20000301000000; sub dir", 0, SOCKIT_FTP_DIR, -1, 951868800, "sub dir",
         NULL, NULL},
        {"type=cdir; .", 0, SOCKIT_FTP_CDIR, -1, -1, ".", NULL, NULL},
        {"type=pdir; ..", 0, SOCKIT_FTP_PDIR, -1, -1, "..", NULL, NULL},
        {"type=OS.unix=slink:/x; l", 0, SOCKIT_FTP_LINK, -1, -1, "l", NULL, NULL},
        {"type=OS.unix=chr-13/29; tty", 0, SOCKIT_FTP_OTHER, -1, -1, "tty", NULL, NULL},
        {"size=1;x=; semi;colon name", 0, SOCKIT_FTP_UNKNOWN, 1, -1, "semi;colon name", NULL, NULL},
        {"size=12x; a", 0, SOCKIT_FTP_UNKNOWN, -1, -1, "a", NULL, NULL},
        {" name-without-facts", 0, SOCKIT_FTP_UNKNOWN, -1, -1, "name-without-facts", NULL, NULL},
        {"type=file;size=1;", SOCKIT_EPROTO, 0, 0, 0, NULL, NULL, NULL},
        {"type=file; ", SOCKIT_EPROTO, 0, 0, 0, NULL, NULL, NULL},
        {"nofact; a", SOCKIT_EPROTO, 0, 0, 0, NULL, NULL, NULL},
        {"=x; a", SOCKIT_EPROTO, 0, 0, 0, NULL, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        TU_CTX("%s", tu_esc(rows[i].in));
        size_t n = strlen(rows[i].in);
        char *g = tu_guarded(rows[i].in, n);
        sockit_ftp_entry e;
        CHECK_INT(sockit_ftp_parse_mlsd(g, n, &e), ==, rows[i].rc);
        if (rows[i].rc == 0) {
            CHECK_INT(e.type, ==, rows[i].type);
            CHECK_INT(e.size, ==, rows[i].size);
            CHECK_INT(e.mtime, ==, rows[i].mtime);
            CHECK_TRUE(str_is(e.name, rows[i].name));
            CHECK_TRUE(str_is(e.perm, rows[i].perm));
            CHECK_TRUE(str_is(e.unique, rows[i].unique));
        }
        tu_guarded_free(g, n);
    }
}

static void test_list(void)
{
    /* "now" is 2024-06-15 12:00 UTC: "Jan 2 03:04" is this year, "Dec 2 03:04" last year. */
    int64_t now = sockit__ftp_days(2024, 6, 15) * 86400 + 12 * 3600;
    int64_t jan2 = sockit__ftp_days(2024, 1, 2) * 86400 + 3 * 3600 + 4 * 60;
    int64_t dec2 = sockit__ftp_days(2023, 12, 2) * 86400 + 3 * 3600 + 4 * 60;
    int64_t y2021 = sockit__ftp_days(2021, 3, 4) * 86400;
    static const struct {
        const char *in;
        int rc, type;
        int64_t size;
        int when; /* 0 jan2, 1 dec2, 2 2021-03-04, 3 DOS 2024-01-02 15:04, 4 unknown */
        const char *name, *target, *owner, *group;
    } rows[] = {
        {"-rw-r--r--    1 1000     1000           12 Jan 02 03:04 a.txt", 0, SOCKIT_FTP_FILE,
         12, 0, "a.txt", NULL, "1000", "1000"},
        {"-rw-r--r-- 1 user group 12 Dec  2 03:04 with  two spaces\r\n", 0, SOCKIT_FTP_FILE, 12,
         1, "with  two spaces", NULL, "user", "group"},
        {"drwxr-xr-x   2 owner    group        4096 Mar  4  2021 sub", 0, SOCKIT_FTP_DIR, 4096,
         2, "sub", NULL, "owner", "group"},
        {"lrwxrwxrwx 1 u g 3 Jan  2 03:04 link -> target file", 0, SOCKIT_FTP_LINK, 3, 0, "link",
         "target file", "u", "g"},
        {"-rw-r--r-- 1 owner 12 Jan  2 03:04 nogroup", 0, SOCKIT_FTP_FILE, 12, 0, "nogroup",
         NULL, "owner", NULL},
        {"-rw-r--r--   owner   group   12 Jan  2 03:04 nolinks", 0, SOCKIT_FTP_FILE, 12, 0,
         "nolinks", NULL, "owner", "group"},
        {"crw-rw-rw- 1 root root 0 Jan  2 03:04 null", 0, SOCKIT_FTP_OTHER, 0, 0, "null", NULL,
         "root", "root"},
        {"01-02-24  03:04PM       <DIR>          Program Files", 0, SOCKIT_FTP_DIR, -1, 3,
         "Program Files", NULL, NULL, NULL},
        {"01-02-2024  03:04PM               1234 readme.txt", 0, SOCKIT_FTP_FILE, 1234, 3,
         "readme.txt", NULL, NULL, NULL},
        {"total 12", 1, 0, 0, 0, NULL, NULL, NULL, NULL},
        {"", 1, 0, 0, 0, NULL, NULL, NULL, NULL},
        {"   \r\n", 1, 0, 0, 0, NULL, NULL, NULL, NULL},
        {"hello world this is not a listing", SOCKIT_EPROTO, 0, 0, 0, NULL, NULL, NULL, NULL},
        {"-rw-r--r-- 1 u g 12 Foo  2 03:04 a", SOCKIT_EPROTO, 0, 0, 0, NULL, NULL, NULL, NULL},
        {"-rw-r--r-- 1 u g x12 Jan  2 03:04 a", SOCKIT_EPROTO, 0, 0, 0, NULL, NULL, NULL, NULL},
        {"-rw-r--r-- 1 u g 12 Jan  2 03:04", SOCKIT_EPROTO, 0, 0, 0, NULL, NULL, NULL, NULL},
        {"13-02-24  03:04PM 12 x", SOCKIT_EPROTO, 0, 0, 0, NULL, NULL, NULL, NULL},
    };
    int64_t whens[] = {jan2, dec2, y2021, sockit__ftp_days(2024, 1, 2) * 86400 + 15 * 3600 + 4 * 60};
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        TU_CTX("%s", tu_esc(rows[i].in));
        size_t n = strlen(rows[i].in);
        char *g = tu_guarded(rows[i].in, n);
        sockit_ftp_entry e;
        CHECK_INT(sockit__ftp_parse_list_at(g, n, &e, now), ==, rows[i].rc);
        if (rows[i].rc == 0) {
            CHECK_INT(e.type, ==, rows[i].type);
            CHECK_INT(e.size, ==, rows[i].size);
            CHECK_INT(e.mtime, ==, whens[rows[i].when]);
            CHECK_TRUE(str_is(e.name, rows[i].name));
            CHECK_TRUE(str_is(e.target, rows[i].target));
            CHECK_TRUE(str_is(e.owner, rows[i].owner));
            CHECK_TRUE(str_is(e.group, rows[i].group));
        }
        tu_guarded_free(g, n);
    }
}

int main(void)
{
    TU_RUN(test_reply_table, 10);
    TU_RUN(test_reply_limits, 10);
    TU_RUN(test_epsv_pasv, 10);
    TU_RUN(test_reply_texts, 10);
    TU_RUN(test_times, 10);
    TU_RUN(test_mlsd, 10);
    TU_RUN(test_list, 10);
    return tu_done();
}
