//! `husk exec --cgroup [CONTROLLER[,CONTROLLER]:]PATH`: run the new process
//! in an existing sub-cgroup of the container's, as runc's flag does. A
//! path without controllers applies to every hierarchy (on cgroup v2, the
//! one); with them, only to those v1 hierarchies.

use std::collections::BTreeMap;
use std::path::Path;

use super::manager::Cgroup;
use crate::bail;
use crate::error::Result;

/// Parse the flag's values into controller → path ("" for all), refusing
/// the same controller twice, as runc does.
pub fn parse(args: &[String]) -> Result<BTreeMap<String, String>> {
    let mut map = BTreeMap::new();
    for a in args {
        let (ctrls, path) = match a.split_once(':') {
            Some((c, p)) => (c.split(',').map(str::to_string).collect(), p),
            None => (vec![String::new()], a.as_str()),
        };
        if path.is_empty() || path.split('/').any(|c| c == "..") {
            bail!("invalid --cgroup argument: {a:?} (a path below the container's cgroup)");
        }
        for c in ctrls {
            if map
                .insert(c.clone(), path.trim_start_matches('/').to_string())
                .is_some()
            {
                bail!("invalid --cgroup argument: {a:?} names {c:?} twice");
            }
        }
    }
    Ok(map)
}

/// The container's cgroup with each hierarchy's directory moved to the
/// sub-cgroup asked for. The sub-cgroup must exist: husk does not make it
/// (nor remove it), as runc does not.
pub fn apply(cg: &Cgroup, subs: &BTreeMap<String, String>) -> Result<Cgroup> {
    let mut out = cg.clone();
    for d in &mut out.dirs {
        let pick = |c: &str| subs.get(c);
        let sub = d
            .controllers
            .iter()
            .find_map(|c| pick(c))
            .or_else(|| pick(""));
        let Some(sub) = sub else { continue };
        let path = d.path.join(sub);
        if !Path::new(&path).is_dir() {
            bail!(
                "--cgroup {sub}: {} does not exist (husk exec joins an existing sub-cgroup)",
                path.display()
            );
        }
        d.path = path;
        d.created.clear();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_as_runc_does() {
        let m = parse(&["sub".into(), "cpu,memory:a/b".into()]).unwrap();
        assert_eq!(m[""], "sub");
        assert_eq!(m["cpu"], "a/b");
        assert_eq!(m["memory"], "a/b");
        assert!(parse(&["memory:x".into(), "memory:y".into()]).is_err());
        assert!(parse(&["../up".into()]).is_err());
        assert!(parse(&["cpu:".into()]).is_err());
    }
}
