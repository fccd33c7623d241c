//! `husk pause` and `husk resume`: freeze and thaw every process of the
//! container through its cgroup (cgroup.freeze on v2, the v1 freezer).

use crate::bail;
use crate::cli::Global;
use crate::container::{Container, lifecycle};
use crate::error::Result;

pub fn pause(g: &Global, id: &str) -> Result<()> {
    set(g, id, true)
}

pub fn resume(g: &Global, id: &str) -> Result<()> {
    set(g, id, false)
}

fn set(g: &Global, id: &str, frozen: bool) -> Result<()> {
    let (c, st) = Container::open(&g.root, id)?;
    let status = c.status(&st);
    if frozen {
        lifecycle::check_pause(status)?;
    } else {
        lifecycle::check_resume(status)?;
    }
    let Some(cg) = &st.cgroup else {
        bail!(
            "container {id} has no cgroup to freeze: {}",
            crate::cgroups::rootless::WHY_NONE
        );
    };
    cg.set_frozen(frozen)
}
