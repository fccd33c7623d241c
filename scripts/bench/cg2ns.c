/*
 * cg2ns: run a command in a private mount namespace where cgroup2 is
 * mounted over /sys/fs/cgroup. For scripts/bench.sh.
 *
 *   cg2ns COMMAND [ARGS...]
 *
 * crun refuses hybrid cgroup hosts (v1 controllers plus cgroup2 at
 * /sys/fs/cgroup/unified). This is what
 *   unshare -m sh -c 'mount -t cgroup2 none /sys/fs/cgroup && exec COMMAND'
 * does, in one process and one exec instead of four (unshare, sh, mount,
 * COMMAND), so the wrapper adds as little as possible to crun's timings.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

static int fail(const char *what)
{
    fprintf(stderr, "cg2ns: %s: %s\n", what, strerror(errno));
    return 127;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: cg2ns COMMAND [ARGS...]\n");
        return 2;
    }
    if (unshare(CLONE_NEWNS) != 0)
        return fail("unshare(CLONE_NEWNS)");
    /* As unshare(1) does: nothing we mount here propagates to the host. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return fail("make / private");
    if (mount("none", "/sys/fs/cgroup", "cgroup2", 0, NULL) != 0)
        return fail("mount cgroup2 on /sys/fs/cgroup");
    execvp(argv[1], argv + 1);
    return fail(argv[1]);
}
