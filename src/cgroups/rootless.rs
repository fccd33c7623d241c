//! cgroups for an unprivileged husk. It can only use a subtree that was
//! delegated to the user (chowned to them, as systemd's user@.service is,
//! or by hand). When there is none, the container runs without a cgroup,
//! but only if it asked for no limits or the caller said limits may go.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use nix::errno::Errno;

use super::Hierarchy;
use super::manager::Cgroup;
use super::resources::Resources;
use crate::error::{Error, Result};

/// The annotation that lets a container run without its limits when they
/// cannot be applied; `--cgroups-optional` says the same on the command line.
pub const ANNOTATION: &str = "husk.cgroups";

/// Why a container has no cgroup, for the commands that need one.
pub const WHY_NONE: &str = "husk created it unprivileged, with no cgroup delegated to the user";

/// cgroup v2 gives controllers only to cgroups without processes of their
/// own, and husk's own cgroup always has one: husk. So an unprivileged
/// husk puts relative paths under the top of the subtree delegated to the
/// user (the highest ancestor it owns, e.g. user@1000.service), not under
/// its own cgroup, as root does.
pub fn delegated_top(mount: &Path, own: &str, uid: u32) -> String {
    let owned = |rel: &str| {
        std::fs::metadata(mount.join(rel.trim_start_matches('/'))).is_ok_and(|m| m.uid() == uid)
    };
    let mut top = own.to_string();
    while let Some((parent, _)) = top.rsplit_once('/') {
        let parent = if parent.is_empty() { "/" } else { parent };
        if parent == "/" || !owned(parent) {
            break;
        }
        top = parent.to_string();
    }
    top
}

/// Which parts of linux.resources ask for something.
pub fn requested(r: &Resources) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut add = |set: bool, name| {
        if set {
            out.push(name)
        }
    };
    add(!r.devices.is_empty(), "devices");
    add(
        r.memory.as_ref().is_some_and(|m| *m != Default::default()),
        "memory",
    );
    add(
        r.cpu.as_ref().is_some_and(|c| *c != Default::default()),
        "cpu",
    );
    add(
        r.pids.as_ref().is_some_and(|p| *p != Default::default()),
        "pids",
    );
    add(
        r.block_io
            .as_ref()
            .is_some_and(|b| *b != Default::default()),
        "blockIO",
    );
    add(!r.hugepage_limits.is_empty(), "hugepageLimits");
    add(
        r.network.as_ref().is_some_and(|n| *n != Default::default()),
        "network",
    );
    add(!r.rdma.is_empty(), "rdma");
    add(!r.unified.is_empty(), "unified");
    out
}

fn denied(e: &Error) -> bool {
    matches!(e.errno(), Some(Errno::EACCES | Errno::EPERM | Errno::EROFS))
}

/// Make the cgroup as an unprivileged user: in the delegated subtree when
/// there is one; otherwise none, if that is allowed.
pub fn create(
    hier: &[Hierarchy],
    make: impl FnOnce(&[Hierarchy]) -> Result<Cgroup>,
    res: &Resources,
    optional: bool,
    uid: u32,
) -> Result<Cgroup> {
    let hier: Vec<Hierarchy> = hier
        .iter()
        .map(|h| Hierarchy {
            own: if h.v2 {
                delegated_top(&h.mount, &h.own, uid)
            } else {
                h.own.clone()
            },
            ..h.clone()
        })
        .collect();
    let e = match make(&hier) {
        Ok(cg) => return Ok(cg),
        Err(e) if denied(&e) => e,
        Err(e) => return Err(e),
    };
    let asked = requested(res);
    if asked.is_empty() {
        tracing::debug!(
            "rootless, no cgroup delegated to uid {uid} ({e}); the container runs in husk's cgroup"
        );
        return Ok(Cgroup::default());
    }
    let what = format!("linux.resources ({})", asked.join(", "));
    if !optional {
        return Err(e.context(format!(
            "{what}: husk runs as uid {uid}, and no cgroup subtree is delegated to that user, so the limits cannot be applied; delegate one (chown a cgroup v2 directory to the user) or, to run without the limits, set the annotation {ANNOTATION}=optional or pass --cgroups-optional"
        )));
    }
    tracing::warn!(
        "{what} not applied: no cgroup delegated to uid {uid} ({e}); running without them, as {ANNOTATION}=optional or --cgroups-optional asks"
    );
    Ok(Cgroup::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requested_names_what_is_set() {
        let mut r = Resources::default();
        assert!(requested(&r).is_empty());
        r.memory = Some(Default::default());
        assert!(
            requested(&r).is_empty(),
            "an empty memory object asks for nothing"
        );
        r.pids = Some(super::super::resources::Pids { limit: 10 });
        r.unified.insert("memory.high".into(), "1M".into());
        assert_eq!(requested(&r), ["pids", "unified"]);
    }

    #[test]
    fn delegated_top_walks_up_while_the_user_owns_it() {
        let d = tempfile::tempdir().unwrap();
        let uid = crate::linux::identity::euid();
        std::fs::create_dir_all(d.path().join("a/b/c")).unwrap();
        // Everything here is ours: up to the first level below the mount.
        assert_eq!(delegated_top(d.path(), "/a/b/c", uid), "/a");
        // Nothing is someone else's: stays where it is.
        assert_eq!(delegated_top(d.path(), "/a/b/c", uid + 1), "/a/b/c");
        assert_eq!(delegated_top(d.path(), "/", uid), "/");
    }
}
