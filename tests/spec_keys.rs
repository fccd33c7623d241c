//! Every key husk reads from config.json is spelt as the runtime-spec
//! spells it.
//!
//! The runtime-spec says unknown keys are ignored, so a key that husk's
//! types spell differently from the spec (`execCpuAffinity` for
//! `execCPUAffinity`) is dropped without a word. tests/data/full-config.json
//! sets every field husk's types know, and this test proves two things:
//!
//! 1. the file is spelt as the spec: oci-spec's types (which drop unknown
//!    keys) read it and write it back with every key path, except the few
//!    that this oci-spec lacks ([`NOT_IN_OCI_SPEC`]);
//! 2. husk reads all of it: husk's top-level parser and each typed parser it
//!    applies later to a part kept as JSON (hooks, linux.resources,
//!    linux.seccomp), wrapped in serde_ignored, skip no key. Keys under a
//!    part husk keeps as JSON on purpose (linux.intelRdt, ...) are not read
//!    at all, so they cannot be skipped.

use std::collections::BTreeSet;

use serde::Deserializer;
use serde_json::Value;

const FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/full-config.json");

/// Key paths of the runtime-spec that this oci-spec does not know, so its
/// round trip drops them. Each was checked against the runtime-spec text.
/// None at 0.10.0.
const NOT_IN_OCI_SPEC: &[&str] = &[];

/// Every key path in `v`, `[]` standing for any element of a list.
fn key_paths(v: &Value, at: &str, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                let path = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                key_paths(v, &path, out);
                out.insert(path);
            }
        }
        Value::Array(a) => a.iter().for_each(|v| key_paths(v, &format!("{at}[]"), out)),
        _ => {}
    }
}

#[test]
fn the_file_is_spelt_as_the_spec() {
    let text = std::fs::read_to_string(FILE).unwrap();
    let file: Value = serde_json::from_str(&text).unwrap();
    let spec: oci_spec::runtime::Spec = serde_json::from_str(&text).unwrap();
    let (mut before, mut after) = (BTreeSet::new(), BTreeSet::new());
    key_paths(&file, "", &mut before);
    key_paths(&serde_json::to_value(&spec).unwrap(), "", &mut after);
    let lost: Vec<&String> = before.difference(&after).collect();
    let allowed: Vec<&String> = before
        .iter()
        .filter(|p| NOT_IN_OCI_SPEC.contains(&p.as_str()))
        .collect();
    assert_eq!(
        lost, allowed,
        "keys oci-spec dropped (misspelt in the file, or not in the spec), \
         against NOT_IN_OCI_SPEC"
    );
}

/// Runs `parse` (one of husk's parsers) on `de`, adding each key it skips,
/// as a path from the top of config.json, to `skipped`. Callers pass a
/// closure, not the parser itself, so that the parser is instantiated for
/// the callback borrowed in here.
fn parse_noting<'de, D: Deserializer<'de>, T>(
    at: &str,
    de: D,
    parse: impl FnOnce(
        serde_ignored::Deserializer<D, &mut dyn FnMut(serde_ignored::Path)>,
    ) -> Result<T, D::Error>,
    skipped: &mut Vec<String>,
) -> T
where
    D::Error: std::fmt::Debug,
{
    // serde_ignored writes `?` for each Option on the way.
    let mut note = |p: serde_ignored::Path| skipped.push(format!("{at}{p}").replace("?.", ""));
    let mut note: &mut dyn FnMut(serde_ignored::Path) = &mut note;
    parse(serde_ignored::Deserializer::new(de, &mut note)).unwrap()
}

#[test]
fn husk_reads_every_key() {
    let text = std::fs::read(FILE).unwrap();
    let mut skipped = Vec::new();
    let de = &mut serde_json::Deserializer::from_slice(&text);
    let parts = parse_noting("", de, |d| husk::parsers::spec(d), &mut skipped);
    let part = |v: Option<Value>, at: &str| v.unwrap_or_else(|| panic!("{at} missing"));
    let hooks = part(parts.hooks, "hooks");
    let resources = part(parts.resources, "linux.resources");
    let seccomp = part(parts.seccomp, "linux.seccomp");
    parse_noting("hooks.", hooks, |d| husk::parsers::hooks(d), &mut skipped);
    parse_noting(
        "linux.resources.",
        resources,
        |d| husk::parsers::resources(d),
        &mut skipped,
    );
    parse_noting(
        "linux.seccomp.",
        seccomp,
        |d| husk::parsers::seccomp(d),
        &mut skipped,
    );
    assert!(skipped.is_empty(), "keys husk's types skip: {skipped:#?}");
}
