//! A container's cgroup: one directory per hierarchy, made, limited,
//! populated, frozen, signalled and removed.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use serde::{Deserialize, Serialize};

use super::files::{self, Write};
use super::fs::{self, enable_v2, write_file};
use super::resources::Resources;
use super::{Hierarchy, Mode, bpf, systemd};
use crate::bail;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Dir {
    pub path: PathBuf,
    pub v2: bool,
    pub controllers: Vec<String>,
    /// Directories husk made for this container (leaf last); removed on
    /// delete, deepest first, so nothing is left behind.
    pub created: Vec<PathBuf>,
}

impl Dir {
    /// husk made the container's own directory (not only parents of it).
    pub fn made_leaf(&self) -> bool {
        self.created.last() == Some(&self.path)
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Cgroup {
    pub dirs: Vec<Dir>,
    #[serde(default)]
    pub unified_mode: bool,
    /// Under --systemd-cgroup: the unit that owns the cgroup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub systemd: Option<systemd::Unit>,
}

/// Limits whose value the kernel can accept and then not hold: read them
/// back, so that a limit husk reports as set is the one the kernel keeps.
fn confirm(dir: &Path, file: &str, value: &str) -> Result<()> {
    let checked = file.ends_with("limit_in_bytes")
        || matches!(
            file,
            "memory.max" | "memory.low" | "memory.swap.max" | "pids.max"
        );
    let Ok(wanted) = value.trim().parse::<i64>() else {
        return Ok(());
    };
    if !checked || wanted < 0 {
        return Ok(());
    }
    let path = dir.join(file);
    let got = std::fs::read_to_string(&path)
        .map_err(|e| Error::from(e).context(format!("read back {}", path.display())))?;
    let got_n = got.trim().parse::<i64>().ok();
    // Byte limits are rounded down to whole pages.
    let page = 4096;
    let ok = got_n.is_some_and(|g| {
        g == wanted
            || (file.ends_with("bytes") || file.starts_with("memory."))
                && g <= wanted
                && wanted - g < page
    });
    if !ok {
        bail!(
            "wrote {value} to {} but the kernel reports {}: the kernel did not keep the value",
            path.display(),
            got.trim()
        );
    }
    Ok(())
}

fn apply_write(dir: &Path, w: &Write, journal: &mut Journal) -> Result<()> {
    let old = journal.before(dir, &w.file);
    match write_file(dir, &w.file, &w.value) {
        Ok(()) => {
            journal.written(old);
            confirm(dir, &w.file, &w.value)
        }
        Err((_, Errno::ENOENT)) if w.optional => Ok(()),
        Err((_, Errno::ENOENT)) if w.fallback.is_some() => {
            let (f, v) = w.fallback.as_ref().expect("checked");
            let old = journal.before(dir, f);
            write_file(dir, f, v).map_err(|(e, _)| e)?;
            journal.written(old);
            Ok(())
        }
        Err((e, Errno::ENOENT)) => Err(e.context("the kernel has no such cgroup file")),
        Err((e, _)) => Err(e),
    }
}

/// What a cgroup file held before husk wrote it, to set it back if a
/// later write of the same `update` fails.
struct Saved {
    path: PathBuf,
    /// None: the file holds a list (device rules, per-device limits),
    /// which writing back what was read would not restore, or `path` is a
    /// v2 cgroup whose device program was replaced.
    old: Option<String>,
}

/// The files an `update` has written, in order, with their old values.
/// Off at create: a new cgroup that fails is removed, not set back.
#[derive(Default)]
pub struct Journal {
    on: bool,
    saved: Vec<Saved>,
}

/// Files whose content is a list of entries, not one value.
fn is_list_file(file: &str) -> bool {
    file.ends_with("_device")
        || file.starts_with("devices.")
        || matches!(
            file,
            "io.max"
                | "io.weight"
                | "io.bfq.weight"
                | "blkio.bfq.weight"
                | "rdma.max"
                | "net_prio.ifpriomap"
                | "memory.oom_control"
        )
}

impl Journal {
    fn recording() -> Journal {
        Journal {
            on: true,
            saved: Vec::new(),
        }
    }

    /// `file`'s value before a write; None when not recording, when the
    /// file was saved already, or when it cannot be read (then the write
    /// fails too, and there is nothing to set back).
    fn before(&self, dir: &Path, file: &str) -> Option<Saved> {
        let path = dir.join(file);
        if !self.on || self.saved.iter().any(|s| s.path == path) {
            return None;
        }
        let text = std::fs::read_to_string(&path).ok()?;
        let value = text.trim_end_matches('\n');
        let old = (!is_list_file(file) && !value.contains('\n')).then(|| value.to_string());
        Some(Saved { path, old })
    }

    /// The write went through: remember how to undo it.
    fn written(&mut self, s: Option<Saved>) {
        self.saved.extend(s);
    }

    /// A change that cannot be set back (a new device program).
    fn changed_for_good(&mut self, path: &Path) {
        if self.on {
            self.saved.push(Saved {
                path: path.to_path_buf(),
                old: None,
            });
        }
    }

    /// Write the old values back, last first. Returns what could not be
    /// set back.
    fn undo(&self) -> Vec<String> {
        let mut failed = Vec::new();
        for s in self.saved.iter().rev() {
            let Some(v) = &s.old else {
                failed.push(format!(
                    "{}: device rules or a per-device list, which husk cannot set back",
                    s.path.display()
                ));
                continue;
            };
            let (dir, file) = (
                s.path.parent().unwrap_or(Path::new("/")),
                s.path.file_name().and_then(|f| f.to_str()).unwrap_or(""),
            );
            if let Err((e, _)) = write_file(dir, file, v) {
                failed.push(e.to_string());
            }
        }
        failed
    }
}

impl Cgroup {
    /// Where the container's cgroup goes in every hierarchy, and which
    /// directories on the way are still to be made (`created`). Nothing is
    /// touched: create records this plan (container/record.rs) before
    /// [`Cgroup::make`] makes the first directory, so that a husk killed
    /// half-way leaves a list `delete --force` can work from.
    pub fn plan(
        hier: &[Hierarchy],
        mode: Mode,
        cgroups_path: Option<&str>,
        id: &str,
    ) -> Result<Cgroup> {
        let mut dirs = Vec::new();
        for h in hier {
            let rel = super::container_path(cgroups_path, id, &h.own)?;
            let path = h.mount.join(rel.trim_start_matches('/'));
            dirs.push(Dir {
                created: fs::missing_dirs(&h.mount, &path),
                path,
                v2: h.v2,
                controllers: h.controllers.clone(),
            });
        }
        Ok(Cgroup {
            dirs,
            unified_mode: mode == Mode::Unified,
            systemd: None,
        })
    }

    /// The cgroup of a systemd unit (`--systemd-cgroup`; unified hosts
    /// only, see systemd::check_host): systemd makes and removes the
    /// directory, so none of it is in `created`.
    pub fn plan_systemd(hier: &[Hierarchy], unit: &systemd::path::UnitPath) -> Result<Cgroup> {
        let Some(h) = hier.iter().find(|h| h.v2) else {
            bail!("--systemd-cgroup: no cgroup2 hierarchy is mounted");
        };
        Ok(Cgroup {
            dirs: vec![Dir {
                path: h.mount.join(unit.dir.trim_start_matches('/')),
                v2: true,
                controllers: h.controllers.clone(),
                created: vec![],
            }],
            unified_mode: true,
            systemd: Some(systemd::Unit {
                name: unit.unit.clone(),
                slice: unit.slice.clone(),
                started: false,
            }),
        })
    }

    /// Under --systemd-cgroup, once the init exists: ask systemd for the
    /// unit holding `pid`, make sure the init is in its cgroup, then write
    /// the limits there as for any cgroup. `started` is set as soon as
    /// systemd has accepted the unit, so that a failure after it stops it.
    pub fn enter_systemd(
        &mut self,
        bus: &mut systemd::Systemd,
        hier: &[Hierarchy],
        pid: i32,
        res: &Resources,
    ) -> Result<()> {
        let Some(unit) = self.systemd.clone() else {
            bail!("enter_systemd: not a systemd cgroup");
        };
        let slice = unit.name.ends_with(".slice");
        // A slice holds no processes of its own in systemd's model: the
        // unit is made empty and husk moves the init in, as runc does.
        let props = systemd::properties(res)?;
        bus.start(&unit, (!slice).then_some(pid), props)?;
        if let Some(u) = self.systemd.as_mut() {
            u.started = true;
        }
        let dir = self.dirs[0].path.clone();
        if slice {
            write_file(&dir, "cgroup.procs", &pid.to_string()).map_err(|(e, _)| e)?;
        } else if !dir.is_dir() {
            bail!(
                "systemd started {} but its cgroup {} is not there",
                unit.name,
                dir.display()
            );
        }
        self.make_dirs_and_limits(hier, res)
    }

    /// Make the planned directories (`hier` in the order `plan` had it)
    /// and write `res`. `created` then lists the directories that were
    /// really new: one that appeared meanwhile belongs to someone else.
    /// On error, whatever was made is removed again.
    pub fn make(&mut self, hier: &[Hierarchy], res: &Resources) -> Result<()> {
        if kernel_memory_given(res, false) {
            warn_kernel_memory();
        }
        for d in &mut self.dirs {
            d.created.clear();
        }
        let r = self.make_dirs_and_limits(hier, res);
        if r.is_err() {
            let _ = self.destroy();
        }
        r
    }

    fn make_dirs_and_limits(&mut self, hier: &[Hierarchy], res: &Resources) -> Result<()> {
        let targets = route(hier, res)?;
        for (h, d) in hier.iter().zip(self.dirs.iter_mut()) {
            let cpuset = !h.v2 && h.has("cpuset");
            fs::make_dirs(&h.mount, &d.path, &mut d.created, cpuset)?;
            if h.v2 {
                enable_v2_controllers(h, &d.path, &targets, res)?;
            }
        }
        // Device rules come last, from apply_devices(): the init still
        // has to mknod the container's device nodes.
        let targets: Vec<_> = targets
            .into_iter()
            .filter(|(c, _)| *c != "devices")
            .collect();
        self.apply_routed(&targets, res, &mut Journal::default())
    }

    fn dir_of(&self, h: &Hierarchy) -> Option<&Dir> {
        self.dirs
            .iter()
            .find(|d| d.v2 == h.v2 && d.controllers == h.controllers)
    }

    fn apply_routed(
        &self,
        targets: &[(&'static str, Hierarchy)],
        res: &Resources,
        journal: &mut Journal,
    ) -> Result<()> {
        for (dir, step) in self.plan_writes(targets, res)? {
            match step {
                Planned::Devices => {
                    bpf::attach_device_filter(dir, &res.devices)?;
                    journal.changed_for_good(dir);
                }
                Planned::Files(writes) => apply_batch(dir, &writes, journal)?,
                Planned::Unified(writes) => apply_batch(dir, &writes, journal)
                    .map_err(|e| e.context("linux.resources.unified"))?,
            }
        }
        Ok(())
    }

    /// Every write the resources need, worked out before the first is
    /// made: a value husk refuses fails with nothing changed.
    fn plan_writes(
        &self,
        targets: &[(&'static str, Hierarchy)],
        res: &Resources,
    ) -> Result<Vec<(&Path, Planned)>> {
        let mut out = Vec::new();
        for (c, h) in targets {
            let dir = self
                .dir_of(h)
                .ok_or_else(|| Error::msg("cgroup directory missing"))?;
            if h.v2 && *c == "devices" {
                out.push((dir.path.as_path(), Planned::Devices));
                continue;
            }
            let writes = if h.v2 {
                files::v2(c, res)?
            } else {
                files::v1(c, res)?
            };
            out.push((dir.path.as_path(), Planned::Files(writes)));
        }
        if !res.unified.is_empty() {
            let Some(d) = self.dirs.iter().find(|d| d.v2) else {
                bail!("linux.resources.unified: this host has no cgroup v2 hierarchy");
            };
            let mut writes = Vec::new();
            for (k, v) in &res.unified {
                let c = k.split_once('.').map_or("", |(c, _)| c);
                if c != "cgroup" && !d.controllers.iter().any(|x| x == c) {
                    bail!(
                        "linux.resources.unified: {k}: the {c} controller is not on this host's cgroup v2 hierarchy"
                    );
                }
                writes.push(Write {
                    file: k.clone(),
                    value: v.clone(),
                    fallback: None,
                    optional: false,
                });
            }
            out.push((d.path.as_path(), Planned::Unified(writes)));
        }
        Ok(out)
    }

    /// The device rules, once the init has made its device nodes and
    /// before it execs the container's process.
    pub fn apply_devices(&self, hier: &[Hierarchy], res: &Resources) -> Result<()> {
        if res.devices.is_empty() {
            return Ok(());
        }
        let mut devices = res.devices.clone();
        devices.extend(super::resources::default_device_rules());
        let only = Resources {
            devices,
            ..Default::default()
        };
        let targets = route(hier, &only)?;
        self.apply_routed(&targets, &only, &mut Journal::default())
    }

    /// Write new limits to an existing cgroup (`husk update`). Fields that
    /// are 0 (or "") stay as they are, as in runc. If a write fails, the
    /// values written before it are set back; runc 1.1 tries the same
    /// ("Setting back cgroup configs failed" when it cannot).
    pub fn update(&self, hier: &[Hierarchy], res: &Resources) -> Result<()> {
        if kernel_memory_given(res, true) {
            warn_kernel_memory();
        }
        // systemd's copy first, so that a daemon-reload keeps the new
        // values; a value it refuses stops the update before any write.
        if let Some(u) = &self.systemd {
            let props = systemd::properties(res)?;
            if !props.is_empty() {
                systemd::Systemd::connect()?.set_properties(&u.name, props)?;
            }
        }
        let mut res = res.clone();
        if !res.devices.is_empty() {
            res.devices.extend(super::resources::default_device_rules());
        }
        let targets = route(hier, &res)?;
        self.keep_v2_quota(&targets, &mut res)?;
        let res = &res;
        for (c, h) in targets.iter().filter(|(c, h)| h.v2 && *c != "devices") {
            if let Some(d) = self.dir_of(h) {
                enable_v2(&h.mount, &d.path, &[files::v2_name(c)], &[])?;
            }
        }
        let mut journal = Journal::recording();
        let Err(e) = self.apply_routed(&targets, res, &mut journal) else {
            return Ok(());
        };
        Err(set_back(e, &journal))
    }

    /// cgroup v2 keeps quota and period in one file, cpu.max: an update of
    /// the period alone keeps the quota the cgroup has, as runc keeps the
    /// one it had configured.
    fn keep_v2_quota(
        &self,
        targets: &[(&'static str, Hierarchy)],
        res: &mut Resources,
    ) -> Result<()> {
        let Some(cpu) = res.cpu.as_mut() else {
            return Ok(());
        };
        if cpu.quota.unwrap_or(0) != 0 || cpu.period.unwrap_or(0) == 0 {
            return Ok(());
        }
        let Some(dir) = targets
            .iter()
            .find(|(c, h)| *c == "cpu" && h.v2)
            .and_then(|(_, h)| self.dir_of(h))
        else {
            return Ok(());
        };
        let path = dir.path.join("cpu.max");
        let now = std::fs::read_to_string(&path)
            .map_err(|e| Error::from(e).context(format!("read {}", path.display())))?;
        cpu.quota = Some(match now.split_whitespace().next() {
            Some("max") | None => -1,
            Some(q) => q.parse().map_err(|_| {
                Error::msg(format!(
                    "{}: {now:?} is not \"QUOTA PERIOD\"",
                    path.display()
                ))
            })?,
        });
        Ok(())
    }

    /// The v2 directory, for clone3(CLONE_INTO_CGROUP).
    pub fn v2_dir(&self) -> Option<&Path> {
        self.dirs.iter().find(|d| d.v2).map(|d| d.path.as_path())
    }

    /// v1 hierarchies have no CLONE_INTO_CGROUP; the parent moves the init.
    pub fn place_v1(&self, pid: i32) -> Result<()> {
        for d in self.dirs.iter().filter(|d| !d.v2) {
            write_file(&d.path, "cgroup.procs", &pid.to_string()).map_err(|(e, _)| e)?;
        }
        Ok(())
    }

    /// The calling process moves itself into the v1 hierarchies. Writing
    /// "0" (the caller) to `tasks` moves one thread, the caller, so the
    /// kernel skips the global cgroup_threadgroup_rwsem that a write of a
    /// PID to `cgroup.procs` takes for writing, and with it the RCU grace
    /// period that taking it waits for. husk's init is single-threaded, so
    /// moving its one thread moves the whole process.
    pub fn join_v1_self(&self) -> Result<()> {
        for d in self.dirs.iter().filter(|d| !d.v2) {
            write_file(&d.path, "tasks", "0").map_err(|(e, _)| e)?;
        }
        Ok(())
    }

    /// The directories whose leaf husk made itself: the ones a create that
    /// never finished may empty and remove (a leaf that existed before is
    /// someone else's, and so is what is in it).
    pub fn made_by_husk(&self) -> Cgroup {
        Cgroup {
            dirs: self
                .dirs
                .iter()
                .filter(|d| d.made_leaf() || self.systemd.as_ref().is_some_and(|u| u.started))
                .cloned()
                .collect(),
            unified_mode: self.unified_mode,
            systemd: self.systemd.clone(),
        }
    }

    pub fn has_v1(&self) -> bool {
        self.dirs.iter().any(|d| !d.v2)
    }

    /// The directory to read membership from: v2 if there is one.
    fn main_dir(&self) -> Option<&Dir> {
        self.dirs
            .iter()
            .find(|d| d.v2 && self.unified_mode)
            .or_else(|| {
                self.dirs
                    .iter()
                    .find(|d| !d.v2 && d.controllers.iter().any(|c| c == "pids" || c == "freezer"))
            })
            .or_else(|| self.dirs.first())
    }

    /// Every process in the container's cgroup (and its sub-cgroups).
    pub fn pids(&self) -> Result<Vec<i32>> {
        let Some(d) = self.main_dir() else {
            return Ok(vec![]);
        };
        let mut out = Vec::new();
        fs::collect_pids(&d.path, &mut out)?;
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    pub fn signal_all(&self, sig: i32) -> Result<()> {
        if sig == libc::SIGKILL
            && let Some(d) = self.dirs.iter().find(|d| d.v2)
            && d.path.join("cgroup.kill").exists()
            && self.unified_mode
        {
            return write_file(&d.path, "cgroup.kill", "1").map_err(|(e, _)| e);
        }
        for pid in self.pids()? {
            // SAFETY: kill(2) with integer arguments. The PIDs were read from
            // the cgroup a moment ago; cgroup membership pins them to it.
            unsafe { libc::kill(pid, sig) };
        }
        Ok(())
    }

    pub fn freezer(&self) -> Option<(&Path, bool)> {
        if self.unified_mode {
            return self
                .dirs
                .iter()
                .find(|d| d.v2)
                .map(|d| (d.path.as_path(), true));
        }
        self.dirs
            .iter()
            .find(|d| !d.v2 && d.controllers.iter().any(|c| c == "freezer"))
            .map(|d| (d.path.as_path(), false))
            .or_else(|| {
                self.dirs
                    .iter()
                    .find(|d| d.v2)
                    .map(|d| (d.path.as_path(), true))
            })
    }

    /// Freeze (true) or thaw, and wait until the kernel says it is done.
    pub fn set_frozen(&self, frozen: bool) -> Result<()> {
        let Some((dir, v2)) = self.freezer() else {
            bail!("this host has no freezer cgroup (v1 freezer or cgroup v2)");
        };
        let (file, value) = match (v2, frozen) {
            (true, f) => ("cgroup.freeze", if f { "1" } else { "0" }),
            (false, true) => ("freezer.state", "FROZEN"),
            (false, false) => ("freezer.state", "THAWED"),
        };
        write_file(dir, file, value).map_err(|(e, _)| e)?;
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.is_frozen()? != frozen {
            if Instant::now() > deadline {
                bail!(
                    "cgroup {} did not become {} within 5s",
                    dir.display(),
                    if frozen { "frozen" } else { "thawed" }
                );
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        Ok(())
    }

    pub fn is_frozen(&self) -> Result<bool> {
        let Some((dir, v2)) = self.freezer() else {
            return Ok(false);
        };
        if v2 {
            let ev = std::fs::read_to_string(dir.join("cgroup.events")).unwrap_or_default();
            Ok(ev.lines().any(|l| l.trim() == "frozen 1"))
        } else {
            let st = std::fs::read_to_string(dir.join("freezer.state")).unwrap_or_default();
            Ok(st.trim() == "FROZEN")
        }
    }

    /// Kill what is left and remove every directory husk made: the
    /// container's own (with any cgroups below it), then the parents it
    /// made for it, once empty. A sibling still in a parent (EBUSY) keeps
    /// it, and that is not an error. A leaf that existed before create is
    /// not husk's to remove.
    pub fn destroy(&self) -> Result<()> {
        // A systemd unit that systemd did not start for this container is
        // someone else's (its name was taken): so is its cgroup.
        if self.systemd.as_ref().is_some_and(|u| !u.started) {
            return Ok(());
        }
        if self.is_frozen().unwrap_or(false) {
            let _ = self.signal_all(libc::SIGKILL);
            let _ = self.set_frozen(false);
        }
        let _ = self.signal_all(libc::SIGKILL);
        let mut first_err = None;
        // systemd removes its unit's cgroup when it stops the unit (and
        // on its own once the cgroup is empty).
        if let Some(u) = &self.systemd
            && let Err(e) = systemd::Systemd::connect().and_then(|mut s| s.stop(&u.name))
        {
            first_err = Some(e);
        }
        for d in &self.dirs {
            let mut created = d.created.iter().rev();
            if let Some(leaf) = created.next()
                && let Err(e) = fs::remove_tree(leaf)
                && first_err.is_none()
            {
                first_err = Some(e);
            }
            for dir in created {
                if std::fs::remove_dir(dir).is_err() {
                    break;
                }
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}

/// What one directory gets: files, device rules (an eBPF program on v2),
/// or the unified map's files.
enum Planned {
    Files(Vec<Write>),
    Devices,
    Unified(Vec<Write>),
}

/// A failed update: set back what it wrote before `e`, and say so in the
/// error (and in a warning naming each value that could not be).
fn set_back(e: Error, journal: &Journal) -> Error {
    if journal.saved.is_empty() {
        return e.note("nothing was changed");
    }
    let failed = journal.undo();
    if failed.is_empty() {
        return e.note("the values written before it were set back");
    }
    tracing::warn!(
        "update: setting back the values written before the failure failed, so the limits are partly old and partly new: {}",
        failed.join("; ")
    );
    e.note("not every value written before it could be set back (see the warning)")
}

/// memory.kernel or kernelTCP is in the section: at create, given at all
/// (runc warns for a 0 too); at update, not 0 (docker sends 0 always).
fn kernel_memory_given(res: &Resources, update: bool) -> bool {
    let (k, t) = files::kernel_memory(res);
    if update {
        k.unwrap_or(0) != 0 || t.unwrap_or(0) != 0
    } else {
        k.is_some() || t.is_some()
    }
}

fn warn_kernel_memory() {
    tracing::warn!(
        "linux.resources.memory.kernel and kernelTCP are ignored: kernel memory limits are deprecated (runc 1.1 ignores them too)"
    );
}

fn apply_batch(dir: &Path, writes: &[Write], journal: &mut Journal) -> Result<()> {
    let mut i = 0;
    while i < writes.len() {
        let w = &writes[i];
        match apply_write(dir, w, journal) {
            Ok(()) => i += 1,
            Err(e) => {
                // v1 refuses memory.limit_in_bytes above memsw (and memsw
                // below the limit): when both change, the order matters.
                let memsw = writes
                    .iter()
                    .position(|x| x.file == "memory.memsw.limit_in_bytes");
                if w.file == "memory.limit_in_bytes"
                    && e.errno() == Some(Errno::EINVAL)
                    && memsw.is_some_and(|m| m > i)
                {
                    apply_write(dir, &writes[memsw.expect("checked")], journal)?;
                    apply_write(dir, w, journal)?;
                    let rest: Vec<Write> = writes[i + 1..]
                        .iter()
                        .filter(|x| x.file != "memory.memsw.limit_in_bytes")
                        .cloned()
                        .collect();
                    return apply_batch(dir, &rest, journal);
                }
                return Err(e);
            }
        }
    }
    Ok(())
}

/// Give the container's v2 cgroup the controllers its limits need, and
/// the rest best effort, as runc and crun do: usage numbers (events,
/// metrics) and later `update`s need them even without limits today.
fn enable_v2_controllers(
    h: &Hierarchy,
    dir: &Path,
    targets: &[(&'static str, Hierarchy)],
    res: &Resources,
) -> Result<()> {
    let mut wanted: Vec<&str> = targets
        .iter()
        .filter(|(_, th)| th == h)
        .map(|(c, _)| files::v2_name(c))
        .filter(|c| *c != "devices")
        .collect();
    for k in res.unified.keys() {
        if let Some((c, _)) = k.split_once('.')
            && c != "cgroup"
            && !wanted.contains(&c)
        {
            if !h.controllers.iter().any(|x| x == c) {
                bail!(
                    "linux.resources.unified: {k}: the {c} controller is not on this host's cgroup v2 hierarchy"
                );
            }
            wanted.push(c);
        }
    }
    let all: Vec<&str> = h.controllers.iter().map(String::as_str).collect();
    enable_v2(&h.mount, dir, &wanted, &all)
}

/// Which hierarchy enforces each controller the resources need. A v1
/// hierarchy wins on hybrid hosts; a controller nobody has is an error.
pub fn route(hier: &[Hierarchy], res: &Resources) -> Result<Vec<(&'static str, Hierarchy)>> {
    let mut out = Vec::new();
    for c in files::needed(res) {
        let h = hier
            .iter()
            .find(|h| !h.v2 && h.has(c))
            .or_else(|| hier.iter().find(|h| h.v2 && (h.has(c) || c == "devices")));
        match h {
            Some(h) => out.push((c, h.clone())),
            None => bail!(
                "linux.resources: the {c} controller is not available on this host, so its limits cannot be enforced"
            ),
        }
    }
    Ok(out)
}
