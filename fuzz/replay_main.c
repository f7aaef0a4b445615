/*
 * Replays fuzz inputs without libFuzzer: every regular file of each directory named on the
 * command line goes to LLVMFuzzerTestOneInput once, in name order, from a buffer of exactly its
 * size (so a sanitizer build sees any over-read). A directory that does not exist is skipped, so
 * an empty fuzz/regression/<name>/ needs no placeholder. Exit 0 when every input ran (a bug
 * aborts, and ctest reports the crash); 2 when a file cannot be read.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads the whole file into a fresh buffer of exactly its size; NULL on failure. */
static uint8_t *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long n;
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc(n ? (size_t)n : 1)) && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf) *size = (size_t)n;
    fclose(f);
    return buf;
}

static int regular(const struct dirent *e) { return e->d_name[0] != '.'; }

int main(int argc, char **argv)
{
    size_t total = 0;
    int bad = 0;

    LLVMFuzzerTestOneInput((const uint8_t *)"", 0); /* libFuzzer always tries the empty input */
    for (int i = 1; i < argc; i++) {
        struct dirent **names;
        int n = scandir(argv[i], &names, regular, alphasort);
        if (n < 0) {
            printf("%s: %s, skipped\n", argv[i], strerror(errno));
            continue;
        }
        size_t here = 0;
        for (int k = 0; k < n; k++) {
            char path[4096];
            size_t size = 0;
            uint8_t *data = NULL;
            snprintf(path, sizeof path, "%s/%s", argv[i], names[k]->d_name);
            if (names[k]->d_type == DT_DIR) {
                /* nested directories are not inputs */
            } else if (!(data = read_file(path, &size))) {
                fprintf(stderr, "replay: cannot read %s: %s\n", path, strerror(errno));
                bad = 1;
            } else {
                fprintf(stderr, "replay: %s\n", path); /* names the culprit if it aborts */
                LLVMFuzzerTestOneInput(data, size);
                here++;
            }
            free(data);
            free(names[k]);
        }
        free(names);
        printf("%s: %zu inputs\n", argv[i], here);
        total += here;
    }
    printf("replayed %zu inputs\n", total);
    return bad ? 2 : 0;
}
