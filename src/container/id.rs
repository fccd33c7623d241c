//! Container IDs become directory names under --root, so they are checked
//! before anything touches the filesystem.

use crate::bail;
use crate::error::Result;

pub const MAX_LEN: usize = 1024;

pub fn validate(id: &str) -> Result<()> {
    if id.is_empty() {
        bail!("invalid container ID: empty");
    }
    if id.len() > MAX_LEN {
        bail!(
            "invalid container ID: {} bytes long; the limit is {MAX_LEN}",
            id.len()
        );
    }
    if id == "." || id == ".." {
        bail!("invalid container ID {id:?}");
    }
    // The same alphabet as runc, so IDs move between the two unchanged.
    if let Some(c) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-' | '.')))
    {
        bail!(
            "invalid container ID {id:?}: character {c:?} is not allowed (use letters, digits, '_', '+', '-', '.')"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_ids() {
        for id in [
            "a",
            "abc-123",
            "x.y_z+w",
            &"f".repeat(64),
            &"a".repeat(1024),
        ] {
            validate(id).unwrap();
        }
    }

    #[test]
    fn bad_ids() {
        for id in ["", ".", "..", "a/b", "../x", "a b", "ä", &"a".repeat(1025)] {
            assert!(validate(id).is_err(), "{id:?}");
        }
    }
}
