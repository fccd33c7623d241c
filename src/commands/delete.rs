//! `husk delete [--force] ID`.
//!
//! A delete killed half-way can be repeated: the container's directory
//! goes last (see Container::remove), and a directory without state.json
//! is undone from its record (container/record.rs).

use crate::cli::{DeleteArgs, Global};
use crate::container::lifecycle::{self, DeleteAction};
use crate::container::record::Record;
use crate::container::{Container, Opened, id, process};
use crate::error::Result;

pub fn run(g: &Global, a: &DeleteArgs) -> Result<()> {
    let opened = match Container::open_any(&g.root, &a.id) {
        Ok(o) => o,
        Err(e) if e.to_string() == "container does not exist" && a.force => {
            // A create killed between its mkdir and its lock file made
            // nothing else yet. With nothing at all, --force succeeds, as
            // in runc.
            id::validate(&a.id)?;
            let dir = g.root.join(&a.id);
            if dir.exists() {
                std::fs::remove_dir_all(&dir)?;
            }
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    let (c, st) = match opened {
        Opened::Ready(c, st) => (c, *st),
        Opened::Unfinished(_) if !a.force => crate::bail!("container does not exist"),
        Opened::Unfinished(c) => {
            // A create (or a delete) that was killed: undo what its record
            // lists, then the directory.
            Record::read(&c.dir)?.undo()?;
            return c.remove();
        }
    };
    match lifecycle::check_delete(&a.id, c.status(&st), a.force)? {
        DeleteAction::Remove => {}
        DeleteAction::KillThenRemove => process::kill_and_wait(&st)?,
    }
    c.destroy(&st)
}
