//! The systemd cgroup driver (`--systemd-cgroup`): systemd owns the
//! container's cgroup as a transient unit, and husk asks it over D-Bus.
//!
//! As runc does it: the init is cloned first and waits; husk asks for a
//! scope holding its PID (`Delegate=yes`, so the cgroup below is husk's to
//! write), waits for the job, then writes every limit through its own
//! cgroup layer as well (systemd has no property for some), and lets the
//! init go on. `delete` kills the processes and stops the unit.

pub mod path;
pub mod props;

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::resources::Resources;
use crate::dbus::wire::Value;
use crate::dbus::{self, Bus, CallError};
use crate::error::{Error, Result};

const DEST: &str = "org.freedesktop.systemd1";
const OBJECT: &str = "/org/freedesktop/systemd1";
const MANAGER: &str = "org.freedesktop.systemd1.Manager";
const UNIT_EXISTS: &str = "org.freedesktop.systemd1.UnitExists";
const NO_SUCH_UNIT: &str = "org.freedesktop.systemd1.NoSuchUnit";
/// How long systemd may take to start or stop the unit (runc's figure).
const JOB_TIMEOUT: Duration = Duration::from_secs(30);

/// The container's unit, kept in the record and in state.json.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    pub name: String,
    pub slice: String,
    /// systemd accepted the unit: it is husk's to stop. Until then a unit
    /// of that name is someone else's (StartTransientUnit refused it, or
    /// create was killed before asking).
    #[serde(default)]
    pub started: bool,
}

/// systemd must be PID 1, and the host's cgroups pure v2.
pub fn check_host(mode: super::Mode) -> Result<()> {
    if !std::path::Path::new("/run/systemd/system").is_dir() {
        return Err(Error::msg(
            "systemd not running on this host, cannot use systemd cgroups manager (no /run/systemd/system); run without --systemd-cgroup",
        ));
    }
    if mode != super::Mode::Unified {
        return Err(Error::msg(format!(
            "--systemd-cgroup: husk's systemd driver needs a pure cgroup v2 host, and this one is {}; boot with systemd.unified_cgroup_hierarchy=1 or run without --systemd-cgroup",
            if mode == super::Mode::Hybrid {
                "hybrid (v1 and v2)"
            } else {
                "cgroup v1"
            }
        )));
    }
    Ok(())
}

/// The system bus (DBUS_SYSTEM_BUS_ADDRESS, else the standard socket).
/// Without a bus daemon, root can talk to systemd on its private socket,
/// as systemctl does; not when the address was given explicitly.
pub fn connect() -> Result<Bus> {
    let given = std::env::var("DBUS_SYSTEM_BUS_ADDRESS")
        .ok()
        .filter(|a| !a.is_empty());
    let address = given.as_deref().unwrap_or(dbus::SYSTEM_BUS);
    match Bus::connect(address, true) {
        Ok(b) => Ok(b),
        Err(e) if given.is_none() && crate::linux::identity::euid() == 0 => {
            Bus::connect(dbus::SYSTEMD_PRIVATE, false)
                .map_err(|e2| Error::msg(format!("failed to connect to dbus: {e}; {e2}")))
        }
        Err(e) => Err(e.context("failed to connect to dbus")),
    }
}

pub struct Systemd {
    bus: Bus,
    matching: bool,
}

impl Systemd {
    pub fn connect() -> Result<Systemd> {
        Ok(Systemd {
            bus: connect()?,
            matching: false,
        })
    }

    fn call(&mut self, member: &str, body: Vec<Value>) -> Result<Vec<Value>, CallError> {
        self.bus.call(DEST, OBJECT, MANAGER, member, body)
    }

    /// Ask the bus daemon for systemd's JobRemoved signals. systemd sends
    /// job signals to the client that queued the job, with no Subscribe();
    /// the bus daemon forwards a broadcast only to a matching rule. On
    /// systemd's private socket there is no daemon, and no rule to add.
    fn match_job_removed(&mut self) -> Result<()> {
        if self.matching || self.bus.address == dbus::SYSTEMD_PRIVATE {
            return Ok(());
        }
        let rule = "type='signal',sender='org.freedesktop.systemd1',interface='org.freedesktop.systemd1.Manager',member='JobRemoved',path='/org/freedesktop/systemd1'";
        self.bus
            .call(
                "org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus",
                "AddMatch",
                vec![Value::str(rule)],
            )
            .map_err(|e| Error::msg(format!("D-Bus AddMatch for systemd's JobRemoved: {e}")))?;
        self.matching = true;
        Ok(())
    }

    /// Wait for the job to end; its result ("done", "failed", …).
    fn wait_job(&mut self, job: &str) -> Result<Option<String>> {
        let deadline = Instant::now() + JOB_TIMEOUT;
        self.bus.wait_signal(deadline, |m| {
            if m.member.as_deref() != Some("JobRemoved") {
                return None;
            }
            // JobRemoved(u id, o job, s unit, s result)
            let path = m.body.get(1).and_then(Value::as_str)?;
            (path == job).then(|| {
                m.body
                    .get(3)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            })
        })
    }

    /// Start the container's scope (or slice) holding `pid`.
    pub fn start(
        &mut self,
        unit: &Unit,
        pid: Option<i32>,
        extra: Vec<(String, Value)>,
    ) -> Result<()> {
        self.match_job_removed()?;
        let mut p: Vec<(String, Value)> = vec![(
            "Description".into(),
            Value::str(format!(
                "husk container {}",
                unit.name.trim_end_matches(".scope")
            )),
        )];
        if unit.name.ends_with(".slice") {
            p.push((
                "Wants".into(),
                Value::Array("s".into(), vec![Value::str(&unit.slice)]),
            ));
        } else {
            p.push(("Slice".into(), Value::str(&unit.slice)));
            p.push(("Delegate".into(), Value::Bool(true)));
        }
        if let Some(pid) = pid {
            p.push((
                "PIDs".into(),
                Value::Array("u".into(), vec![Value::U32(pid as u32)]),
            ));
        }
        for a in [
            "MemoryAccounting",
            "CPUAccounting",
            "IOAccounting",
            "TasksAccounting",
        ] {
            p.push((a.into(), Value::Bool(true)));
        }
        p.push(("DefaultDependencies".into(), Value::Bool(false)));
        p.extend(extra);
        let body = || {
            vec![
                Value::str(&unit.name),
                Value::str("replace"),
                Value::props(p.clone()),
                Value::Array("(sa(sv))".into(), vec![]),
            ]
        };
        let fail = |e: &dyn std::fmt::Display| {
            Error::msg(format!(
                "unable to start unit {:?} (StartTransientUnit): {e}",
                unit.name
            ))
        };
        let reply = match self.call("StartTransientUnit", body()) {
            // A unit of that name that failed earlier stays loaded until
            // reset; one that is active belongs to another container.
            Err(e) if e.is(UNIT_EXISTS) => {
                self.reset_failed(&unit.name);
                self.call("StartTransientUnit", body())
            }
            r => r,
        }
        .map_err(|e| fail(&e))?;
        let job = reply
            .first()
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        match self.wait_job(&job)? {
            Some(r) if r == "done" => Ok(()),
            Some(r) => {
                self.reset_failed(&unit.name);
                Err(Error::msg(format!(
                    "error creating systemd unit `{}`: got `{r}`",
                    unit.name
                )))
            }
            None => {
                self.reset_failed(&unit.name);
                Err(Error::msg(format!(
                    "Timeout waiting for systemd to create {} ({} s)",
                    unit.name,
                    JOB_TIMEOUT.as_secs()
                )))
            }
        }
    }

    /// Stop the unit and wait; a unit that is gone already is fine.
    pub fn stop(&mut self, unit: &str) -> Result<()> {
        self.match_job_removed()?;
        let job = match self.call("StopUnit", vec![Value::str(unit), Value::str("replace")]) {
            Ok(r) => r.first().and_then(Value::as_str).unwrap_or("").to_string(),
            Err(e) if e.is(NO_SUCH_UNIT) => {
                self.reset_failed(unit);
                return Ok(());
            }
            Err(e) => {
                return Err(Error::msg(format!(
                    "unable to stop unit {unit:?} (StopUnit): {e}"
                )));
            }
        };
        let r = self.wait_job(&job)?;
        self.reset_failed(unit);
        match r {
            Some(r) if r == "done" => Ok(()),
            Some(r) => {
                tracing::warn!("error removing unit `{unit}`: got `{r}`. Continuing...");
                Ok(())
            }
            None => Err(Error::msg(format!(
                "Timed out while waiting for systemd to remove {unit}"
            ))),
        }
    }

    /// A failed unit stays loaded (and its name taken) until reset.
    fn reset_failed(&mut self, unit: &str) {
        if let Err(e) = self.call("ResetFailedUnit", vec![Value::str(unit)])
            && !e.is(NO_SUCH_UNIT)
        {
            tracing::debug!("ResetFailedUnit {unit}: {e}");
        }
    }

    /// Change the unit's properties for the running unit (not on disk).
    pub fn set_properties(&mut self, unit: &str, p: Vec<(String, Value)>) -> Result<()> {
        if p.is_empty() {
            return Ok(());
        }
        self.call(
            "SetUnitProperties",
            vec![Value::str(unit), Value::Bool(true), Value::props(p)],
        )
        .map(drop)
        .map_err(|e| {
            Error::msg(format!(
                "unable to set unit properties of {unit:?} (SetUnitProperties): {e}"
            ))
        })
    }
}

/// Every property husk sets for these resources, device rules included.
pub fn properties(res: &Resources) -> Result<Vec<(String, Value)>> {
    let mut p = props::resource_properties(res)?;
    if !res.devices.is_empty() {
        let proc_devices = std::fs::read_to_string("/proc/devices").unwrap_or_default();
        p.extend(props::device_properties(&res.devices, &proc_devices));
    }
    Ok(p)
}
