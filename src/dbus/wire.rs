//! The D-Bus wire format, little-endian only: values, their signatures,
//! and whole messages (a fixed header, header fields, a body). Pure logic.
//!
//! Every value is aligned to its own size (strings and arrays to 4 for
//! their length, structs and dict entries to 8), counted from the start
//! of the message. The body starts 8-aligned, so aligning within the body
//! buffer is the same as aligning within the message.

use std::fmt;

/// A D-Bus value. Arrays carry their element signature, so that an empty
/// array still has a type.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Byte(u8),
    Bool(bool),
    I32(i32),
    U32(u32),
    I64(i64),
    U64(u64),
    Str(String),
    Path(String),
    Sig(String),
    Array(String, Vec<Value>),
    Struct(Vec<Value>),
    Variant(Box<Value>),
    /// Any other basic type (n, q, d, h): its code and its raw bytes.
    Other(u8, u64),
}

impl Value {
    pub fn str(s: impl Into<String>) -> Value {
        Value::Str(s.into())
    }

    pub fn variant(v: Value) -> Value {
        Value::Variant(Box::new(v))
    }

    /// An array of (sv) pairs, systemd's property lists.
    pub fn props(props: Vec<(String, Value)>) -> Value {
        let items = props
            .into_iter()
            .map(|(k, v)| Value::Struct(vec![Value::Str(k), Value::variant(v)]))
            .collect();
        Value::Array("(sv)".into(), items)
    }

    pub fn signature(&self) -> String {
        match self {
            Value::Byte(_) => "y".into(),
            Value::Bool(_) => "b".into(),
            Value::I32(_) => "i".into(),
            Value::U32(_) => "u".into(),
            Value::I64(_) => "x".into(),
            Value::U64(_) => "t".into(),
            Value::Str(_) => "s".into(),
            Value::Path(_) => "o".into(),
            Value::Sig(_) => "g".into(),
            Value::Array(elem, _) => format!("a{elem}"),
            Value::Struct(fields) => {
                let inner: String = fields.iter().map(Value::signature).collect();
                format!("({inner})")
            }
            Value::Variant(_) => "v".into(),
            Value::Other(c, _) => (*c as char).to_string(),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) | Value::Path(s) | Value::Sig(s) => Some(s),
            Value::Variant(v) => v.as_str(),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError(pub String);

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "malformed D-Bus message: {}", self.0)
    }
}

fn bad<T>(what: impl Into<String>) -> Result<T, WireError> {
    Err(WireError(what.into()))
}

// ---------------------------------------------------------------------------
// Encoding.

#[derive(Default)]
pub struct Encoder {
    pub buf: Vec<u8>,
}

impl Encoder {
    fn pad(&mut self, align: usize) {
        while !self.buf.len().is_multiple_of(align) {
            self.buf.push(0);
        }
    }

    fn u32(&mut self, v: u32) {
        self.pad(4);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    fn bytes_with_nul(&mut self, s: &str) {
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
    }

    pub fn value(&mut self, v: &Value) {
        match v {
            Value::Byte(b) => self.buf.push(*b),
            Value::Bool(b) => self.u32(u32::from(*b)),
            Value::I32(i) => self.u32(*i as u32),
            Value::U32(u) => self.u32(*u),
            Value::I64(i) => {
                self.pad(8);
                self.buf.extend_from_slice(&i.to_le_bytes());
            }
            Value::U64(u) => {
                self.pad(8);
                self.buf.extend_from_slice(&u.to_le_bytes());
            }
            Value::Str(s) | Value::Path(s) => {
                self.u32(s.len() as u32);
                self.bytes_with_nul(s);
            }
            Value::Sig(s) => {
                self.buf.push(s.len() as u8);
                self.bytes_with_nul(s);
            }
            Value::Array(elem, items) => {
                self.u32(0);
                let len_at = self.buf.len() - 4;
                // The length counts from after the padding to the first
                // element, which is there even when the array is empty.
                self.pad(align_of_sig(
                    elem.as_bytes().first().copied().unwrap_or(b'y'),
                ));
                let start = self.buf.len();
                for item in items {
                    self.value(item);
                }
                let len = (self.buf.len() - start) as u32;
                self.buf[len_at..len_at + 4].copy_from_slice(&len.to_le_bytes());
            }
            Value::Struct(fields) => {
                self.pad(8);
                for f in fields {
                    self.value(f);
                }
            }
            Value::Variant(inner) => {
                self.value(&Value::Sig(inner.signature()));
                self.value(inner);
            }
            Value::Other(code, raw) => {
                let n = align_of_sig(*code);
                self.pad(n);
                self.buf.extend_from_slice(&raw.to_le_bytes()[..n]);
            }
        }
    }
}

fn align_of_sig(code: u8) -> usize {
    match code {
        b'y' | b'g' | b'v' => 1,
        b'n' | b'q' => 2,
        b'b' | b'i' | b'u' | b'h' | b's' | b'o' | b'a' => 4,
        _ => 8, // x t d ( {
    }
}

// ---------------------------------------------------------------------------
// Decoding.

pub struct Decoder<'a> {
    buf: &'a [u8],
    pos: usize,
    depth: usize,
}

impl<'a> Decoder<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Decoder {
            buf,
            pos: 0,
            depth: 0,
        }
    }

    fn align(&mut self, n: usize) -> Result<(), WireError> {
        let to = self.pos.next_multiple_of(n);
        if to > self.buf.len() {
            return bad("truncated padding");
        }
        self.pos = to;
        Ok(())
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        let Some(end) = self.pos.checked_add(n).filter(|e| *e <= self.buf.len()) else {
            return bad("truncated value");
        };
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn fixed(&mut self, n: usize) -> Result<u64, WireError> {
        self.align(n)?;
        let mut b = [0u8; 8];
        b[..n].copy_from_slice(self.take(n)?);
        Ok(u64::from_le_bytes(b))
    }

    fn text(&mut self, len: usize) -> Result<String, WireError> {
        let s = self.take(len)?;
        if self.take(1)? != [0] {
            return bad("string without its NUL");
        }
        String::from_utf8(s.to_vec()).or_else(|_| bad("string is not UTF-8"))
    }

    /// Decode every complete type in `sig`, in order.
    pub fn values(&mut self, sig: &str) -> Result<Vec<Value>, WireError> {
        let mut out = Vec::new();
        let mut rest = sig;
        while !rest.is_empty() {
            let (one, tail) = split_first_type(rest)?;
            out.push(self.value(one)?);
            rest = tail;
        }
        Ok(out)
    }

    fn value(&mut self, sig: &str) -> Result<Value, WireError> {
        let code = sig.as_bytes()[0];
        Ok(match code {
            b'y' => Value::Byte(self.take(1)?[0]),
            b'b' => Value::Bool(self.fixed(4)? != 0),
            b'i' => Value::I32(self.fixed(4)? as u32 as i32),
            b'u' => Value::U32(self.fixed(4)? as u32),
            b'x' => Value::I64(self.fixed(8)? as i64),
            b't' => Value::U64(self.fixed(8)?),
            b'n' | b'q' => Value::Other(code, self.fixed(2)?),
            b'h' => Value::Other(code, self.fixed(4)?),
            b'd' => Value::Other(code, self.fixed(8)?),
            b's' | b'o' => {
                let len = self.fixed(4)? as usize;
                let s = self.text(len)?;
                if code == b's' {
                    Value::Str(s)
                } else {
                    Value::Path(s)
                }
            }
            b'g' => {
                let len = self.take(1)?[0] as usize;
                Value::Sig(self.text(len)?)
            }
            b'a' => self.array(&sig[1..])?,
            b'(' | b'{' => {
                self.align(8)?;
                let inner = &sig[1..sig.len() - 1];
                Value::Struct(self.nested(|d| d.values(inner))?)
            }
            b'v' => {
                let len = self.take(1)?[0] as usize;
                let s = self.text(len)?;
                let (one, tail) = split_first_type(&s)?;
                if !tail.is_empty() {
                    return bad(format!("variant signature {s:?} holds more than one type"));
                }
                Value::variant(self.nested(|d| d.value(one))?)
            }
            c => return bad(format!("unknown type code {:?}", c as char)),
        })
    }

    fn array(&mut self, elem: &str) -> Result<Value, WireError> {
        let len = self.fixed(4)? as usize;
        self.align(align_of_sig(elem.as_bytes()[0]))?;
        let end = self
            .pos
            .checked_add(len)
            .filter(|e| *e <= self.buf.len())
            .ok_or_else(|| WireError("array runs past the message".into()))?;
        let items = self.nested(|d| {
            let mut items = Vec::new();
            while d.pos < end {
                items.push(d.value(elem)?);
            }
            Ok(items)
        })?;
        if self.pos != end {
            return bad("array length does not match its elements");
        }
        Ok(Value::Array(elem.into(), items))
    }

    fn nested<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, WireError>,
    ) -> Result<T, WireError> {
        // The specification's limit (32 + 32), which also bounds recursion.
        if self.depth >= 64 {
            return bad("nested too deeply");
        }
        self.depth += 1;
        let r = f(self);
        self.depth -= 1;
        r
    }
}

/// The first complete type of a signature, and the rest.
pub fn split_first_type(sig: &str) -> Result<(&str, &str), WireError> {
    let b = sig.as_bytes();
    let mut i = 0;
    while i < b.len() && b[i] == b'a' {
        i += 1;
    }
    if i == b.len() {
        return bad(format!("signature {sig:?} ends inside an array"));
    }
    let end = match b[i] {
        open @ (b'(' | b'{') => {
            let close = if open == b'(' { b')' } else { b'}' };
            let mut depth = 0usize;
            let mut j = i;
            loop {
                if j == b.len() {
                    return bad(format!(
                        "signature {sig:?} has an unclosed {:?}",
                        open as char
                    ));
                }
                if b[j] == open {
                    depth += 1;
                } else if b[j] == close {
                    depth -= 1;
                    if depth == 0 {
                        break j + 1;
                    }
                }
                j += 1;
            }
        }
        b')' | b'}' => return bad(format!("signature {sig:?} has a stray close")),
        _ => i + 1,
    };
    Ok((&sig[..end], &sig[end..]))
}

// ---------------------------------------------------------------------------
// Messages.

pub const METHOD_CALL: u8 = 1;
pub const METHOD_RETURN: u8 = 2;
pub const ERROR: u8 = 3;
pub const SIGNAL: u8 = 4;

const FIELD_PATH: u8 = 1;
const FIELD_INTERFACE: u8 = 2;
const FIELD_MEMBER: u8 = 3;
const FIELD_ERROR_NAME: u8 = 4;
const FIELD_REPLY_SERIAL: u8 = 5;
const FIELD_DESTINATION: u8 = 6;
const FIELD_SENDER: u8 = 7;
const FIELD_SIGNATURE: u8 = 8;

/// Messages larger than this are refused (the specification allows
/// 128 MiB; systemd's answers to husk are a few hundred bytes).
pub const MAX_MESSAGE: usize = 16 << 20;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Message {
    pub kind: u8,
    pub serial: u32,
    pub path: Option<String>,
    pub interface: Option<String>,
    pub member: Option<String>,
    pub error_name: Option<String>,
    pub reply_serial: Option<u32>,
    pub destination: Option<String>,
    pub sender: Option<String>,
    pub body: Vec<Value>,
}

impl Message {
    pub fn call(dest: &str, path: &str, iface: &str, member: &str, body: Vec<Value>) -> Message {
        Message {
            kind: METHOD_CALL,
            path: Some(path.into()),
            interface: Some(iface.into()),
            member: Some(member.into()),
            destination: Some(dest.into()),
            body,
            ..Message::default()
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut body = Encoder::default();
        for v in &self.body {
            body.value(v);
        }
        let sig: String = self.body.iter().map(Value::signature).collect();
        let mut fields = Vec::new();
        let mut field = |code: u8, v: Value| {
            fields.push(Value::Struct(vec![Value::Byte(code), Value::variant(v)]));
        };
        let strs = [
            (FIELD_PATH, &self.path, true),
            (FIELD_INTERFACE, &self.interface, false),
            (FIELD_MEMBER, &self.member, false),
            (FIELD_ERROR_NAME, &self.error_name, false),
            (FIELD_DESTINATION, &self.destination, false),
            (FIELD_SENDER, &self.sender, false),
        ];
        for (code, v, is_path) in strs {
            if let Some(s) = v {
                field(
                    code,
                    if is_path {
                        Value::Path(s.clone())
                    } else {
                        Value::Str(s.clone())
                    },
                );
            }
        }
        if let Some(r) = self.reply_serial {
            field(FIELD_REPLY_SERIAL, Value::U32(r));
        }
        if !sig.is_empty() {
            field(FIELD_SIGNATURE, Value::Sig(sig));
        }
        let mut out = Encoder {
            buf: vec![b'l', self.kind, 0, 1],
        };
        out.buf
            .extend_from_slice(&(body.buf.len() as u32).to_le_bytes());
        out.buf.extend_from_slice(&self.serial.to_le_bytes());
        out.value(&Value::Array("(yv)".into(), fields));
        out.pad(8);
        out.buf.extend_from_slice(&body.buf);
        out.buf
    }

    /// The length of the message that starts `buf`, once its first 16
    /// bytes are there.
    pub fn total_len(buf: &[u8]) -> Result<Option<usize>, WireError> {
        if buf.len() < 16 {
            return Ok(None);
        }
        if buf[0] != b'l' {
            return bad("big-endian messages are not supported");
        }
        let word =
            |i: usize| u32::from_le_bytes(buf[i..i + 4].try_into().expect("4 bytes")) as usize;
        let (body, fields) = (word(4), word(12));
        let total = (16 + fields).next_multiple_of(8) + body;
        if total > MAX_MESSAGE {
            return bad(format!("message of {total} bytes"));
        }
        Ok(Some(total))
    }

    pub fn decode(buf: &[u8]) -> Result<Message, WireError> {
        if Message::total_len(buf)? != Some(buf.len()) {
            return bad("length does not match the header");
        }
        let mut d = Decoder::new(buf);
        d.pos = 12;
        let Value::Array(_, fields) = d.value("a(yv)")? else {
            unreachable!("an array signature decodes to an array");
        };
        let mut m = Message {
            kind: buf[1],
            serial: u32::from_le_bytes(buf[8..12].try_into().expect("4 bytes")),
            ..Message::default()
        };
        let mut sig = String::new();
        for f in fields {
            let Value::Struct(kv) = f else { continue };
            let (Some(Value::Byte(code)), Some(Value::Variant(v))) = (kv.first(), kv.get(1)) else {
                continue;
            };
            let s = v.as_str().map(String::from);
            match *code {
                FIELD_PATH => m.path = s,
                FIELD_INTERFACE => m.interface = s,
                FIELD_MEMBER => m.member = s,
                FIELD_ERROR_NAME => m.error_name = s,
                FIELD_DESTINATION => m.destination = s,
                FIELD_SENDER => m.sender = s,
                FIELD_SIGNATURE => sig = s.unwrap_or_default(),
                FIELD_REPLY_SERIAL => {
                    if let Value::U32(r) = **v {
                        m.reply_serial = Some(r);
                    }
                }
                _ => {}
            }
        }
        d.align(8)?;
        let mut body = Decoder::new(&buf[d.pos..]);
        m.body = body.values(&sig)?;
        if body.pos != body.buf.len() {
            return bad("body is longer than its signature");
        }
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_split() {
        assert_eq!(split_first_type("sa(sv)b").unwrap(), ("s", "a(sv)b"));
        assert_eq!(split_first_type("a(sv)b").unwrap(), ("a(sv)", "b"));
        assert_eq!(split_first_type("a(sa(sv))").unwrap(), ("a(sa(sv))", ""));
        assert_eq!(split_first_type("a{sv}u").unwrap(), ("a{sv}", "u"));
        assert!(split_first_type("a").is_err());
        assert!(split_first_type("(su").is_err());
    }

    /// The bytes of a known message: Hello as dbus-send would send it.
    #[test]
    fn hello_bytes() {
        let mut m = Message::call(
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            "Hello",
            vec![],
        );
        m.serial = 1;
        let b = m.encode();
        assert_eq!(&b[..12], b"l\x01\x00\x01\x00\x00\x00\x00\x01\x00\x00\x00");
        assert_eq!(b.len() % 8, 0);
        // path field: code 1, signature "o", then the string at offset 24
        assert_eq!(&b[16..20], b"\x01\x01o\x00");
        assert_eq!(&b[20..24], &21u32.to_le_bytes());
        assert_eq!(&b[24..45], b"/org/freedesktop/DBus");
        let back = Message::decode(&b).unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn round_trip_start_transient_unit() {
        let props = Value::props(vec![
            ("Description".into(), Value::str("husk container c1")),
            ("Delegate".into(), Value::Bool(true)),
            (
                "PIDs".into(),
                Value::Array("u".into(), vec![Value::U32(42)]),
            ),
            ("MemoryMax".into(), Value::U64(1 << 30)),
            (
                "AllowedCPUs".into(),
                Value::Array("y".into(), vec![Value::Byte(5)]),
            ),
            (
                "DeviceAllow".into(),
                Value::Array(
                    "(ss)".into(),
                    vec![Value::Struct(vec![
                        Value::str("/dev/null"),
                        Value::str("rwm"),
                    ])],
                ),
            ),
        ]);
        let aux = Value::Array("(sa(sv))".into(), vec![]);
        let mut m = Message::call(
            "org.freedesktop.systemd1",
            "/org/freedesktop/systemd1",
            "org.freedesktop.systemd1.Manager",
            "StartTransientUnit",
            vec![
                Value::str("husk-c1.scope"),
                Value::str("replace"),
                props,
                aux,
            ],
        );
        m.serial = 7;
        let b = m.encode();
        let back = Message::decode(&b).unwrap();
        assert_eq!(back, m);
        let sig: String = back.body.iter().map(Value::signature).collect();
        assert_eq!(sig, "ssa(sv)a(sa(sv))");
    }

    #[test]
    fn empty_array_of_structs_pads_to_8() {
        let mut e = Encoder::default();
        e.value(&Value::U32(1));
        e.value(&Value::Array("(ss)".into(), vec![]));
        // u32, then the length (0) at 4, then padding to 8; no elements.
        assert_eq!(e.buf, vec![1, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn rejects_garbage() {
        assert!(Message::decode(b"B\x01\x00\x01").is_err());
        let mut m = Message::call("d", "/p", "i", "m", vec![Value::str("x")]);
        m.serial = 1;
        let mut b = m.encode();
        let n = b.len();
        b[n - 1] = b'!'; // the string's NUL
        assert!(Message::decode(&b).is_err());
        // An array length that runs past the end.
        let mut d = Decoder::new(&[0xff, 0xff, 0, 0]);
        assert!(d.values("ay").is_err());
        // Deep nesting is refused, not a stack overflow.
        let sig = format!("{}y{}", "(".repeat(70), ")".repeat(70));
        let zeros = vec![0u8; 1024];
        assert!(Decoder::new(&zeros).values(&sig).is_err());
    }
}
