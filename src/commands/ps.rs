//! `husk ps ID [ps options]`: the container's processes, from its cgroup.
//! `--format json` prints the PIDs as a JSON array (what containerd reads);
//! the table is the host's `ps` output, filtered to those PIDs.

use std::process::Command;

use crate::bail;
use crate::cli::{Global, PsArgs, PsFormat};
use crate::container::{Container, Status};
use crate::error::{Error, Result};

pub fn run(g: &Global, a: &PsArgs) -> Result<()> {
    let (c, st) = Container::open(&g.root, &a.id)?;
    if c.status(&st) == Status::Stopped {
        bail!("container not running");
    }
    let pids = match &st.cgroup {
        Some(cg) => cg.pids()?,
        // No cgroup (rootless): its own pid namespace says who belongs.
        None if st.own_pid_ns => crate::container::process::pids_in_container(&st)?,
        None => vec![st.pid],
    };
    drop(c);
    match a.format {
        PsFormat::Json => {
            super::say!(
                "{}",
                serde_json::to_string(&pids).map_err(|e| Error::msg(e.to_string()))?
            );
            Ok(())
        }
        PsFormat::Table => {
            let args = if a.ps_args.is_empty() {
                vec!["-ef".to_string()]
            } else {
                a.ps_args.clone()
            };
            let out = Command::new("ps")
                .args(&args)
                .output()
                .map_err(|e| Error::from(e).context("run ps"))?;
            if !out.status.success() {
                bail!(
                    "ps {}: {}",
                    args.join(" "),
                    String::from_utf8_lossy(&out.stderr).trim()
                );
            }
            let text = String::from_utf8_lossy(&out.stdout);
            let mut lines = text.lines();
            let Some(header) = lines.next() else {
                return Ok(());
            };
            let col = header
                .split_whitespace()
                .position(|h| h == "PID")
                .ok_or_else(|| Error::msg("ps output has no PID column"))?;
            super::say!("{header}");
            for l in lines {
                let pid = l
                    .split_whitespace()
                    .nth(col)
                    .and_then(|p| p.parse::<i32>().ok());
                if pid.is_some_and(|p| pids.contains(&p)) {
                    super::say!("{l}");
                }
            }
            Ok(())
        }
    }
}
