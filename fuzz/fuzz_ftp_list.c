/*
 * Fuzz target for the listing parsers: one MLSD line (sockit_ftp_parse_mlsd) and one LIST line
 * (sockit__ftp_parse_list_at, with a fixed "now" so the answer is reproducible).
 *
 * What aborts: a result other than 0 / SOCKIT_EPROTO (MLSD) or 0 / 1 / SOCKIT_EPROTO (LIST); an
 * error without a message; on success a string outside the line, an empty name, a name holding
 * LF (a line ends at its first LF), an unknown type, a size below -1, a LIST link target without a link.
 */
#include "fuzz_ftp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_entry(const uint8_t *data, size_t size, const char *buf,
                        const sockit_ftp_entry *e, const char *who)
{
    char why[80];
    if (!e->name.p || e->name.n == 0 || !inside_or_absent(e->name, buf, size)) {
        snprintf(why, sizeof why, "%s: a name absent, empty or outside the line", who);
        fail(why, data, size);
    }
    if (memchr(e->name.p, '\n', e->name.n)) {
        snprintf(why, sizeof why, "%s: a name holding LF", who);
        fail(why, data, size);
    }
    if (!inside_or_absent(e->perm, buf, size) || !inside_or_absent(e->unique, buf, size) ||
        !inside_or_absent(e->target, buf, size) || !inside_or_absent(e->owner, buf, size) ||
        !inside_or_absent(e->group, buf, size)) {
        snprintf(why, sizeof why, "%s: a string outside the line", who);
        fail(why, data, size);
    }
    if (e->type < SOCKIT_FTP_UNKNOWN || e->type > SOCKIT_FTP_OTHER || e->size < -1) {
        snprintf(why, sizeof why, "%s: an unknown type or a bad size", who);
        fail(why, data, size);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > SOCKIT__FTP_LINE_MAX) return 0;
    char *buf = copy_input(data, size);
    sockit_ftp_entry e;
    int r = sockit_ftp_parse_mlsd(buf, size, &e);
    if (r != 0 && r != SOCKIT_EPROTO) fail("mlsd: an unknown result", data, size);
    if (r == SOCKIT_EPROTO && !*sockit_errmsg()) fail("mlsd: an error without a message", data, size);
    if (r == 0) check_entry(data, size, buf, &e, "mlsd");
    int64_t now = 1718452800; /* 2024-06-15 12:00 UTC */
    r = sockit__ftp_parse_list_at(buf, size, &e, now);
    if (r != 0 && r != 1 && r != SOCKIT_EPROTO) fail("list: an unknown result", data, size);
    if (r == 0) {
        check_entry(data, size, buf, &e, "list");
        if (e.target.p && e.type != SOCKIT_FTP_LINK) fail("list: a target without a link", data, size);
    }
    free(buf);
    return 0;
}
