//! `--explain`: narrate each isolation step as it happens, from the same
//! named steps (tracing spans) the logs use, so the story cannot drift from
//! the code. Text for people, JSON lines for tools, or an SVG timeline.
//!
//! It writes to a private copy of husk's stderr, taken at start, so the
//! lines never land in the container's stdio (not even once the init has
//! made a pty its stdio).

use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Instant;

use nix::errno::Errno;
use serde_json::json;

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Text,
    Json,
    Svg(PathBuf),
}

impl Mode {
    /// "text", "json", "svg:FILE" (main turns `--explain=svg FILE` into that).
    pub fn parse(s: &str) -> Result<Mode> {
        match s {
            "" | "text" => Ok(Mode::Text),
            "json" => Ok(Mode::Json),
            s => match s.strip_prefix("svg:").or_else(|| s.strip_prefix("svg=")) {
                Some(f) if !f.is_empty() => Ok(Mode::Svg(PathBuf::from(f))),
                _ => Err(Error::msg(format!(
                    "--explain={s}: use --explain, --explain=json or --explain=svg FILE"
                ))),
            },
        }
    }
}

struct Explain {
    mode: Mode,
    start: Instant,
    /// Text and JSON go here (a dup of stderr); SVG records to a memfd
    /// that the init shares, read back at the end.
    out: OwnedFd,
    husk_pid: u32,
}

static EXPLAIN: OnceLock<Explain> = OnceLock::new();

pub fn enabled() -> bool {
    EXPLAIN.get().is_some()
}

pub fn start(mode: Mode, start: Instant) -> Result<()> {
    let out = match mode {
        Mode::Svg(_) => shared_record_file()?.into_raw_fd(),
        _ => {
            // SAFETY: duplicating our own stderr.
            let fd = unsafe { libc::fcntl(2, libc::F_DUPFD_CLOEXEC, 3) };
            if fd < 0 {
                return Err(Error::sys("dup stderr for --explain", Errno::last()));
            }
            fd
        }
    };
    let e = Explain {
        mode,
        start,
        // SAFETY: fresh fd.
        out: unsafe { OwnedFd::from_raw_fd(out) },
        husk_pid: std::process::id(),
    };
    let _ = EXPLAIN.set(e);
    Ok(())
}

/// A memfd for the SVG mode's records, which husk and the init (a fork)
/// write at the same time.
fn shared_record_file() -> Result<OwnedFd> {
    // SAFETY: literal name; MFD_CLOEXEC keeps it out of the container.
    let fd = unsafe { libc::memfd_create(c"husk-explain".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(Error::sys("memfd_create(husk-explain)", Errno::last()));
    }
    // SAFETY: a fresh fd, owned by nothing else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // Both processes write through this one open file. A memfd gets no
    // f_pos lock (it is not opened through a path), so two writers can
    // land at one offset and one record overwrites the other. O_APPEND
    // puts each write at the end, under the inode's lock.
    // SAFETY: fd is open; F_SETFL takes an int.
    if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, libc::O_APPEND) } < 0 {
        return Err(Error::sys("fcntl(husk-explain, O_APPEND)", Errno::last()));
    }
    Ok(fd)
}

fn write(fd: i32, s: &str) {
    // SAFETY: s is a valid buffer; a short write only loses narration.
    unsafe { libc::write(fd, s.as_ptr().cast(), s.len()) };
}

/// Called by the log layer when a step's span closes.
pub fn record(step: &str, call: &str, began: Instant, dur_us: u128) {
    let Some(e) = EXPLAIN.get() else { return };
    let at = began.saturating_duration_since(e.start).as_micros();
    let who = if std::process::id() == e.husk_pid {
        "husk"
    } else {
        "init"
    };
    let why = sentence(step);
    match &e.mode {
        Mode::Text => {
            let mut line = format!("[{at:>7} µs] {who:<4} {step:<24} {call}");
            if !why.is_empty() {
                line.push_str(&format!("\n{:30}{why}", ""));
            }
            line.push_str(&format!(" ({dur_us} µs)\n"));
            write(e.out.as_raw_fd(), &line);
        }
        Mode::Json | Mode::Svg(_) => {
            let mut line = json!({"step": step, "call": call, "why": why, "process": who,
                "start_us": at as u64, "duration_us": dur_us as u64})
            .to_string();
            line.push('\n');
            write(e.out.as_raw_fd(), &line);
        }
    }
}

/// For --explain=svg: draw what was recorded. Called once create is done.
pub fn finish() -> Result<()> {
    let Some(e) = EXPLAIN.get() else {
        return Ok(());
    };
    let Mode::Svg(path) = &e.mode else {
        return Ok(());
    };
    if std::process::id() != e.husk_pid {
        return Ok(());
    }
    let mut text = Vec::new();
    let mut buf = vec![0u8; 65536];
    let mut off = 0;
    loop {
        // SAFETY: buf is valid for its length.
        let n = unsafe { libc::pread(e.out.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), off) };
        if n <= 0 {
            break;
        }
        text.extend_from_slice(&buf[..n as usize]);
        off += n as i64;
    }
    let steps: Vec<serde_json::Value> = String::from_utf8_lossy(&text)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    std::fs::write(path, svg(&steps))
        .map_err(|err| Error::from(err).context(format!("write {}", path.display())))
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// One bar per step on a shared time axis; husk's steps and the init's in
/// two colours.
pub fn svg(steps: &[serde_json::Value]) -> String {
    let mut steps = steps.to_vec();
    steps.sort_by_key(|s| s["start_us"].as_u64().unwrap_or(0));
    let steps = &steps[..];
    let end = steps
        .iter()
        .map(|s| s["start_us"].as_u64().unwrap_or(0) + s["duration_us"].as_u64().unwrap_or(0))
        .max()
        .unwrap_or(1)
        .max(1);
    let (left, width, row) = (300.0, 700.0, 18.0);
    let height = 60.0 + row * steps.len() as f64;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{height}\" font-family=\"monospace\" font-size=\"11\">\n\
         <text x=\"10\" y=\"20\" font-size=\"14\">husk: container start, {end} µs (blue: husk, green: the container's init)</text>\n",
        left + width + 20.0
    );
    for (i, s) in steps.iter().enumerate() {
        let start = s["start_us"].as_u64().unwrap_or(0) as f64;
        let dur = s["duration_us"].as_u64().unwrap_or(0) as f64;
        let y = 40.0 + row * i as f64;
        let x = left + width * start / end as f64;
        let w = (width * dur / end as f64).max(1.0);
        let color = if s["process"] == "init" {
            "#4caf50"
        } else {
            "#2196f3"
        };
        let name = s["step"].as_str().unwrap_or("?");
        let call = s["call"].as_str().unwrap_or("");
        out.push_str(&format!(
            "<text x=\"10\" y=\"{:.0}\">{}</text><rect x=\"{x:.1}\" y=\"{:.0}\" width=\"{w:.1}\" height=\"{:.0}\" fill=\"{color}\"><title>{}: {} ({dur} µs at {start} µs)</title></rect>\n",
            y + 12.0,
            esc(name),
            y + 2.0,
            row - 4.0,
            esc(name),
            esc(call)
        ));
    }
    out.push_str("</svg>\n");
    out
}

/// One sentence per step: what it isolates, for a learner.
pub fn sentence(step: &str) -> &'static str {
    match step {
        "load-config" => "Read config.json and check all of it before touching the kernel.",
        "make-state-dir" => {
            "A directory of husk's own for the container (its state, a lock), locked while husk works."
        }
        "make-exec-fifo" => "The pipe the init will wait on until `husk start`.",
        "write-state" => "Write state.json: from here on other husk commands know the container.",
        "connect-systemd" => {
            "With --systemd-cgroup, systemd owns the cgroup: husk works out the unit's name and connects to systemd over D-Bus. The unit is made once the init exists, holding its PID."
        }
        "create-cgroup" => {
            "Make the container's cgroup and write its limits: memory, CPU, pids, devices."
        }
        "open-namespaces" | "join-namespace" | "join-pid-namespace" => {
            "Enter a namespace that already exists (shared with another container)."
        }
        "new-time-namespace" => "A private view of the monotonic and boot clocks.",
        "clone" => {
            "One new process, born in new namespaces: its own PIDs, mounts, network, hostname, IPC."
        }
        "hand-over" => {
            "While the init waits, husk maps the container's user IDs, moves the init into its v1 cgroups, or asks systemd for a unit holding it (--systemd-cgroup)."
        }
        "join-cgroups" => {
            "The init moves itself into its cgroup in each v1 hierarchy: v1 cannot start a process in one."
        }
        "wait-for-parent" => "The init waits until husk has set up its IDs and cgroups.",
        "become-userns-root" => {
            "Inside its user namespace the init is root; outside it is an ordinary user."
        }
        "new-cgroup-namespace" => {
            "The container's cgroup becomes its / : it cannot see the host's tree."
        }
        "join-user-namespace" | "unshare" => {
            "Enter the shared user namespace, then make the rest inside it."
        }
        "join-mount-namespace" => "Enter an existing mount namespace.",
        "set-oom-score-adj" => "How eagerly the kernel's OOM killer picks this process.",
        "make-root-private" => {
            "Mounts made from now on stay in the container; none leak to the host."
        }
        "record-host-mounts" => {
            "No mount namespace of its own: note what is mounted under the rootfs now, so that delete removes only what husk adds."
        }
        "make-rootfs-private" => {
            "Only the rootfs's own mount stops propagating; the host's mounts stay as they are."
        }
        "chroot" => "No mount namespace to pivot in: the process's root becomes the rootfs.",
        "open-container-root" => "Hold the container's root, to chroot the new process into it.",
        "bind-rootfs" => "The root filesystem becomes a mount of its own, as pivot_root needs.",
        "mount" => "One more mount in the container's private mount table.",
        "create-default-devices" | "create-devices" => {
            "Only these device nodes exist in the container's /dev."
        }
        "create-dev-links" => "The usual /dev/fd and /dev/std* links.",
        "create-cwd" => "Make sure the working directory exists.",
        "open-proc-fd-dir" => "Keep a handle to reach the exec fifo after the root changes.",
        "create-hooks" | "create-runtime-hooks" | "start-container-hooks" => {
            "Run the config's hooks at their point in the lifecycle."
        }
        "pivot-root" => "Swap the root: from here on the host's files are out of reach.",
        "move-root" => "Move the rootfs over / and chroot (--no-pivot).",
        "open-terminal" => "A pseudo-terminal from the container's own /dev/pts.",
        "bind-console" => "/dev/console is the container's terminal, not the host's.",
        "send-terminal" => "Hand the terminal's master side to whoever drives it.",
        "set-hostname" | "set-domainname" => "A name of its own: only this UTS namespace sees it.",
        "set-sysctl" => "A kernel setting that belongs to the container's own namespace.",
        "mask-paths" => "Hide /proc and /sys files that would tell too much about the host.",
        "readonly-paths" => "Make kernel knobs in /proc read-only.",
        "set-rootfs-propagation" => "How mount events travel between the container and the host.",
        "readonly-root" => "The root filesystem cannot be written.",
        "join-session-keyring" => "A fresh kernel keyring: the host's secrets are not reachable.",
        "open-lsm-attr" => {
            "Open the process's LSM exec attribute while /proc is still the host's own."
        }
        "set-exec-label" => {
            "Name the AppArmor profile or SELinux label the program is confined by from its execve on."
        }
        "set-rlimit" => "A per-process resource limit.",
        "set-personality" => "The execution domain (for example a 32-bit uname).",
        "set-scheduler" | "set-io-priority" => "CPU and I/O scheduling for the process.",
        "compile-seccomp" => "Turn the seccomp profile into a BPF filter.",
        "load-seccomp" => "From now on the kernel checks every system call against the filter.",
        "drop-bounding-caps" => {
            "Capabilities not in the bounding set can never come back, not even through setuid files."
        }
        "switch-user" => "Become the container's user and groups.",
        "set-capabilities" => "Keep only the powers of root the container was given.",
        "set-no-new-privs" => "No exec can ever gain privileges again (setuid bits stop working).",
        "chdir-cwd" => "Enter the working directory (as root first, as the user if root may not).",
        "check-cwd" => "The working directory must be inside the container (CVE-2024-21626).",
        "raise-cap-sys-admin" => {
            "Loading a seccomp filter without no_new_privs needs CAP_SYS_ADMIN for a moment."
        }
        "find-executable" => "Find the program on the container's PATH.",
        "check-executable" => {
            "Check the program is one the kernel can run, while husk can still say why not."
        }
        "seal-exec-stub" => {
            "The program is started through a sealed copy of a tiny stub, so it can never reach husk's own binary."
        }
        "close-fds" => {
            "Only stdin, stdout and stderr (and fds passed on purpose) reach the container."
        }
        "attach-terminal" => "The terminal becomes the process's stdio and controlling terminal.",
        "apply-device-rules" | "wait-for-device-rules" => {
            "Device access rules take effect now that the nodes exist."
        }
        "check-exec-fifo" => {
            "Make sure the init will be able to hear `husk start`, while create can still report it."
        }
        "wait-for-start" => "Wait for `husk start`; then the container's own program runs.",
        "reset-signals" => "Start from a clean signal mask.",
        "join-v1-cgroups" => "Move the new process into the container's v1 cgroups.",
        "send-seccomp-fd" | "seccomp-listener" => "Give the seccomp listener its notification fd.",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// husk and its init write records through one shared open file: none
    /// may be lost. Without O_APPEND, writes from the two processes landed
    /// at the same offset (an `--explain=svg` timeline lost its `clone`
    /// step about once in 200 runs).
    #[test]
    fn two_processes_writing_records_lose_none() {
        const N: usize = 3000;
        let f = shared_record_file().unwrap();
        let line = |who: &str, i: usize| format!("{{\"who\":\"{who}\",\"i\":{i}}}\n");
        // SAFETY: the child only calls write(2) and _exit(2), which are
        // async-signal-safe, so forking the threaded test harness is sound.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        let who = if pid == 0 { "child" } else { "parent" };
        let lines: Vec<String> = (0..N).map(|i| line(who, i)).collect();
        for l in &lines {
            write(f.as_raw_fd(), l);
        }
        if pid == 0 {
            // SAFETY: leave the forked copy without running the harness.
            unsafe { libc::_exit(0) };
        }
        let mut status = 0;
        // SAFETY: reaping our own child.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        let mut text = String::new();
        let mut file = std::fs::File::from(f);
        std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(0)).unwrap();
        std::io::Read::read_to_string(&mut file, &mut text).unwrap();
        let whole = text
            .lines()
            .filter(|l| serde_json::from_str::<serde_json::Value>(l).is_ok())
            .count();
        assert_eq!(whole, 2 * N, "records lost or torn");
    }

    #[test]
    fn modes() {
        assert_eq!(Mode::parse("text").unwrap(), Mode::Text);
        assert_eq!(Mode::parse("json").unwrap(), Mode::Json);
        assert_eq!(
            Mode::parse("svg:/tmp/x.svg").unwrap(),
            Mode::Svg("/tmp/x.svg".into())
        );
        assert!(Mode::parse("svg").is_err());
        assert!(Mode::parse("html").is_err());
    }

    #[test]
    fn svg_has_a_bar_per_step() {
        let steps = vec![
            json!({"step": "clone", "call": "clone3(CLONE_NEWPID)", "process": "husk", "start_us": 10, "duration_us": 500}),
            json!({"step": "pivot-root", "call": "pivot_root(<x>)", "process": "init", "start_us": 600, "duration_us": 80}),
        ];
        let s = svg(&steps);
        assert_eq!(s.matches("<rect").count(), 2);
        assert!(s.contains("pivot_root(&lt;x&gt;)"));
    }

    /// Every step the code names has a sentence (kept in one list: the
    /// code's `step(...)` calls).
    #[test]
    fn every_step_has_a_sentence() {
        let src = concat!(
            include_str!("spawn/init.rs"),
            include_str!("spawn/parent.rs"),
            include_str!("spawn/process.rs"),
            include_str!("spawn/exec.rs"),
            include_str!("spawn/terminal.rs"),
            include_str!("commands/create.rs")
        );
        let mut rest = src;
        let mut missing = Vec::new();
        while let Some(i) = rest.find("step(") {
            rest = &rest[i + 5..];
            let t = rest.trim_start();
            if let Some(t) = t.strip_prefix('"') {
                let name = &t[..t.find('"').unwrap_or(0)];
                if sentence(name).is_empty() {
                    missing.push(name.to_string());
                }
            }
        }
        assert!(missing.is_empty(), "steps without a sentence: {missing:?}");
    }
}
