/*
 * sockit resolve [-4|-6] [-u] HOST [PORT] — what sockit_getaddrinfo returns, one line each:
 *   inet stream 127.0.0.1:80
 */
#include "cli.h"

#include <getopt.h>

#define MAX_ADDRS 64 /* more than any resolver returns for one name */

static const char usage[] =
    "usage: sockit resolve [-4|-6] [-u] HOST [PORT]\n"
    "\n"
    "Prints one line per address HOST and PORT (a number or a service name; default 0)\n"
    "resolve to, in the resolver's order:  FAMILY TYPE ADDRESS, e.g.\n"
    "  inet stream 127.0.0.1:80\n"
    "  inet6 dgram [::1]:53\n"
    "\n"
    "  -4          IPv4 addresses only\n"
    "  -6          IPv6 addresses only\n"
    "  -u          datagram (UDP) addresses; the default is stream (TCP)\n"
    "  -h, --help  show this help\n";

static const char *family_word(int family)
{
    switch (family) {
    case AF_INET:
        return "inet";
    case AF_INET6:
        return "inet6";
    case AF_UNIX:
        return "unix";
    default:
        return "unknown";
    }
}

static int print_addrs(const char *host, const char *port, int family, int type)
{
    static sockit_addr addrs[MAX_ADDRS];
    int n = sockit_getaddrinfo(host, port, family, type, addrs, MAX_ADDRS);
    if (n < 0)
        return cli_fail(n, "resolve");
    for (int i = 0; i < n; i++) {
        char text[SOCKIT_ADDRSTRLEN];
        printf("%s %s %s\n", family_word(addrs[i].sa.ss_family),
               type == SOCK_DGRAM ? "dgram" : "stream",
               sockit_addr_format(&addrs[i], text, sizeof text));
    }
    if (fflush(stdout) != 0)
        return cli_error(CLI_FILE, "write standard output: failed");
    return CLI_OK;
}

int cli_resolve_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int family = 0, type = SOCK_STREAM, c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":46uh", longopts, NULL)) != -1) {
        switch (c) {
        case '4':
        case '6':
            if (cli_one_family("resolve", &family, c == '4' ? AF_INET : AF_INET6) != 0)
                return CLI_USAGE;
            break;
        case 'u':
            type = SOCK_DGRAM;
            break;
        case 'h':
            fputs(usage, stdout);
            return CLI_OK;
        default:
            return cli_option_error("resolve", c, argv, longopts);
        }
    }
    int nargs = argc - optind;
    if (nargs < 1)
        return cli_usage_error("resolve", "missing HOST");
    if (nargs > 2)
        return cli_usage_error("resolve", "too many arguments");
    return print_addrs(argv[optind], nargs == 2 ? argv[optind + 1] : NULL, family, type);
}
