//! config.json → a checked [`Plan`]: everything that can be wrong with the
//! input is found here, before any kernel object exists.

pub mod config;
pub mod mounts;
pub mod namespaces;
pub mod plan;
pub mod process;
pub mod version;

use std::path::Path;

use crate::error::{Error, Result};
pub use plan::Plan;

/// Read and parse `<bundle>/config.json`. Type errors name the field.
pub fn load(bundle: &Path) -> Result<config::Spec> {
    let path = bundle.join("config.json");
    let text = std::fs::read(&path)
        .map_err(|e| Error::from(e).context(format!("read {}", path.display())))?;
    parse(&text).map_err(|e| e.context(path.display()))
}

pub fn parse(text: &[u8]) -> Result<config::Spec> {
    let de = &mut serde_json::Deserializer::from_slice(text);
    let spec: config::Spec = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
        let field = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            Error::msg(format!("not valid JSON: {inner}"))
        } else if field == "." {
            Error::msg(format!("bad config: {inner}"))
        } else {
            Error::msg(format!("bad value for {field}: {inner}"))
        }
    })?;
    de.end()
        .map_err(|e| Error::msg(format!("not valid JSON: {e}")))?;
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_type_names_the_field() {
        let e = parse(br#"{"ociVersion":"1.2.0","process":{"user":{"uid":"root"}}}"#).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("bad value for process.user.uid: invalid type"),
            "{e}"
        );
    }

    #[test]
    fn not_json() {
        let e = parse(b"{nope").unwrap_err();
        assert!(e.to_string().starts_with("not valid JSON"), "{e}");
    }

    #[test]
    fn nulls_are_empty() {
        let s =
            parse(br#"{"ociVersion":"1.0.0","mounts":null,"linux":{"namespaces":null}}"#).unwrap();
        assert!(s.mounts.is_empty());
        assert!(s.linux.unwrap().namespaces.is_empty());
    }

    #[test]
    fn missing_version_is_an_error() {
        let e = parse(b"{}").unwrap_err();
        assert!(e.to_string().contains("ociVersion"), "{e}");
    }
}
