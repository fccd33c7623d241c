//! `husk create`: set the container up and leave its init blocked on the
//! exec fifo until `husk start`. A failure leaves nothing behind.

use std::ffi::CString;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use nix::errno::Errno;

use crate::bail;
use std::cell::RefCell;

use crate::cgroups::systemd::Systemd;
use crate::cgroups::{self, manager::Cgroup};
use crate::cli::{CreateArgs, Global};
use crate::container::record::{InitRef, Record};
use crate::container::{Container, State, id, state};
use crate::error::{Context, Error, Result};
use crate::linux::namespaces::NsKind;
use crate::linux::proc;
use crate::linux::{host_mounts, identity, mounts, tty};
use crate::spawn::{self, Init, SpawnOptions};
use crate::spec::{self, Plan};
use crate::steps::step;
use std::os::fd::AsRawFd;

pub struct Created {
    pub container: Container,
    pub state: State,
    pub init: Init,
}

pub fn run(g: &Global, a: &CreateArgs) -> Result<()> {
    create(g, a, true, false).map(drop)
}

pub fn write_pid_file(path: &Path, pid: i32) -> Result<()> {
    // Written whole and renamed: conmon and containerd read it the moment
    // create returns.
    state::write_atomic(path, pid.to_string().as_bytes()).context("write pid file")
}

fn absolute(p: &Path) -> Result<PathBuf> {
    std::fs::canonicalize(p).map_err(|e| Error::from(e).context(format!("bundle {}", p.display())))
}

/// Everything create does; `wait_for_start` false is run's path.
/// `wait_for_start` false is run's path; `relay` says husk itself will
/// drive a terminal (run in the foreground).
pub fn create(g: &Global, a: &CreateArgs, wait_for_start: bool, relay: bool) -> Result<Created> {
    id::validate(&a.id)?;
    if g.systemd_cgroup && identity::rootless() {
        bail!(
            "--systemd-cgroup as uid {}: that needs systemd's user manager (systemdUser), which husk does not support; run as root, or without --systemd-cgroup",
            identity::euid()
        );
    }
    let bundle = absolute(&a.bundle)?;
    let plan = step(
        "load-config",
        format!("{}/config.json", bundle.display()),
        || {
            let spec = spec::load(&bundle)?;
            Plan::build(&spec, &bundle)
        },
    )?;
    if identity::rootless() && !plan.ns.has(NsKind::User) {
        bail!(
            "linux.namespaces: husk runs unprivileged (uid {}), so the container needs a user namespace to hold its privileges, and the config has none; `husk spec --rootless` writes one",
            identity::euid()
        );
    }
    match (plan.process.terminal, &a.console_socket) {
        (false, Some(_)) => {
            bail!("--console-socket: process.terminal is false, so there is no terminal to send")
        }
        (true, None) if !relay => bail!(
            "process.terminal is true: pass --console-socket to receive the terminal (or use husk run in the foreground)"
        ),
        _ => {}
    }
    let container = step(
        "make-state-dir",
        format!("mkdir {}, lock it", g.root.join(&a.id).display()),
        || Container::create(&g.root, &a.id),
    )?;
    match setup(&container, &plan, a, wait_for_start, g.systemd_cgroup) {
        Ok((init, state)) => {
            // For run the init still has steps to record until its exec
            // (run finishes the timeline after wait_exec).
            if wait_for_start {
                crate::explain::finish()?;
            }
            Ok(Created {
                container,
                state,
                init,
            })
        }
        Err(e) => {
            // The init (if any) is already dead and reaped; the directory is
            // all that is left (and, without a mount namespace, its mounts).
            if let Err(e) = container.remove() {
                tracing::warn!("{e}");
            }
            Err(e)
        }
    }
}

fn setup(
    c: &Container,
    plan: &Plan,
    a: &CreateArgs,
    wait_for_start: bool,
    systemd: bool,
) -> Result<(Init, State)> {
    if !plan.ns.has(NsKind::Mount) {
        step(
            "record-host-mounts",
            format!(
                "note the mounts under {} before the init adds its own",
                plan.rootfs.display()
            ),
            || host_mounts::record(&c.dir, &plan.rootfs),
        )?;
    }
    let fifo = if wait_for_start {
        Some(step(
            "make-exec-fifo",
            format!("mkfifo {}", c.fifo_path().display()),
            || make_fifo(&c.fifo_path()),
        )?)
    } else {
        None
    };
    let (cgroup, bus) = if systemd {
        step(
            "connect-systemd",
            format!(
                "plan the unit for {}, record it, connect to systemd over D-Bus",
                plan.cgroup.path.as_deref().unwrap_or("(no cgroupsPath)")
            ),
            || systemd_cgroup(c, plan, a),
        )
        .map(|(cg, bus)| (cg, Some(RefCell::new(bus))))?
    } else {
        let cg = step(
            "create-cgroup",
            format!(
                "record, mkdir {} and write its limits",
                plan.cgroup.path.as_deref().unwrap_or(&a.id)
            ),
            || make_cgroup(c, plan, a),
        )?;
        (cg, None)
    };
    let cgroup = RefCell::new(cgroup);
    let sp = Spawn {
        c,
        plan,
        a,
        fifo: fifo.as_ref(),
        cgroup: &cgroup,
        bus: bus.as_ref(),
    };
    let r = match &a.console_socket {
        Some(path) => tty::connect(path).and_then(|s| spawn_and_record(&sp, Some(s.as_raw_fd()))),
        None => spawn_and_record(&sp, None),
    };
    if r.is_err() {
        // The init is dead and reaped by now; its cgroup goes too (and
        // its systemd unit, if systemd started one).
        let _ = cgroup.borrow().destroy();
    }
    r
}

/// Under --systemd-cgroup, before anything is made: the unit's name and
/// cgroup, recorded, and a connection to systemd. The unit itself is
/// asked for once the init exists (see [`place_in_unit`]).
fn systemd_cgroup(c: &Container, plan: &Plan, a: &CreateArgs) -> Result<(Cgroup, Systemd)> {
    cgroups::systemd::check_host(cgroups::detect()?)?;
    let unit = cgroups::systemd::path::parse(plan.cgroup.path.as_deref(), &a.id)?;
    let cg = Cgroup::plan_systemd(&cgroups::hierarchies()?, &unit)?;
    let bus = Systemd::connect()?;
    record(c, Some(&cg))?;
    Ok((cg, bus))
}

/// The hand-over's work under --systemd-cgroup: the unit with the init's
/// PID, then the limits. The record learns that the unit is husk's the
/// moment systemd has accepted it.
fn place_in_unit(sp: &Spawn, bus: &RefCell<Systemd>, pid: i32) -> Result<()> {
    let hier = cgroups::hierarchies()?;
    let mut cg = sp.cgroup.borrow_mut();
    let r = cg.enter_systemd(&mut bus.borrow_mut(), &hier, pid, &sp.plan.cgroup.resources);
    if cg.systemd.as_ref().is_some_and(|u| u.started) {
        record(sp.c, Some(&cg))?;
    }
    r
}

/// The container's cgroup, recorded before the first mkdir (see
/// container/record.rs) and again if what was made differs from the plan.
fn make_cgroup(c: &Container, plan: &Plan, a: &CreateArgs) -> Result<Cgroup> {
    let mode = cgroups::detect()?;
    let hier = cgroups::hierarchies()?;
    let res = &plan.cgroup.resources;
    let mut planned = None;
    let mut make = |h: &[cgroups::Hierarchy]| {
        let mut cg = Cgroup::plan(h, mode, plan.cgroup.path.as_deref(), &a.id)?;
        record(c, Some(&cg))?;
        planned = Some(cg.clone());
        cg.make(h, res)?;
        Ok(cg)
    };
    let cg = if identity::rootless() {
        let optional = a.cgroups_optional || plan.cgroup.optional;
        cgroups::rootless::create(&hier, make, res, optional, identity::euid())?
    } else {
        make(&hier)?
    };
    if planned.as_ref() != Some(&cg) {
        let r = record(c, Some(&cg));
        if let Err(e) = r {
            let _ = cg.destroy();
            return Err(e);
        }
    }
    Ok(cg)
}

fn record(c: &Container, cgroup: Option<&Cgroup>) -> Result<()> {
    Record {
        cgroup: cgroup.cloned(),
        init: None,
    }
    .write(&c.dir)
}

/// What spawn_and_record works with.
struct Spawn<'a> {
    c: &'a Container,
    plan: &'a Plan,
    a: &'a CreateArgs,
    fifo: Option<&'a OwnedFd>,
    /// Changes during the spawn under --systemd-cgroup (the unit starts).
    cgroup: &'a RefCell<Cgroup>,
    bus: Option<&'a RefCell<Systemd>>,
}

fn spawn_and_record(sp: &Spawn, console_sock: Option<i32>) -> Result<(Init, State)> {
    let (c, plan, a, fifo) = (sp.c, sp.plan, sp.a, sp.fifo);
    let planned = sp.cgroup.borrow().clone();
    let place = |pid: i32| match sp.bus {
        Some(bus) => place_in_unit(sp, bus, pid),
        None => Ok(()),
    };
    let init = spawn::spawn(&SpawnOptions {
        id: &a.id,
        plan,
        fifo,
        no_pivot: a.no_pivot,
        no_new_keyring: a.no_new_keyring,
        preserve_fds: a.preserve_fds,
        close_in_child: &[c.lock_fd()],
        // Rootless without a delegated cgroup: none (see cgroups/rootless.rs).
        cgroup: Some(&planned).filter(|c| !c.dirs.is_empty()),
        console_sock,
        place: sp.bus.map(|_| &place as &dyn Fn(i32) -> Result<()>),
    })?;
    let cgroup = &sp.cgroup.borrow().clone();
    let r = (|| {
        if !cgroup.dirs.iter().any(|d| d.made_leaf()) {
            // No cgroup of husk's own holds the init: name it in the record.
            record_init(c, cgroup, init.pid)?;
        }
        if !plan.cgroup.resources.devices.is_empty() {
            if !cgroup.dirs.is_empty() {
                step(
                    "apply-device-rules",
                    "linux.resources.devices, now that the nodes exist",
                    || cgroup.apply_devices(&cgroups::hierarchies()?, &plan.cgroup.resources),
                )?;
            }
            // For run the init waits for this whenever the config has
            // device rules (wait-for-device-rules), cgroup or not.
            if fifo.is_none() {
                init.release()?;
            }
        }
        let start_time = proc::stat(init.pid).map(|s| s.start_time).ok_or_else(|| {
            Error::msg(format!(
                "container init (pid {}) vanished during create",
                init.pid
            ))
        })?;
        let st = State {
            oci_version: plan.oci_version.clone(),
            id: a.id.clone(),
            pid: init.pid,
            bundle: plan.bundle.to_string_lossy().into_owned(),
            rootfs: plan.rootfs.to_string_lossy().into_owned(),
            created: state::now_rfc3339(),
            owner: String::new(),
            annotations: plan.annotations.clone(),
            init_start_time: start_time,
            own_pid_ns: plan.ns.is_new(NsKind::Pid),
            cgroup: Some(cgroup.clone()).filter(|c| !c.dirs.is_empty()),
            hooks: plan.hooks.clone(),
            process: Some(plan.process_spec.clone()),
            personality: plan.process.personality,
            seccomp: plan.seccomp.clone(),
        };
        step("write-state", c.state_path().display(), || {
            st.write(&c.state_path())
        })?;
        // run writes it once the exec has succeeded.
        if let Some(p) = a.pid_file.as_ref().filter(|_| fifo.is_some()) {
            write_pid_file(p, init.pid)?;
        }
        Ok(st)
    })();
    match r {
        Ok(st) => Ok((init, st)),
        Err(e) => {
            spawn::parent::kill_and_reap(init.pid);
            Err(e)
        }
    }
}

fn record_init(c: &Container, cgroup: &Cgroup, pid: i32) -> Result<()> {
    let Some(s) = proc::stat(pid) else {
        return Ok(());
    };
    Record {
        cgroup: Some(cgroup.clone()),
        init: Some(InitRef {
            pid,
            start_time: s.start_time,
        }),
    }
    .write(&c.dir)
}

/// The fifo the init blocks on. Opened O_PATH here so the init can reopen
/// it for writing after pivot_root, when the state directory is out of reach.
fn make_fifo(path: &Path) -> Result<OwnedFd> {
    let c = CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| Error::msg("fifo path has a NUL byte"))?;
    // SAFETY: NUL-terminated path.
    if unsafe { libc::mkfifo(c.as_ptr(), 0o622) } < 0 {
        return Err(Error::sys(
            format!("mkfifo({})", path.display()),
            Errno::last(),
        ));
    }
    // mkfifo applies the umask; the init may run as any user and must be
    // able to open it for writing.
    // SAFETY: NUL-terminated path.
    if unsafe { libc::chmod(c.as_ptr(), 0o622) } < 0 {
        return Err(Error::sys(
            format!("chmod({}, 0622)", path.display()),
            Errno::last(),
        ));
    }
    let p = path.to_string_lossy();
    mounts::openat2(libc::AT_FDCWD, &p, libc::O_PATH, 0)
        .map_err(|e| Error::sys(format!("open {p}"), e))
}
