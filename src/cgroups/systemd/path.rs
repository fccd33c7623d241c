//! `linux.cgroupsPath` under `--systemd-cgroup`: "slice:prefix:name", the
//! unit it names and where systemd puts that unit's cgroup. Pure logic,
//! with runc's rules and error words (engines and users match on them).

use crate::bail;
use crate::error::Result;

/// The prefix of a unit whose config gives no cgroupsPath (runc uses its
/// own name the same way).
pub const DEFAULT_PREFIX: &str = "husk";
pub const DEFAULT_SLICE: &str = "system.slice";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitPath {
    /// The slice the unit goes in ("system.slice").
    pub slice: String,
    /// The unit: "prefix-name.scope", or "name" when it ends in ".slice".
    pub unit: String,
    /// Its cgroup, relative to the cgroup2 mount ("/system.slice/x.scope").
    pub dir: String,
}

/// Parse a cgroupsPath; none (or "") means "system.slice:husk:<id>".
pub fn parse(cgroups_path: Option<&str>, id: &str) -> Result<UnitPath> {
    let (slice, prefix, name) = match cgroups_path.filter(|p| !p.is_empty()) {
        None => (DEFAULT_SLICE, DEFAULT_PREFIX, id),
        Some(p) => {
            let parts: Vec<&str> = p.split(':').collect();
            let [slice, prefix, name] = parts[..] else {
                bail!(
                    "expected cgroupsPath to be of format \"slice:prefix:name\" for systemd cgroups, got {p:?} instead"
                );
            };
            if name.is_empty() {
                bail!("linux.cgroupsPath {p:?}: the unit name (after the last ':') is empty");
            }
            (
                if slice.is_empty() {
                    DEFAULT_SLICE
                } else {
                    slice
                },
                prefix,
                name,
            )
        }
    };
    let unit = if name.ends_with(".slice") {
        expand_slice(name)?;
        name.to_string()
    } else {
        let unit = if prefix.is_empty() {
            format!("{name}.scope")
        } else {
            format!("{prefix}-{name}.scope")
        };
        check_unit_name(&unit)?;
        unit
    };
    let parent = expand_slice(slice)?;
    // A slice's place follows from its own name ("a-b.slice" lives in
    // "a.slice"), whatever slice the path puts it in; a scope's is its slice.
    let dir = if unit.ends_with(".slice") {
        expand_slice(&unit)?
    } else if parent == "/" {
        format!("/{unit}")
    } else {
        format!("{parent}/{unit}")
    };
    Ok(UnitPath {
        slice: slice.to_string(),
        unit,
        dir,
    })
}

/// systemd's unit-name rules: at most 255 bytes of [A-Za-z0-9:_.\-\\@].
fn check_unit_name(unit: &str) -> Result<()> {
    let ok = |c: char| c.is_ascii_alphanumeric() || ":_.-\\@".contains(c);
    if unit.len() > 255 || !unit.chars().all(ok) {
        bail!(
            "invalid unit name {unit:?}: systemd allows at most 255 of the characters A-Z a-z 0-9 : _ . - \\ @"
        );
    }
    Ok(())
}

/// Where a slice's cgroup is: "a-b.slice" → "/a.slice/a-b.slice",
/// "-.slice" (the root slice) → "/".
pub fn expand_slice(slice: &str) -> Result<String> {
    let invalid = || crate::error::Error::msg(format!("invalid slice name: {slice}"));
    let Some(stem) = slice.strip_suffix(".slice") else {
        return Err(invalid());
    };
    if slice.contains('/') {
        return Err(invalid());
    }
    if stem == "-" {
        return Ok("/".into());
    }
    check_unit_name(slice)?;
    let mut path = String::new();
    let mut prefix = String::new();
    for part in stem.split('-') {
        if part.is_empty() {
            return Err(invalid());
        }
        prefix.push_str(part);
        path.push_str(&format!("/{prefix}.slice"));
        prefix.push('-');
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_expand() {
        assert_eq!(expand_slice("system.slice").unwrap(), "/system.slice");
        assert_eq!(expand_slice("a-b.slice").unwrap(), "/a.slice/a-b.slice");
        assert_eq!(
            expand_slice("test-a-b.slice").unwrap(),
            "/test.slice/test-a.slice/test-a-b.slice"
        );
        assert_eq!(expand_slice("-.slice").unwrap(), "/");
        for bad in [
            "a--b.slice",
            "-a.slice",
            "a-.slice",
            ".slice",
            "a/b.slice",
            "system",
            "",
        ] {
            let e = expand_slice(bad).unwrap_err().to_string();
            assert_eq!(e, format!("invalid slice name: {bad}"), "{bad}");
        }
    }

    #[test]
    fn paths_parse() {
        let p = parse(Some("system.slice:docker:abc"), "x").unwrap();
        assert_eq!(p.unit, "docker-abc.scope");
        assert_eq!(p.dir, "/system.slice/docker-abc.scope");
        let p = parse(Some("machine-libpod.slice:libpod:abc"), "x").unwrap();
        assert_eq!(
            p.dir,
            "/machine.slice/machine-libpod.slice/libpod-abc.scope"
        );
        let p = parse(None, "c1").unwrap();
        assert_eq!(
            (p.slice.as_str(), p.unit.as_str()),
            ("system.slice", "husk-c1.scope")
        );
        assert_eq!(parse(Some(""), "c1").unwrap(), p);
        assert_eq!(parse(Some(":husk:c1"), "x").unwrap(), p);
        let p = parse(Some("-.slice:p:n"), "x").unwrap();
        assert_eq!(p.dir, "/p-n.scope");
        // A slice unit: its place comes from its own name.
        let p = parse(Some("kubepods.slice:x:kubepods-pod1.slice"), "x").unwrap();
        assert_eq!(p.unit, "kubepods-pod1.slice");
        assert_eq!(p.dir, "/kubepods.slice/kubepods-pod1.slice");
    }

    #[test]
    fn bad_paths_say_why() {
        for bad in ["/a/b", "a:b", "a:b:c:d", "system.slice"] {
            let e = parse(Some(bad), "x").unwrap_err().to_string();
            assert!(
                e.starts_with("expected cgroupsPath to be of format \"slice:prefix:name\""),
                "{bad}: {e}"
            );
        }
        assert_eq!(
            parse(Some("system:p:n"), "x").unwrap_err().to_string(),
            "invalid slice name: system"
        );
        assert!(parse(Some("system.slice:p:"), "x").is_err());
        assert!(
            parse(Some("system.slice:p:a b"), "x")
                .unwrap_err()
                .to_string()
                .contains("invalid unit name")
        );
    }
}
