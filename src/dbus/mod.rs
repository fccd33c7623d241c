//! A small blocking D-Bus client: enough to ask systemd for transient
//! units (cgroups/systemd.rs). One unix socket, EXTERNAL authentication,
//! method calls that wait for their reply, and signals kept for whoever
//! asks for them. No threads and no async runtime: husk forks after this
//! has run (see design notes, "Rust and fork").
//!
//! Only `--systemd-cgroup` reaches this module; nothing here runs, and no
//! socket is opened, for any other command line.

pub mod wire;

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use wire::{Message, Value};

use crate::error::{Error, Result};

pub const SYSTEM_BUS: &str = "unix:path=/run/dbus/system_bus_socket";
/// systemd's own socket, for root: no bus daemon in between (and no Hello).
pub const SYSTEMD_PRIVATE: &str = "unix:path=/run/systemd/private";

/// What a method call can end with besides its reply.
#[derive(Debug)]
pub enum CallError {
    /// The peer answered with an error message: its name and text.
    Remote { name: String, message: String },
    /// The connection failed, or the answer did not come in time.
    Local(Error),
}

impl CallError {
    pub fn is(&self, name: &str) -> bool {
        matches!(self, CallError::Remote { name: n, .. } if n == name)
    }
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            CallError::Remote { name, message } => write!(f, "{name}: {message}"),
            CallError::Local(e) => write!(f, "{e}"),
        }
    }
}

impl From<Error> for CallError {
    fn from(e: Error) -> Self {
        CallError::Local(e)
    }
}

pub struct Bus {
    sock: UnixStream,
    serial: u32,
    /// Bytes read but not yet a whole message.
    buf: Vec<u8>,
    /// Signals that arrived while a reply was awaited.
    signals: VecDeque<Message>,
    pub address: String,
}

/// The socket paths an address names: `unix:path=…` or `unix:abstract=…`,
/// several separated by `;`, other keys (guid) ignored.
pub fn socket_paths(address: &str) -> Vec<String> {
    let mut out = Vec::new();
    for one in address.split(';') {
        let Some(rest) = one.strip_prefix("unix:") else {
            continue;
        };
        for kv in rest.split(',') {
            if let Some(p) = kv.strip_prefix("path=") {
                out.push(unescape(p));
            } else if let Some(p) = kv.strip_prefix("abstract=") {
                out.push(format!("\0{}", unescape(p)));
            }
        }
    }
    out
}

/// D-Bus addresses escape bytes as %XX.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len() + 1
            && let Some(h) = s.get(i + 1..i + 3)
            && let Ok(v) = u8::from_str_radix(h, 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn connect_path(p: &str) -> std::io::Result<UnixStream> {
    if let Some(name) = p.strip_prefix('\0') {
        use std::os::linux::net::SocketAddrExt;
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
        UnixStream::connect_addr(&addr)
    } else {
        UnixStream::connect(p)
    }
}

const TIMEOUT: Duration = Duration::from_secs(30);

impl Bus {
    /// Connect and authenticate; `hello` is false for a peer-to-peer
    /// socket such as systemd's private one.
    pub fn connect(address: &str, hello: bool) -> Result<Bus> {
        let mut last = Error::msg(format!("no unix socket in D-Bus address {address:?}"));
        for p in socket_paths(address) {
            match connect_path(&p) {
                Ok(sock) => {
                    let mut bus = Bus {
                        sock,
                        serial: 0,
                        buf: Vec::new(),
                        signals: VecDeque::new(),
                        address: address.to_string(),
                    };
                    bus.sock
                        .set_read_timeout(Some(TIMEOUT))
                        .map_err(|e| Error::from(e).context("set the D-Bus socket's timeout"))?;
                    bus.authenticate()?;
                    if hello {
                        bus.call(
                            "org.freedesktop.DBus",
                            "/org/freedesktop/DBus",
                            "org.freedesktop.DBus",
                            "Hello",
                            vec![],
                        )
                        .map_err(|e| Error::msg(format!("D-Bus Hello on {address}: {e}")))?;
                    }
                    return Ok(bus);
                }
                Err(e) => {
                    last = Error::from(e).context(format!("connect to {}", p.replace('\0', "@")));
                }
            }
        }
        Err(last)
    }

    /// SASL EXTERNAL: the server checks our uid from the socket's
    /// credentials; we only say which uid we claim to be, in hex digits.
    fn authenticate(&mut self) -> Result<()> {
        let uid = crate::linux::identity::euid().to_string();
        let hex: String = uid.bytes().map(|b| format!("{b:02x}")).collect();
        let hello = format!("\0AUTH EXTERNAL {hex}\r\n");
        self.write_all(hello.as_bytes())?;
        let line = self.read_line()?;
        if !line.starts_with("OK ") {
            return Err(Error::msg(format!(
                "D-Bus authentication on {} refused: {:?}",
                self.address,
                line.trim_end()
            )));
        }
        self.write_all(b"BEGIN\r\n")
    }

    fn write_all(&mut self, b: &[u8]) -> Result<()> {
        self.sock
            .write_all(b)
            .map_err(|e| Error::from(e).context(format!("write to D-Bus {}", self.address)))
    }

    /// One line of the authentication exchange, read a byte at a time so
    /// that nothing after it is consumed.
    fn read_line(&mut self) -> Result<String> {
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while !line.ends_with(b"\r\n") {
            let n = self
                .sock
                .read(&mut byte)
                .map_err(|e| Error::from(e).context(format!("read from D-Bus {}", self.address)))?;
            if n == 0 || line.len() > 512 {
                return Err(Error::msg(format!(
                    "D-Bus {} closed the connection during authentication",
                    self.address
                )));
            }
            line.push(byte[0]);
        }
        Ok(String::from_utf8_lossy(&line).into_owned())
    }

    pub fn send(&mut self, mut m: Message) -> Result<u32> {
        self.serial += 1;
        m.serial = self.serial;
        let bytes = m.encode();
        self.write_all(&bytes)?;
        Ok(m.serial)
    }

    /// The next whole message, waiting until `deadline`.
    fn read_message(&mut self, deadline: Instant) -> Result<Option<Message>> {
        loop {
            if let Some(n) = Message::total_len(&self.buf).map_err(|e| Error::msg(e.to_string()))?
                && self.buf.len() >= n
            {
                let rest = self.buf.split_off(n);
                let whole = std::mem::replace(&mut self.buf, rest);
                return Message::decode(&whole)
                    .map(Some)
                    .map_err(|e| Error::msg(e.to_string()));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            let _ = self.sock.set_read_timeout(Some(left));
            let mut chunk = [0u8; 4096];
            match self.sock.read(&mut chunk) {
                Ok(0) => {
                    return Err(Error::msg(format!(
                        "D-Bus {} closed the connection",
                        self.address
                    )));
                }
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return Ok(None);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(Error::from(e).context(format!("read from D-Bus {}", self.address)));
                }
            }
        }
    }

    /// Call a method and wait for its reply's body. Signals that arrive
    /// meanwhile are kept for [`Bus::wait_signal`].
    pub fn call(
        &mut self,
        dest: &str,
        path: &str,
        iface: &str,
        member: &str,
        body: Vec<Value>,
    ) -> Result<Vec<Value>, CallError> {
        let serial = self.send(Message::call(dest, path, iface, member, body))?;
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let Some(m) = self.read_message(deadline)? else {
                return Err(CallError::Local(Error::msg(format!(
                    "no answer to {iface}.{member} from {dest} in {} s",
                    TIMEOUT.as_secs()
                ))));
            };
            match m.kind {
                wire::SIGNAL => self.signals.push_back(m),
                wire::METHOD_RETURN if m.reply_serial == Some(serial) => return Ok(m.body),
                wire::ERROR if m.reply_serial == Some(serial) => {
                    return Err(CallError::Remote {
                        name: m.error_name.unwrap_or_default(),
                        message: m
                            .body
                            .first()
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string(),
                    });
                }
                _ => {}
            }
        }
    }

    /// The first signal (kept or new) that `pick` accepts, by `deadline`.
    pub fn wait_signal<T>(
        &mut self,
        deadline: Instant,
        mut pick: impl FnMut(&Message) -> Option<T>,
    ) -> Result<Option<T>> {
        while let Some(m) = self.signals.pop_front() {
            if let Some(t) = pick(&m) {
                return Ok(Some(t));
            }
        }
        loop {
            let Some(m) = self.read_message(deadline)? else {
                return Ok(None);
            };
            if m.kind == wire::SIGNAL
                && let Some(t) = pick(&m)
            {
                return Ok(Some(t));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(
            socket_paths(SYSTEM_BUS),
            vec!["/run/dbus/system_bus_socket".to_string()]
        );
        assert_eq!(
            socket_paths("unix:path=/tmp/a%20b,guid=00ff;tcp:host=x;unix:abstract=bus"),
            vec!["/tmp/a b".to_string(), "\0bus".to_string()]
        );
        assert!(socket_paths("tcp:host=localhost,port=1").is_empty());
    }

    /// A fake bus on a socketpair: the client authenticates, calls, gets
    /// a signal before its reply, and finds that signal afterwards.
    #[test]
    fn call_and_signal_over_a_socketpair() {
        let (a, mut b) = UnixStream::pair().unwrap();
        let server = std::thread::spawn(move || {
            let mut got = Vec::new();
            let mut byte = [0u8; 1];
            while !got.ends_with(b"\r\n") {
                b.read_exact(&mut byte).unwrap();
                got.push(byte[0]);
            }
            assert!(got.starts_with(b"\0AUTH EXTERNAL "));
            b.write_all(b"OK 0123456789abcdef0123456789abcdef\r\n")
                .unwrap();
            let mut begin = [0u8; 7];
            b.read_exact(&mut begin).unwrap();
            assert_eq!(&begin, b"BEGIN\r\n");
            let mut head = [0u8; 16];
            b.read_exact(&mut head).unwrap();
            let n = Message::total_len(&head).unwrap().unwrap();
            let mut rest = vec![0u8; n - 16];
            b.read_exact(&mut rest).unwrap();
            let call = Message::decode(&[head.to_vec(), rest].concat()).unwrap();
            assert_eq!(call.member.as_deref(), Some("GetUnit"));
            let sig = Message {
                kind: wire::SIGNAL,
                serial: 1,
                path: Some("/org/freedesktop/systemd1".into()),
                interface: Some("org.freedesktop.systemd1.Manager".into()),
                member: Some("JobRemoved".into()),
                body: vec![Value::U32(9), Value::Path("/job/9".into())],
                ..Message::default()
            };
            let err = Message {
                kind: wire::ERROR,
                serial: 2,
                reply_serial: Some(call.serial),
                error_name: Some("org.freedesktop.systemd1.NoSuchUnit".into()),
                body: vec![Value::str("Unit x.scope not loaded.")],
                ..Message::default()
            };
            b.write_all(&[sig.encode(), err.encode()].concat()).unwrap();
        });
        let mut bus = Bus {
            sock: a,
            serial: 0,
            buf: Vec::new(),
            signals: VecDeque::new(),
            address: "test".into(),
        };
        bus.authenticate().unwrap();
        let e = bus
            .call(
                "d",
                "/p",
                "org.freedesktop.systemd1.Manager",
                "GetUnit",
                vec![Value::str("x.scope")],
            )
            .unwrap_err();
        assert!(e.is("org.freedesktop.systemd1.NoSuchUnit"), "{e}");
        assert_eq!(
            e.to_string(),
            "org.freedesktop.systemd1.NoSuchUnit: Unit x.scope not loaded."
        );
        let job = bus
            .wait_signal(Instant::now() + Duration::from_secs(1), |m| {
                m.body.get(1).and_then(Value::as_str).map(String::from)
            })
            .unwrap();
        assert_eq!(job.as_deref(), Some("/job/9"));
        server.join().unwrap();
    }
}
