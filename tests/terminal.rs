//! Terminals: the --console-socket protocol conmon and containerd speak
//! (one message: the pty's name, with the master as SCM_RIGHTS), and husk's
//! own relay when `run`/`exec` drive the terminal in the foreground.

mod common;

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

/// Accept one connection and receive the name and fd from it.
fn receive_master(l: &UnixListener) -> (String, std::fs::File) {
    let (conn, _) = l.accept().unwrap();
    let mut name = [0u8; 256];
    let (n, fd) = recv_with_fd(&conn, &mut name);
    let f = std::fs::File::from(fd);
    (String::from_utf8_lossy(&name[..n]).into_owned(), f)
}

/// Read from the pty master until `want` appears or time runs out.
fn read_until(m: &mut std::fs::File, want: &str) -> String {
    // SAFETY: F_SETFL on our own fd.
    unsafe { libc::fcntl(m.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) };
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let mut buf = [0u8; 4096];
        match m.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(_) => break,
        }
        if String::from_utf8_lossy(&out).contains(want) {
            break;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn console_socket_receives_the_pty_master() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.args(&["sh"])
        .set("/process/terminal", json!(true))
        .set("/process/consoleSize", json!({"height": 33, "width": 99}));
    b.write();
    let sock = h.root.path().join("console.sock");
    let l = UnixListener::bind(&sock).unwrap();
    let id = unique_id("tty");
    let recv = std::thread::spawn(move || receive_master(&l));
    let o = h.cmd(&[
        "create",
        "--console-socket",
        sock.to_str().unwrap(),
        "--bundle",
        b.path().to_str().unwrap(),
        &id,
    ]);
    ok(&o);
    let (name, mut master) = recv.join().unwrap();
    assert!(name.starts_with("/dev/pts/"), "{name}");
    ok(&h.cmd(&["start", &id]));
    master
        .write_all(b"tty; stty size; readlink /proc/self/fd/0; ls -l /dev/console; exit 6\n")
        .unwrap();
    let out = read_until(&mut master, "exit 6");
    let out = out + &read_until(&mut master, "console");
    assert!(
        out.contains(&name),
        "the process's terminal is {name}: {out}"
    );
    assert!(out.contains("33 99"), "consoleSize applies: {out}");
    h.wait_status(&id, "stopped");
}

#[test]
fn create_with_terminal_needs_a_console_socket() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.args(&["true"]).set("/process/terminal", json!(true));
    let id = unique_id("tty");
    let e = fails(&h.create(&b, &id));
    assert!(e.contains("--console-socket"), "{e}");
    assert!(!h.root.path().join(&id).exists());
}

/// `script` gives husk a real terminal; husk relays it to the container.
#[test]
fn run_in_the_foreground_relays_the_terminal() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.args(&["sh"]).set("/process/terminal", json!(true));
    b.write();
    let id = unique_id("tty");
    let cmd = format!(
        "{} --root {} run --bundle {} {id}",
        HUSK,
        h.root.path().display(),
        b.path().display()
    );
    let mut child = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("script (bsdutils) must be installed");
    let mut stdin = child.stdin.take().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    stdin
        .write_all(b"tty; echo relayed-$((6*7)); exit 5\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("relayed-42"), "{text}");
    assert!(text.contains("/dev/pts/"), "{text}");
    assert_eq!(out.status.code(), Some(5), "{text}");
}

#[test]
fn exec_tty_relays_and_returns_the_status() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.args(&["sleep", "30"]);
    let id = unique_id("tty");
    h.run_detached(&b, &id);
    let cmd = format!(
        "{} --root {} exec -t {id} sh",
        HUSK,
        h.root.path().display()
    );
    let mut child = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    stdin.write_all(b"echo in-exec-$$; tty; exit 9\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("in-exec-"), "{text}");
    assert!(text.contains("/dev/pts/"), "{text}");
    assert_eq!(out.status.code(), Some(9), "{text}");
}
