//! Which config versions husk accepts: 1.0.0 through 1.3.x.

use crate::error::{Error, Result};

pub const MIN_VERSION: &str = "1.0.0";
/// The version husk implements and writes in `husk spec`.
pub const SPEC_VERSION: &str = "1.2.0";
/// Reported by `husk features`; any 1.3 patch release is accepted.
pub const MAX_VERSION: &str = "1.3.0";
/// Any 1.3 patch release is accepted.
pub const MAX_MINOR: u32 = 3;

pub fn check(v: &str) -> Result<()> {
    let bad = || {
        Error::msg(format!(
            "unsupported ociVersion {v:?}: husk accepts {MIN_VERSION} through 1.{MAX_MINOR}.x"
        ))
    };
    // Pre-release and build suffixes ("1.0.2-dev", "1.2.0+x") keep the base.
    let base = v.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = base.split('.').collect();
    if parts.len() != 3
        || parts
            .iter()
            .any(|p| p.is_empty() || p.parse::<u32>().is_err())
    {
        return Err(bad());
    }
    let (major, minor) = (
        parts[0].parse::<u32>().unwrap(),
        parts[1].parse::<u32>().unwrap(),
    );
    if major != 1 || minor > MAX_MINOR {
        return Err(bad());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted() {
        for v in [
            "1.0.0",
            "1.0.2-dev",
            "1.1.0",
            "1.2.0",
            "1.3.0",
            "1.3.7",
            "1.2.1+meta",
        ] {
            check(v).unwrap();
        }
    }

    #[test]
    fn rejected() {
        for v in ["", "1", "1.2", "0.9.0", "2.0.0", "1.4.0", "1.x.0", "v1.2.0"] {
            assert!(check(v).is_err(), "{v}");
        }
    }
}
