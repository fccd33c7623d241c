/*
 * floor: the least a container start has to do, for scripts/bench.sh.
 *
 *   floor ROOTFS
 *
 * One clone() into new pid, mount, network, ipc and uts namespaces. The
 * child makes / private, binds ROOTFS onto itself, mounts proc in it,
 * pivot_root's into it, sets a small capability set with one capset() and
 * execs /bin/true there. The parent waits and exits with the child's status.
 *
 * No cgroups, no /dev, no masked paths, no config parsing, no state, no
 * create/start split: a lower bound for `run` of `true`, not a runtime.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define STACK_SIZE (64 * 1024)

static const char *rootfs;

static void fail(const char *what)
{
    fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
    _exit(127);
}

static int child(void *arg)
{
    (void)arg;
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        fail("make / private");
    if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) != 0)
        fail("bind rootfs");
    if (chdir(rootfs) != 0)
        fail("chdir rootfs");
    if (mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
        fail("mount proc");
    if (syscall(SYS_pivot_root, ".", ".") != 0)
        fail("pivot_root");
    if (umount2(".", MNT_DETACH) != 0)
        fail("detach old root");
    if (chdir("/") != 0)
        fail("chdir /");

    /* The busybox bundle's set: CAP_AUDIT_WRITE, CAP_KILL, CAP_NET_BIND_SERVICE. */
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof(data));
    __u32 set = (1u << CAP_AUDIT_WRITE) | (1u << CAP_KILL) | (1u << CAP_NET_BIND_SERVICE);
    data[0].effective = set;
    data[0].permitted = set;
    if (syscall(SYS_capset, &hdr, data) != 0)
        fail("capset");

    char *const argv[] = {"true", NULL};
    char *const envp[] = {"PATH=/bin", NULL};
    execve("/bin/true", argv, envp);
    fail("execve /bin/true");
    return 127;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: floor ROOTFS\n");
        return 2;
    }
    rootfs = argv[1];
    char *stack = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED)
        fail("mmap stack");
    int flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS;
    pid_t pid = clone(child, stack + STACK_SIZE, flags | SIGCHLD, NULL);
    if (pid < 0)
        fail("clone");
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            fail("waitpid");
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
}
