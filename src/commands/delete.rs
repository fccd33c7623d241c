//! `husk delete [--force] ID`.

use crate::cli::{DeleteArgs, Global};
use crate::container::lifecycle::{self, DeleteAction};
use crate::container::{Container, id, process};
use crate::error::Result;

pub fn run(g: &Global, a: &DeleteArgs) -> Result<()> {
    let (c, st) = match Container::open(&g.root, &a.id) {
        Ok(x) => x,
        Err(e) if e.to_string() == "container does not exist" && a.force => {
            // As runc: --force also clears a directory a crashed create left
            // without state.json, and succeeds when there is nothing at all.
            id::validate(&a.id)?;
            let dir = g.root.join(&a.id);
            if dir.exists() {
                // A create killed after it recorded the mounts it was about
                // to make (see linux/host_mounts.rs).
                crate::linux::host_mounts::release(&dir)?;
                std::fs::remove_dir_all(&dir)?;
            }
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    match lifecycle::check_delete(&a.id, c.status(&st), a.force)? {
        DeleteAction::Remove => {}
        DeleteAction::KillThenRemove => process::kill_and_wait(&st)?,
    }
    c.destroy(&st)
}
