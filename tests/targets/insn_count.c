/*
 * insn_count.c: a QEMU TCG plugin (user mode, qemu-aarch64) that lets the
 * guest read how many instructions it has executed, as bare-metal code
 * reads SysTick under -icount (examples/embedded/mps2.c).  User-mode QEMU
 * has no -icount and no timer that counts instructions, so:
 *
 *   - every translated block adds its instruction count to a 64-bit
 *     counter when it starts executing (an inline add: no callback per
 *     block, so the run is barely slower);
 *   - at load the plugin opens a pipe whose read end is the guest's file
 *     descriptor INSN_COUNT_FD (99; plugin argument fd=N changes it);
 *   - when the guest calls read(INSN_COUNT_FD, buf, 8), the plugin's
 *     syscall callback, which QEMU runs before it executes the system
 *     call, writes the counter's 8 bytes (host order: the guest is
 *     little-endian too) into the pipe, and the read the guest asked for
 *     returns them.
 *
 * The count at a read includes the whole block that ends in its `svc`;
 * the instructions between two reads are then exact and include a fixed
 * number of the read wrapper's own, which the guest measures with two
 * reads in a row and subtracts (examples/embedded/host.c).  The guest
 * checks the counter on a loop of known length (tests/run_targets.sh).
 *
 *   cc -shared -fPIC -O2 -o insn_count.so tests/targets/insn_count.c
 *   qemu-aarch64 -plugin ./insn_count.so PROGRAM
 *
 * QEMU's plugin header (qemu-plugin.h) is not in any Debian package: the
 * few declarations this file uses are written out below, as QEMU 7.2's
 * plugin API (version 1; QEMU refuses a plugin whose qemu_plugin_version
 * it does not support, so a mismatch is an error at load, not a wrong
 * count).  A plugin that cannot set up its pipe returns nonzero from
 * qemu_plugin_install and QEMU stops with "could not load plugin".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* --- The plugin API's declarations this file uses (QEMU 7.2, version 1). */
#define PLUGIN_EXPORT __attribute__((visibility("default")))
typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
typedef struct qemu_info_t qemu_info_t; /* only passed through */
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_vcpu_syscall_cb_t)(qemu_plugin_id_t id, unsigned int vcpu_index, int64_t num,
                                              uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5,
                                              uint64_t a6, uint64_t a7, uint64_t a8);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, enum qemu_plugin_op op, void *ptr,
                                              uint64_t imm);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
void qemu_plugin_register_vcpu_syscall_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_syscall_cb_t cb);
void qemu_plugin_outs(const char *string);
PLUGIN_EXPORT extern int qemu_plugin_version;
PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv);
/* --- */

PLUGIN_EXPORT int qemu_plugin_version = 1;

#define INSN_COUNT_FD 99 /* examples/embedded/host.c reads this descriptor */
#define NR_READ_AARCH64 63 /* read(2) on AArch64 Linux (the generic table) */

static uint64_t insns;     /* guest instructions executed so far */
static int count_fd = INSN_COUNT_FD;
static int pipe_w = -1;    /* the pipe's write end (the plugin's own) */

/* A block was translated: count its instructions every time it runs. */
static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &insns, qemu_plugin_tb_n_insns(tb));
}

/* Before a system call: a read of count_fd gets the counter. */
static void on_syscall(qemu_plugin_id_t id, unsigned int vcpu_index, int64_t num, uint64_t a1, uint64_t a2,
                       uint64_t a3, uint64_t a4, uint64_t a5, uint64_t a6, uint64_t a7, uint64_t a8)
{
    (void)id, (void)vcpu_index, (void)a2, (void)a4, (void)a5, (void)a6, (void)a7, (void)a8;
    if (num != NR_READ_AARCH64 || a1 != (uint64_t)count_fd || a3 != sizeof insns)
        return;
    uint64_t now = insns;
    /* 8 bytes into an empty pipe never block nor come out short. */
    if (write(pipe_w, &now, sizeof now) != (ssize_t)sizeof now)
        qemu_plugin_outs("insn_count: cannot write the count into its pipe\n");
}

PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
    (void)info;
    char msg[160];
    for (int i = 0; i < argc; i++) {
        char *end;
        if (strncmp(argv[i], "fd=", 3) == 0 && (count_fd = (int)strtol(argv[i] + 3, &end, 10), *end == 0) &&
            count_fd > 2) {
            continue;
        }
        snprintf(msg, sizeof msg, "insn_count: unknown argument '%s' (fd=N, N > 2)\n", argv[i]);
        qemu_plugin_outs(msg);
        return 1;
    }
    if (fcntl(count_fd, F_GETFD) != -1) {
        snprintf(msg, sizeof msg, "insn_count: file descriptor %d is already open\n", count_fd);
        qemu_plugin_outs(msg);
        return 1;
    }
    int p[2];
    if (pipe(p) != 0 || dup2(p[0], count_fd) != count_fd) {
        snprintf(msg, sizeof msg, "insn_count: cannot open its pipe as descriptor %d: %s\n", count_fd,
                 strerror(errno));
        qemu_plugin_outs(msg);
        return 1;
    }
    close(p[0]);
    pipe_w = p[1];
    fcntl(pipe_w, F_SETFD, FD_CLOEXEC);
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_vcpu_syscall_cb(id, on_syscall);
    return 0;
}
