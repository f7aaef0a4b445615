/* Stubs: replaced by the real implementation. */
#include "internal/core.h"
#include <sockit/ftp.h>

int sockit_ftp_connect(sockit_ftp **out, const char *host, const char *port, const sockit_ftp_opts *opts)
{
    (void)out; (void)host; (void)port; (void)opts; return sockit__failmsg(-ENOSYS, "ftp: not implemented");
}

int sockit_ftp_login(sockit_ftp *f, const char *user, const char *pass)
{
    (void)f; (void)user; (void)pass; return sockit__failmsg(-ENOSYS, "ftp: not implemented");
}

int sockit_ftp_open_url(sockit_ftp **out, const char *url, const sockit_ftp_opts *opts, char *path, size_t pathcap)
{
    (void)out; (void)url; (void)opts; (void)path; (void)pathcap; return sockit__failmsg(-ENOSYS, "ftp: not implemented");
}

int sockit_ftp_quit(sockit_ftp *f)
{
    (void)f; return sockit__failmsg(-ENOSYS, "ftp: not implemented");
}

void sockit_ftp_close(sockit_ftp *f)
{
    (void)f; 
}

int sockit_ftp_reply_code(const sockit_ftp *f)
{
    (void)f; return -1;
}

const char * sockit_ftp_reply_text(const sockit_ftp *f)
{
    (void)f; return NULL;
}

int sockit_ftp_cmd(sockit_ftp *f, const char *cmd, sockit_ftp_reply *reply)
{
    (void)f; (void)cmd; (void)reply; return sockit__failmsg(-ENOSYS, "ftp: not implemented");
}

int sockit_ftp_feat(sockit_ftp *f)
{
    (void)f; return sockit__failmsg(-ENOSYS, "ftp: not implemented");
}

int sockit_ftp_features(const sockit_ftp *f)
{
    (void)f; return -1;
}

int sockit_ftp_syst(sockit_ftp *f, char *buf, size_t cap)
{
    (void)f; (void)buf; (void)cap; return sockit__failmsg(-ENOSYS, "ftp: not implemented");
}

int sockit_ftp_noop(sockit_ftp *f)
{
    (void)f; return sockit__failmsg(-ENOSYS, "ftp: not implemented");
}

int sockit_ftp_pwd(sockit_ftp *f, char *buf, size_t cap)
{
    (void)f; (void)buf; (void)cap; return sockit__failmsg(-ENOSYS, "ftp: not implemented");
}

int sockit_ftp_cwd(sockit_ftp *f, const char *dir)
{
    (void)f; (void)dir; return sockit__failmsg(-ENOSYS, "ftp: not implemented");
}

int sockit_ftp_cdup(sockit_ftp *f)
{
    (void)f; return sockit__failmsg(-ENOSYS, "ftp: not implemented");
}

int sockit_ftp_mkd(sockit_ftp *f, const char *dir)
{
    (void)f; (void)dir; return sockit__failmsg(-ENOSYS, "ftp: not implemented");
}

int sockit_ftp_rmd(sockit_ftp *f, const char *dir)
{
    (void)f; (void)dir; return sockit__failmsg(-ENOSYS, "ftp: not implemented");
}

int sockit_ftp_dele(sockit_ftp *f, const char *path)
{
    (void)f; (void)path; return sockit__failmsg(-ENOSYS, "ftp: not implemented");
}

int sockit_ftp_rename(sockit_ftp *f, const char *from, const char *to)
{
    (void)f; (void)from; (void)to; return sockit__failmsg(-ENOSYS, "ftp: not implemented");
}

int sockit_ftp_size(sockit_ftp *f, const char *path, uint64_t *size)
{
    (void)f; (void)path; (void)size; return sockit__failmsg(-ENOSYS, "ftp: not implemented");
}

int sockit_ftp_mdtm(sockit_ftp *f, const char *path, int64_t *mtime)
{
    (void)f; (void)path; (void)mtime; return sockit__failmsg(-ENOSYS, "ftp: not implemented");
}

int sockit_ftp_type(sockit_ftp *f, int binary)
{
    (void)f; (void)binary; return sockit__failmsg(-ENOSYS, "ftp: not implemented");
}

int sockit_ftp_abor(sockit_ftp *f)
{
    (void)f; return sockit__failmsg(-ENOSYS, "ftp: not implemented");
}

int sockit_ftp_parse_mlsd(const char *line, size_t len, sockit_ftp_entry *e)
{
    (void)line; (void)len; (void)e; return sockit__failmsg(-ENOSYS, "ftp: not implemented");
}

int sockit_ftp_parse_list(const char *line, size_t len, sockit_ftp_entry *e)
{
    (void)line; (void)len; (void)e; return sockit__failmsg(-ENOSYS, "ftp: not implemented");
}

int sockit_ftp_list(sockit_ftp *f, const char *dir, sockit_ftp_line_fn fn, void *arg)
{
    (void)f; (void)dir; (void)fn; (void)arg; return sockit__failmsg(-ENOSYS, "ftp: not implemented");
}

int sockit_ftp_nlst(sockit_ftp *f, const char *dir, sockit_ftp_line_fn fn, void *arg)
{
    (void)f; (void)dir; (void)fn; (void)arg; return sockit__failmsg(-ENOSYS, "ftp: not implemented");
}

int sockit_ftp_mlsd(sockit_ftp *f, const char *dir, sockit_ftp_entry_fn fn, void *arg)
{
    (void)f; (void)dir; (void)fn; (void)arg; return sockit__failmsg(-ENOSYS, "ftp: not implemented");
}

int sockit_ftp_ls(sockit_ftp *f, const char *dir, sockit_ftp_entry_fn fn, void *arg)
{
    (void)f; (void)dir; (void)fn; (void)arg; return sockit__failmsg(-ENOSYS, "ftp: not implemented");
}

int sockit_ftp_retr(sockit_ftp *f, const char *path, uint64_t offset, sockit_ftp_write_fn fn, void *arg, uint64_t *got)
{
    (void)f; (void)path; (void)offset; (void)fn; (void)arg; (void)got; return sockit__failmsg(-ENOSYS, "ftp: not implemented");
}

int sockit_ftp_retr_fd(sockit_ftp *f, const char *path, uint64_t offset, int fd, uint64_t *got)
{
    (void)f; (void)path; (void)offset; (void)fd; (void)got; return sockit__failmsg(-ENOSYS, "ftp: not implemented");
}

int sockit_ftp_download(sockit_ftp *f, const char *path, const char *local, int resume, uint64_t *got)
{
    (void)f; (void)path; (void)local; (void)resume; (void)got; return sockit__failmsg(-ENOSYS, "ftp: not implemented");
}

int sockit_ftp_stor(sockit_ftp *f, const char *path, int mode, uint64_t offset, sockit_ftp_read_fn fn, void *arg, uint64_t *sent)
{
    (void)f; (void)path; (void)mode; (void)offset; (void)fn; (void)arg; (void)sent; return sockit__failmsg(-ENOSYS, "ftp: not implemented");
}

int sockit_ftp_stor_fd(sockit_ftp *f, const char *path, int mode, uint64_t offset, int fd, uint64_t *sent)
{
    (void)f; (void)path; (void)mode; (void)offset; (void)fd; (void)sent; return sockit__failmsg(-ENOSYS, "ftp: not implemented");
}

int sockit_ftp_upload(sockit_ftp *f, const char *path, const char *local, int mode, uint64_t *sent)
{
    (void)f; (void)path; (void)local; (void)mode; (void)sent; return sockit__failmsg(-ENOSYS, "ftp: not implemented");
}

sockit_sock * sockit_ftp_sock(const sockit_ftp *f)
{
    (void)f; return NULL;
}

int sockit_ftp_data_resumed(const sockit_ftp *f)
{
    (void)f; return -1;
}

int sockit_ftp_used_pasv(const sockit_ftp *f)
{
    (void)f; return -1;
}
