//! `husk kill ID [SIGNAL] [--all]`.

use crate::cli::{Global, KillArgs};
use crate::container::{Container, lifecycle, process};
use crate::error::Result;
use crate::linux::signal;

pub fn run(g: &Global, a: &KillArgs) -> Result<()> {
    // A bad signal is refused before the container is even looked at.
    let sig = signal::parse(&a.signal)?;
    let (c, st) = Container::open(&g.root, &a.id)?;
    lifecycle::check_kill(c.status(&st))?;
    if a.all {
        process::signal_all(&st, sig)
    } else {
        process::signal_init(&st, sig)
    }
}
