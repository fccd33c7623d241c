//! `husk features`: the runtime-spec features document for this build.
//! Only fields husk sets are printed: no nulls.

use serde_json::{Value, json};

use crate::cgroups;
use crate::error::{Error, Result};
use crate::linux::{capabilities, mount_options, namespaces::NsKind, seccomp};
use crate::spec::version;

pub fn document() -> Value {
    let mode = cgroups::detect().ok();
    let mut doc = json!({
        "ociVersionMin": version::MIN_VERSION,
        "ociVersionMax": version::MAX_VERSION,
        "hooks": ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
        "mountOptions": mount_options::known_names(),
        "linux": {
            "namespaces": NsKind::ALL.iter().map(|k| k.spec_name()).collect::<Vec<_>>(),
            "capabilities": capabilities::NAMES.to_vec(),
            "cgroup": {
                "v1": true,
                "v2": true,
                "systemd": true,
                "systemdUser": false,
                "rdma": true,
            },
            // libseccomp is opened at run time (linux/libseccomp.rs). Where
            // it cannot be, "enabled" stays true: features.md defines it as
            // "seccomp support is compiled in", and a caller that read
            // false would likely drop the profile and run the container
            // unconfined, where create instead refuses the profile by name.
            // No flag can be set and no architecture filtered without the
            // library, so supportedFlags and archs are empty, and the
            // annotation below says why. With it, archs lists only what
            // this libseccomp can filter.
            "seccomp": {
                "enabled": true,
                "actions": seccomp::ACTIONS,
                "operators": seccomp::OPERATORS,
                "archs": seccomp::supported_archs(),
                "knownFlags": seccomp::FLAGS,
                "supportedFlags": seccomp::supported_flags(),
            },
            // Build support, as runtime-spec features.md defines it ("unrelated
            // to whether the host supports it"): create checks the host.
            "apparmor": {"enabled": true},
            "selinux": {"enabled": true},
            "intelRdt": {"enabled": false},
            "mountExtensions": {"idmap": {"enabled": false}},
        },
        "annotations": {
            "io.github.husk.version": env!("CARGO_PKG_VERSION"),
            "io.github.husk.commit": env!("HUSK_COMMIT"),
            "io.github.husk.cgroup.host": match mode {
                Some(cgroups::Mode::Unified) => "unified",
                Some(cgroups::Mode::Hybrid) => "hybrid",
                Some(cgroups::Mode::Legacy) => "legacy",
                None => "none",
            },
        },
    });
    if let Some(e) = seccomp::load_error() {
        doc["annotations"]["io.github.husk.seccomp.error"] = e.into();
    }
    doc
}

pub fn run() -> Result<()> {
    let text = serde_json::to_string_pretty(&document()).map_err(|e| Error::msg(e.to_string()))?;
    super::say!("{text}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_nulls(v: &Value) -> bool {
        match v {
            Value::Null => false,
            Value::Array(a) => a.iter().all(no_nulls),
            Value::Object(o) => o.values().all(no_nulls),
            _ => true,
        }
    }

    #[test]
    fn document_has_no_nulls_and_the_versions() {
        let d = document();
        assert!(no_nulls(&d));
        assert_eq!(d["ociVersionMin"], "1.0.0");
        assert!(
            d["mountOptions"]
                .as_array()
                .unwrap()
                .iter()
                .any(|o| o == "rro")
        );
        assert_eq!(d["linux"]["namespaces"].as_array().unwrap().len(), 8);
    }
}
