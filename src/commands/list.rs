//! `husk list`: every container under --root. Reads state.json without
//! taking locks (it is replaced atomically), so a busy container never
//! blocks the listing.

use crate::cli::{Global, ListArgs, ListFormat};
use crate::container::{self, State};
use crate::error::{Error, Result};

pub fn run(g: &Global, a: &ListArgs) -> Result<()> {
    let mut rows = Vec::new();
    for id in container::list_ids(&g.root)? {
        let dir = g.root.join(&id);
        // A container still being created has no state.json yet.
        let Ok(st) = State::read(&dir.join(container::STATE_FILE)) else {
            continue;
        };
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
                    if p.owner.is_empty() { "root" } else { p.owner }
                );
            }
        }
    }
    Ok(())
}
