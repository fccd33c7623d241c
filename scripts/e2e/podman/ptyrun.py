#!/usr/bin/env python3
"""Run a command on a new pseudo-terminal and type into it, as a person would.

    ptyrun.py TIMEOUT PROMPT INPUT COMMAND [ARG...]

Starts COMMAND with a fresh pty (24 rows, 80 columns) as its controlling
terminal and stdio. Once COMMAND has printed PROMPT (or after 10 seconds
without it), types INPUT. Collects everything COMMAND prints until it closes
the terminal, and waits for it. After TIMEOUT seconds COMMAND is killed.

Prints what COMMAND printed, with carriage returns and terminal escape
sequences removed, then one last line "exit=N" (N: COMMAND's exit status,
128+S if killed by signal S, "timeout" if it had to be killed). Exits 0
unless this script itself fails. Used by scripts/e2e/podman.sh for
`podman run -it` and `podman exec -it`.
"""

import fcntl
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    timeout = float(sys.argv[1])
    prompt = sys.argv[2].encode()
    typed = sys.argv[3].encode()
    cmd = sys.argv[4:]

    pid, master = pty.fork()
    if pid == 0:
        try:
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)

    # The size the program inside sees (podman passes it on to the console).
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))

    out = b""
    sent = False
    start = time.monotonic()
    timed_out = False
    while True:
        now = time.monotonic()
        if now - start > timeout:
            timed_out = True
            os.kill(pid, signal.SIGKILL)
            break
        if not sent and (prompt in out or now - start > 10):
            os.write(master, typed)
            sent = True
        ready, _, _ = select.select([master], [], [], 0.1)
        if not ready:
            continue
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: every holder of the slave side closed it
            break
        if not chunk:
            break
        out += chunk

    _, status = os.waitpid(pid, 0)
    os.close(master)

    text = out.decode("utf-8", "replace").replace("\r", "")
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1b[=>]", "", text)
    sys.stdout.write(text)
    if not text.endswith("\n"):
        sys.stdout.write("\n")
    if timed_out:
        print("exit=timeout")
    elif os.WIFSIGNALED(status):
        print("exit=%d" % (128 + os.WTERMSIG(status)))
    else:
        print("exit=%d" % os.WEXITSTATUS(status))


if __name__ == "__main__":
    main()
