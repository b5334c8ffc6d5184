/*
 * compare_out.c: do two runs of examples/embedded/main.c (built with
 * -DNNC_DUMP) agree?  tests/run_targets.sh runs it on the host build's
 * output and a target's:
 *
 *   compare_out HOST.txt TARGET.txt [TOL]
 *
 * Both hold images in the same order (lines "image I: label L ..." and
 * "out I: H0 H1 ...", H the hex bits of a float32), the target's the first
 * of the host's (a slow target may run fewer); every label must be equal
 * and every output within TOL (default 1e-4) in absolute value.
 * Prints "N images, labels equal, max abs difference D" and exits 0, or
 * says what differs (the first few) and exits 1; 2 for an unreadable or
 * malformed file.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_IMAGES 10000
#define MAX_OUT 1024 /* the autoencoder of examples/tiny has 640 */

typedef struct {
    int n;                   /* images seen (their "out" lines) */
    int label[MAX_IMAGES];
    int nout;                /* outputs per image */
    float out[MAX_IMAGES][MAX_OUT];
} Run;

static Run host, target;

/* Read the image and out lines of path into r; 0, or 2 with a message. */
static int read_run(const char *path, Run *r)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "compare_out: %s: cannot open\n", path);
        return 2;
    }
    static char line[16 * MAX_OUT]; /* "out I:" and 9 characters an output */
    int nimg = 0;
    r->n = 0;
    r->nout = -1;
    while (fgets(line, sizeof line, f)) {
        int i, l;
        if (sscanf(line, "image %d: label %d", &i, &l) == 2) {
            if (i != nimg || i >= MAX_IMAGES) {
                fprintf(stderr, "compare_out: %s: image %d out of order\n", path, i);
                fclose(f);
                return 2;
            }
            r->label[nimg++] = l;
        } else if (strncmp(line, "out ", 4) == 0) {
            char *p = line + 4;
            i = (int)strtol(p, &p, 10);
            if (i != r->n || *p != ':') {
                fprintf(stderr, "compare_out: %s: malformed out line %d\n", path, r->n);
                fclose(f);
                return 2;
            }
            p++;
            int k = 0;
            for (;;) {
                char *end;
                unsigned long bits = strtoul(p, &end, 16);
                if (end == p)
                    break;
                if (k == MAX_OUT) {
                    fprintf(stderr, "compare_out: %s: more than %d outputs\n", path, MAX_OUT);
                    fclose(f);
                    return 2;
                }
                uint32_t b = (uint32_t)bits;
                memcpy(&r->out[i][k++], &b, sizeof b);
                p = end;
            }
            if (r->nout >= 0 && k != r->nout) {
                fprintf(stderr, "compare_out: %s: image %d has %d outputs, not %d\n", path, i, k, r->nout);
                fclose(f);
                return 2;
            }
            r->nout = k;
            r->n++;
        }
    }
    fclose(f);
    if (r->n == 0 || r->n != nimg || r->nout < 1) {
        fprintf(stderr, "compare_out: %s: %d labels and %d output lines (a failed run?)\n", path, nimg, r->n);
        return 2;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: compare_out HOST.txt TARGET.txt [TOL]\n");
        return 2;
    }
    double tol = argc == 4 ? atof(argv[3]) : 1e-4;
    int rc = read_run(argv[1], &host);
    if (rc == 0)
        rc = read_run(argv[2], &target);
    if (rc)
        return rc;
    if (host.n < target.n || host.nout != target.nout) {
        printf("%d images of %d outputs, the host has %d of %d\n", target.n, target.nout, host.n, host.nout);
        return 1;
    }
    int bad = 0;
    double maxd = 0;
    for (int i = 0; i < target.n; i++) {
        if (host.label[i] != target.label[i] && bad++ < 5)
            printf("image %d: label %d, the host says %d\n", i, target.label[i], host.label[i]);
        for (int k = 0; k < host.nout; k++) {
            double d = fabs((double)host.out[i][k] - (double)target.out[i][k]);
            if (!(d <= tol) && bad++ < 5)
                printf("image %d output %d: %.9g, the host says %.9g\n", i, k, (double)target.out[i][k],
                       (double)host.out[i][k]);
            if (d > maxd || d != d)
                maxd = d;
        }
    }
    printf("%d images, %s, max abs difference %.3g\n", target.n, bad ? "DIFFERENT" : "labels equal", maxd);
    return bad ? 1 : 0;
}
