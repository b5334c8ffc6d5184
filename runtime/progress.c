/*
 * progress.c: what a user sees while a model trains.
 *
 * On a terminal: one line per epoch, redrawn in place with '\r' at most
 * ten times a second (drawing every step would cost more than a small
 * model's step).  Anywhere else (a log file, a pipe, CI): no bar, just the
 * finished line of each epoch, so logs stay readable and diffable.
 * Writes nothing when quiet.
 */
#include "nnrt.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

#define BAR_WIDTH 24
#define REDRAW_SECONDS 0.1

double nnrt_seconds(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return (double)clock() / CLOCKS_PER_SEC;
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void nnrt_progress_begin(NnrtProgress *p, FILE *stream, int epoch,
                         int epochs, int64_t steps, int quiet)
{
    memset(p, 0, sizeof *p);
    p->stream = stream;
    p->quiet = quiet || !stream;
    p->tty = !p->quiet && isatty(fileno(stream));
    p->epoch = epoch;
    p->epochs = epochs;
    p->steps = steps;
    p->t_begin = p->t_last = nnrt_seconds();
    p->t_draw = p->t_begin - 2 * REDRAW_SECONDS; /* draw the first step */
    p->lr = -1;
    p->t_run = -1;
}

void nnrt_progress_plan(NnrtProgress *p, double t_run, int64_t steps_after,
                        double lr)
{
    p->t_run = t_run;
    p->steps_after = steps_after > 0 ? steps_after : 0;
    p->lr = lr;
}

double nnrt_progress_loss(const NnrtProgress *p)
{
    if (p->loss_is_sum)
        return p->loss_sum;
    return p->loss_n > 0 ? p->loss_sum / (double)p->loss_n : 0.0;
}

double nnrt_progress_accuracy(const NnrtProgress *p)
{
    return p->counted > 0 ? (double)p->correct / (double)p->counted : -1.0;
}

double nnrt_progress_rate(const NnrtProgress *p)
{
    double dt = p->t_last - p->t_begin;
    return dt > 0 ? (double)p->samples / dt : 0.0;
}

/* "1.5s", "2m05s", "3h07m": short enough for a progress line. */
static void duration(char *buf, size_t cap, double s)
{
    if (!(s >= 0))
        s = 0;
    if (s < 60)
        snprintf(buf, cap, "%.1fs", s);
    else if (s < 3600)
        snprintf(buf, cap, "%dm%02ds", (int)(s / 60), (int)s % 60);
    else if (s < 1e7)
        snprintf(buf, cap, "%dh%02dm", (int)(s / 3600), (int)(s / 60) % 60);
    else
        snprintf(buf, cap, "%.0fh", s / 3600);
}

/* "  lr 0.05" or "" */
static void lr_text(const NnrtProgress *p, char *buf, size_t cap)
{
    if (p->lr >= 0)
        snprintf(buf, cap, "  lr %.4g", p->lr);
    else
        buf[0] = '\0';
}

/* "  elapsed 3.1s  eta 12.0s" (each part only when known) */
static void times(const NnrtProgress *p, char *buf, size_t cap)
{
    char a[32], b[32];
    size_t n = 0;
    buf[0] = '\0';
    if (p->t_run >= 0) {
        duration(a, sizeof a, p->t_last - p->t_run);
        n = (size_t)snprintf(buf, cap, "  elapsed %s", a);
    }
    if (p->step > 0 && n < cap && p->steps - p->step + p->steps_after > 0) {
        double per = (p->t_last - p->t_begin) / (double)p->step;
        int64_t left = p->steps - p->step;
        if (left < 0)
            left = 0;
        duration(b, sizeof b, per * (double)(left + p->steps_after));
        snprintf(buf + n, cap - n, "  eta %s", b);
    }
}

/* "loss 0.4123  acc 0.8512" */
static void stats(const NnrtProgress *p, char *buf, size_t cap)
{
    double acc = nnrt_progress_accuracy(p);
    size_t n = (size_t)snprintf(buf, cap, "loss %.4f",
                                nnrt_progress_loss(p));
    if (acc >= 0 && n < cap)
        snprintf(buf + n, cap - n, "  acc %.4f", acc);
}

void nnrt_progress_update(NnrtProgress *p, int n, double loss, int64_t correct)
{
    /* per-step means weighted back to samples */
    nnrt_progress_step(p, n, loss * n, n, correct, correct >= 0 ? n : 0);
}

void nnrt_progress_step(NnrtProgress *p, int n, double loss_total,
                        int64_t loss_n, int64_t correct, int64_t counted)
{
    double now;
    char bar[BAR_WIDTH + 1], st[128], lr[32], tm[64];
    int i, fill, len;

    p->step++;
    p->samples += n;
    p->loss_sum += loss_total;
    p->loss_n += loss_n;
    if (counted > 0 && correct >= 0) {
        p->correct += correct;
        p->counted += counted;
    }
    now = p->t_last = nnrt_seconds();
    if (!p->tty)
        return;
    if (now - p->t_draw < REDRAW_SECONDS && p->step != p->steps)
        return;
    p->t_draw = now;
    fill = p->steps > 0 ? (int)(p->step * BAR_WIDTH / p->steps) : 0;
    if (fill > BAR_WIDTH)
        fill = BAR_WIDTH;
    for (i = 0; i < BAR_WIDTH; i++)
        bar[i] = i < fill ? '#' : '-';
    bar[BAR_WIDTH] = '\0';
    stats(p, st, sizeof st);
    lr_text(p, lr, sizeof lr);
    times(p, tm, sizeof tm);
    len = fprintf(p->stream,
                  "\repoch %d/%d [%s] %lld/%lld  %s%s  %.0f samples/s%s",
                  p->epoch, p->epochs, bar, (long long)p->step,
                  (long long)p->steps, st, lr, nnrt_progress_rate(p), tm);
    /* Blank out the tail of a longer previous line. */
    for (i = len; i < p->drawn; i++)
        fputc(' ', p->stream);
    if (len > p->drawn)
        p->drawn = len;
    fflush(p->stream);
}

void nnrt_progress_end(NnrtProgress *p, const char *extra)
{
    char st[128], lr[32], tm[64];
    int i, len;
    if (p->quiet)
        return;
    stats(p, st, sizeof st);
    lr_text(p, lr, sizeof lr);
    /* The ETA at the end of an epoch covers only the epochs after it. */
    {
        int64_t step = p->step;
        p->steps = p->step;
        times(p, tm, sizeof tm);
        p->step = step;
    }
    len = fprintf(p->stream,
                  "%sepoch %d/%d  %s%s%s%s  %.0f samples/s  %.2f s%s",
                  p->tty ? "\r" : "", p->epoch, p->epochs, st,
                  extra && *extra ? "  " : "", extra ? extra : "", lr,
                  nnrt_progress_rate(p), p->t_last - p->t_begin, tm);
    for (i = len; p->tty && i < p->drawn; i++)
        fputc(' ', p->stream);
    fputc('\n', p->stream);
    fflush(p->stream);
}
