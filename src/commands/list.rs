//! `husk list`: every container under --root. Reads state.json without
//! taking locks (it is replaced atomically), so a busy container never
//! blocks the listing.

use std::os::unix::fs::MetadataExt;

use crate::cli::{Global, ListArgs, ListFormat};
use crate::container::{self, State};
use crate::error::{Error, Result};

pub fn run(g: &Global, a: &ListArgs) -> Result<()> {
    let mut rows = Vec::new();
    // Read once, and only if there is a container to name the owner of.
    let mut passwd = None;
    for id in container::list_ids(&g.root)? {
        let dir = g.root.join(&id);
        // A container still being created has no state.json yet.
        let Ok(mut st) = State::read(&dir.join(container::STATE_FILE)) else {
            continue;
        };
        // As runc lists it: whoever owns the state directory.
        st.owner = owner_of(&dir, passwd.get_or_insert_with(read_passwd));
        let status = container::status_of(&dir, &st);
        rows.push((st, status));
    }
    if a.quiet {
        for (st, _) in &rows {
            super::say!("{}", st.id);
        }
        return Ok(());
    }
    match a.format {
        ListFormat::Json => {
            let v: Vec<_> = rows.iter().map(|(st, s)| st.public(s.as_str())).collect();
            super::say!(
                "{}",
                serde_json::to_string(&v).map_err(|e| Error::msg(e.to_string()))?
            );
        }
        ListFormat::Table => {
            super::say!(
                "{:<20} {:<8} {:<10} {:<40} {:<32} OWNER",
                "ID",
                "PID",
                "STATUS",
                "BUNDLE",
                "CREATED"
            );
            for (st, s) in &rows {
                let p = st.public(s.as_str());
                super::say!(
                    "{:<20} {:<8} {:<10} {:<40} {:<32} {}",
                    p.id,
                    p.pid,
                    p.status,
                    p.bundle,
                    p.created,
                    p.owner
                );
            }
        }
    }
    Ok(())
}

fn read_passwd() -> String {
    std::fs::read_to_string("/etc/passwd").unwrap_or_default()
}

/// The name of the user owning `dir`, from /etc/passwd (its uid if none).
fn owner_of(dir: &std::path::Path, passwd: &str) -> String {
    let Ok(uid) = std::fs::metadata(dir).map(|m| m.uid()) else {
        return String::new();
    };
    user_name(passwd, uid).unwrap_or_else(|| uid.to_string())
}

fn user_name(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        (f.nth(1)?.parse::<u32>().ok()? == uid).then(|| name.to_string())
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn user_name_from_passwd() {
        let p = "root:x:0:0:root:/root:/bin/sh\nbad line\nann:x:1000:1000::/home/ann:/bin/sh\n";
        assert_eq!(super::user_name(p, 1000).as_deref(), Some("ann"));
        assert_eq!(super::user_name(p, 0).as_deref(), Some("root"));
        assert_eq!(super::user_name(p, 7), None);
    }
}
