//! One directory per container under --root: state.json, a lock file and,
//! until start, the exec fifo. Every command holds the lock while it works.

pub mod id;
pub mod lifecycle;
pub mod process;
pub mod record;
pub mod root;
pub mod state;

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::errno::Errno;

use crate::bail;
use crate::error::{Error, Result};
use crate::linux::proc;
pub use lifecycle::Status;
pub use state::State;

pub const STATE_FILE: &str = "state.json";
pub const LOCK_FILE: &str = "lock";
pub const FIFO: &str = "exec.fifo";

/// A container directory whose lock this process holds.
pub struct Container {
    pub dir: PathBuf,
    lock: File,
}

fn flock(f: &File, path: &Path) -> Result<()> {
    loop {
        // SAFETY: flock on an fd we own.
        let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) };
        if r == 0 {
            return Ok(());
        }
        let e = Errno::last();
        if e != Errno::EINTR {
            return Err(Error::sys(format!("flock({})", path.display()), e));
        }
    }
}

impl Container {
    /// Make the directory for a new container; fails if the ID is taken.
    pub fn create(root: &Path, id: &str) -> Result<Container> {
        id::validate(id)?;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(root)
            .map_err(|e| {
                Error::from(e).context(format!("create root directory {}", root.display()))
            })?;
        root::check_owner(root)?;
        let dir = root.join(id);
        match std::fs::DirBuilder::new().mode(0o711).create(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                bail!("container with id exists: {id}")
            }
            Err(e) => {
                return Err(
                    Error::from(e).context(format!("create state directory {}", dir.display()))
                );
            }
        }
        let lock_path = dir.join(LOCK_FILE);
        let lock = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&lock_path)
            .map_err(|e| Error::from(e).context(format!("create {}", lock_path.display())));
        let lock = match lock {
            Ok(l) => l,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(e);
            }
        };
        flock(&lock, &lock_path)?;
        Ok(Container { dir, lock })
    }

    /// Lock an existing container. Its state is read fresh after the lock
    /// is held, so a concurrent delete is seen as "does not exist".
    pub fn open(root: &Path, id: &str) -> Result<(Container, State)> {
        match Container::open_any(root, id)? {
            Opened::Ready(c, st) => Ok((c, *st)),
            Opened::Unfinished(_) => bail!("container does not exist"),
        }
    }

    /// Lock a container directory, whether or not its create finished.
    pub fn open_any(root: &Path, id: &str) -> Result<Opened> {
        id::validate(id)?;
        let dir = root.join(id);
        let lock_path = dir.join(LOCK_FILE);
        let lock = loop {
            let lock = match File::open(&lock_path) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    bail!("container does not exist")
                }
                Err(e) => {
                    return Err(Error::from(e).context(format!("open {}", lock_path.display())));
                }
            };
            flock(&lock, &lock_path)?;
            // While we waited, the holder may have removed the directory
            // (delete, a failed create) and someone may have made a new one
            // with the same ID: a lock on the old file guards nothing.
            match same_file(&lock, &lock_path) {
                Some(true) => break lock,
                Some(false) => continue,
                None => bail!("container does not exist"),
            }
        };
        match State::read(&dir.join(STATE_FILE)) {
            Ok(st) => Ok(Opened::Ready(Container { dir, lock }, Box::new(st))),
            Err(e) if e.errno() == Some(Errno::ENOENT) => {
                Ok(Opened::Unfinished(Container { dir, lock }))
            }
            Err(e) => Err(e),
        }
    }

    /// The init must close this first thing: a flock belongs to the open
    /// file, and an init blocked on the fifo would hold it until start.
    pub fn lock_fd(&self) -> i32 {
        self.lock.as_raw_fd()
    }

    pub fn state_path(&self) -> PathBuf {
        self.dir.join(STATE_FILE)
    }

    pub fn fifo_path(&self) -> PathBuf {
        self.dir.join(FIFO)
    }

    /// The status, from the live process rather than from what was saved.
    pub fn status(&self, st: &State) -> Status {
        status_of(&self.dir, st)
    }

    /// Tear down a stopped container: its cgroup (killing any orphans left
    /// in it) and its state directory.
    pub fn destroy(&self, st: &State) -> Result<()> {
        if let Some(cg) = &st.cgroup {
            cg.destroy()?;
        }
        self.remove()?;
        // poststop: after delete; a failure is only worth a warning.
        // The spec: warn, and go on with the remaining hooks.
        let state = st.hook_state("stopped");
        for (i, h) in st.hooks.poststop.iter().enumerate() {
            if let Err(e) = crate::hooks::run_one("poststop", i, h, &state, &[]) {
                tracing::warn!("{e}");
            }
        }
        Ok(())
    }

    /// Remove the directory. The lock stays held until `self` drops, so a
    /// waiter wakes up to find state.json gone.
    ///
    /// In an order that a kill at any point leaves repeatable: state.json
    /// first (the container is gone for every other command), the record
    /// (record.rs) last but for the lock, so that `delete --force` finds
    /// what is left to undo.
    pub fn remove(&self) -> Result<()> {
        // Without a mount namespace of its own the container's mounts are
        // in husk's: they go first, or rm would reach into them.
        crate::linux::host_mounts::release(&self.dir)?;
        let ctx = |p: &Path| format!("remove {}", p.display());
        remove_if_there(&self.dir.join(STATE_FILE)).map_err(|e| e.context(ctx(&self.dir)))?;
        let rd =
            std::fs::read_dir(&self.dir).map_err(|e| Error::from(e).context(ctx(&self.dir)))?;
        for e in rd.flatten() {
            let name = e.file_name();
            if name == record::RECORD_FILE || name == LOCK_FILE {
                continue;
            }
            let p = e.path();
            let r = if e.file_type().is_ok_and(|t| t.is_dir()) {
                std::fs::remove_dir_all(&p)
            } else {
                std::fs::remove_file(&p)
            };
            r.map_err(|e| Error::from(e).context(ctx(&p)))?;
        }
        for f in [record::RECORD_FILE, LOCK_FILE] {
            remove_if_there(&self.dir.join(f)).map_err(|e| e.context(ctx(&self.dir)))?;
        }
        std::fs::remove_dir(&self.dir).map_err(|e| Error::from(e).context(ctx(&self.dir)))
    }
}

/// What [`Container::open_any`] found.
pub enum Opened {
    /// A container: its create finished and wrote state.json.
    Ready(Container, Box<State>),
    /// A directory whose create never finished (killed, or a delete that
    /// was killed after it removed state.json): only `delete --force`
    /// deals with it, from the record.
    Unfinished(Container),
}

fn remove_if_there(p: &Path) -> Result<()> {
    match std::fs::remove_file(p) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
        _ => Ok(()),
    }
}

/// Whether the open file `f` is still the one at `path` (None: nothing is
/// there any more).
fn same_file(f: &File, path: &Path) -> Option<bool> {
    use std::os::unix::fs::MetadataExt;
    let now = std::fs::metadata(path).ok()?;
    let held = f.metadata().ok()?;
    Some(now.dev() == held.dev() && now.ino() == held.ino())
}

pub fn status_of(dir: &Path, st: &State) -> Status {
    match proc::stat(st.pid) {
        Some(p) if p.start_time == st.init_start_time && p.state != 'Z' && p.state != 'X' => {
            if p.is_husk_init && dir.join(FIFO).exists() {
                Status::Created
            } else if st
                .cgroup
                .as_ref()
                .is_some_and(|c| c.is_frozen().unwrap_or(false))
            {
                Status::Paused
            } else {
                Status::Running
            }
        }
        _ => Status::Stopped,
    }
}

/// IDs of the containers under root, for `list`.
pub fn list_ids(root: &Path) -> Result<Vec<String>> {
    let rd = match std::fs::read_dir(root) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(Error::from(e).context(format!("read {}", root.display()))),
    };
    let mut ids: Vec<String> = rd
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    ids.sort();
    Ok(ids)
}
