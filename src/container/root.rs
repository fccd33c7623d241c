//! Where container state lives when `--root` is not given: /run/husk for
//! root; for anyone else a directory of their own, so an unprivileged user
//! never needs (or gets) write access to a shared place.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::bail;
use crate::error::Result;
use crate::linux::identity;

pub const SYSTEM_ROOT: &str = "/run/husk";

/// The default `--root` for the calling user: `$XDG_RUNTIME_DIR/husk`, else
/// `/run/user/<uid>/husk` if that directory is the user's, else
/// `/tmp/husk-<uid>`. Root always gets /run/husk: a root shell often
/// inherits a user's XDG_RUNTIME_DIR (su, sudo -E), as runc also knows.
pub fn default_root() -> PathBuf {
    let uid = identity::euid();
    choose(
        uid,
        std::env::var_os("XDG_RUNTIME_DIR")
            .as_deref()
            .map(Path::new),
        |p| std::fs::metadata(p).is_ok_and(|m| m.is_dir() && m.uid() == uid),
    )
}

fn choose(uid: u32, xdg: Option<&Path>, owned_dir: impl Fn(&Path) -> bool) -> PathBuf {
    if uid == 0 {
        return PathBuf::from(SYSTEM_ROOT);
    }
    if let Some(x) = xdg.filter(|x| x.is_absolute()) {
        return x.join("husk");
    }
    let run_user = PathBuf::from(format!("/run/user/{uid}"));
    if owned_dir(&run_user) {
        return run_user.join("husk");
    }
    PathBuf::from(format!("/tmp/husk-{uid}"))
}

/// An unprivileged caller keeps its state only in a directory it owns:
/// anyone who can write state.json could point husk's signals and cgroup
/// writes at processes of the caller's choosing. (Root's directory is
/// only writable by root anyway.)
pub fn check_owner(root: &Path) -> Result<()> {
    let uid = identity::euid();
    if uid == 0 {
        return Ok(());
    }
    let m = std::fs::symlink_metadata(root).map_err(|e| {
        crate::error::Error::from(e).context(format!("stat root directory {}", root.display()))
    })?;
    if !m.is_dir() || m.uid() != uid {
        bail!(
            "root directory {} belongs to uid {}, not to you (uid {uid}){}; pass --root with a directory of your own",
            root.display(),
            m.uid(),
            if m.is_dir() {
                ""
            } else {
                " and is not a directory"
            }
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_uses_run_husk_even_with_a_users_xdg() {
        let p = choose(0, Some(Path::new("/run/user/1000")), |_| true);
        assert_eq!(p, Path::new("/run/husk"));
    }

    #[test]
    fn a_user_gets_xdg_runtime_dir() {
        let p = choose(1000, Some(Path::new("/run/user/1000")), |_| false);
        assert_eq!(p, Path::new("/run/user/1000/husk"));
    }

    #[test]
    fn without_xdg_run_user_if_it_is_theirs() {
        let p = choose(1000, None, |p| p == Path::new("/run/user/1000"));
        assert_eq!(p, Path::new("/run/user/1000/husk"));
        // A relative XDG_RUNTIME_DIR is ignored, as the XDG spec says.
        let p = choose(1000, Some(Path::new("rel")), |_| false);
        assert_eq!(p, Path::new("/tmp/husk-1000"));
    }
}
