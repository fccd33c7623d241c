//! husk: parse the command line, set up logging, dispatch. Nothing else.
//!
//! A library only so that the fuzz targets (fuzz/) can reach the parsers
//! through [`fuzzing`], and tests/spec_keys.rs through [`parsers`]; the
//! modules stay private, so the compiler still reports code nothing uses.

mod cgroups;
mod cli;
mod commands;
mod container;
mod dbus;
mod error;
mod explain;
mod hooks;
mod linux;
mod logging;
mod spawn;
mod spec;
mod steps;

use clap::{CommandFactory, FromArgMatches};

/// `husk --version`: what a bug report needs.
fn version() -> String {
    format!(
        "{}\ncommit: {}\nspec: {}\nlibseccomp: {}",
        env!("CARGO_PKG_VERSION"),
        env!("HUSK_COMMIT"),
        spec::version::SPEC_VERSION,
        linux::seccomp::libseccomp_version()
    )
}

/// The whole of `husk`: src/main.rs calls this and nothing else.
pub fn main() -> ! {
    let started = std::time::Instant::now();
    // `--explain=svg FILE` is one option with two words; clap sees one.
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // clap prints the version only for -V or --version, so only then build
    // the long one (it asks libseccomp); every other call skips the work.
    let wants_version = args.iter().skip(1).any(|a| {
        a.to_str().is_some_and(|a| {
            a == "--version" || (a.starts_with('-') && !a.starts_with("--") && a.contains('V'))
        })
    });
    let v: &'static str = if wants_version {
        // Leaked: clap wants a static string, and husk exits right after.
        Box::leak(version().into_boxed_str())
    } else {
        env!("CARGO_PKG_VERSION")
    };
    if let Some(i) = args.iter().position(|a| a == "--explain=svg")
        && i + 1 < args.len()
    {
        let file = args.remove(i + 1);
        args[i] = format!("--explain=svg:{}", file.to_string_lossy()).into();
    }
    let matches = cli::Cli::command().version(v).get_matches_from(args);
    let cli = match cli::Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    let g = &cli.global;
    let log = logging::LogOptions {
        file: g.log.as_deref(),
        json: g.log_format == cli::LogFormat::Json,
        debug: g.debug,
    };
    let explain = match &cli.command {
        cli::Command::Create(a) => a.explain.as_deref(),
        cli::Command::Run(a) => a.create.explain.as_deref(),
        _ => None,
    };
    if let Some(mode) = explain
        && let Err(e) = explain::Mode::parse(mode).and_then(|m| explain::start(m, started))
    {
        logging::early_error(&e.to_string());
        std::process::exit(1);
    }
    if let Err(e) = logging::init(&log) {
        logging::early_error(&e.to_string());
        std::process::exit(1);
    }
    match commands::dispatch(&cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            // As runc's fatal(): an error line in the log (containerd reads
            // it; without --log that is stderr, `time=… level=error
            // msg="…"`), and when the log is a file, the bare message on
            // stderr as well.
            tracing::error!("{e}");
            if g.log.is_some() {
                eprintln!("{e}");
            }
            std::process::exit(1);
        }
    }
}

/// husk's config.json parsers, for tests/spec_keys.rs: each is generic
/// over the deserializer, so the test can wrap it (serde_ignored) and list
/// the keys husk skips. Only the parse: the types stay private, so the
/// compiler still reports fields that nothing reads.
#[doc(hidden)]
pub mod parsers {
    use serde::{Deserialize, Deserializer};
    use serde_json::Value;

    /// What [`spec`] hands on: the parts of config.json that the top-level
    /// types keep as JSON, each parsed later by its own typed parser.
    #[derive(Debug, Default)]
    pub struct Deferred {
        /// `hooks`, for [`hooks`].
        pub hooks: Option<Value>,
        /// `linux.resources`, for [`resources`].
        pub resources: Option<Value>,
        /// `linux.seccomp`, for [`seccomp`].
        pub seccomp: Option<Value>,
    }

    /// The whole config.json, as `spec::parse` reads it.
    pub fn spec<'de, D: Deserializer<'de>>(d: D) -> Result<Deferred, D::Error> {
        let s = crate::spec::config::Spec::deserialize(d)?;
        let linux = s.linux.unwrap_or_default();
        Ok(Deferred {
            hooks: s.hooks,
            resources: linux.resources,
            seccomp: linux.seccomp,
        })
    }

    /// `hooks`, as `Plan::build` reads it.
    pub fn hooks<'de, D: Deserializer<'de>>(d: D) -> Result<(), D::Error> {
        crate::hooks::Hooks::deserialize(d).map(drop)
    }

    /// `linux.resources`, as `Plan::build` and `husk update --resources`
    /// read it.
    pub fn resources<'de, D: Deserializer<'de>>(d: D) -> Result<(), D::Error> {
        crate::cgroups::resources::Resources::deserialize(d).map(drop)
    }

    /// `linux.seccomp`, as `Plan::build` reads it.
    pub fn seccomp<'de, D: Deserializer<'de>>(d: D) -> Result<(), D::Error> {
        crate::linux::seccomp::Seccomp::deserialize(d).map(drop)
    }
}

/// What the fuzz targets in fuzz/ drive: the parsers that take input from
/// outside husk. Each returns whether the input was accepted; a panic, an
/// abort or a hang is the bug the fuzzer looks for. tests/fuzz_regressions.rs
/// feeds them the inputs kept in fuzz/regressions/.
#[doc(hidden)]
pub mod fuzzing {
    use std::path::{Path, PathBuf};
    use std::sync::OnceLock;

    /// config.json bytes → a checked plan, against a bundle that exists
    /// (`bundle` must hold a rootfs directory for root.path to resolve).
    /// An accepted plan's seccomp profile must then compile: see [`seccomp`].
    pub fn config(bytes: &[u8], bundle: &Path) -> bool {
        let Ok(spec) = crate::spec::parse(bytes) else {
            return false;
        };
        let Ok(plan) = crate::spec::Plan::build(&spec, bundle) else {
            return false;
        };
        if let Some(s) = &plan.seccomp {
            must_build(s);
        }
        true
    }

    /// A mount's options list, as config.json gives it.
    pub fn mount_options(options: &[String]) -> bool {
        crate::linux::mount_options::parse(options).is_ok()
    }

    /// A signal as `husk kill` takes it: a name, SIG-name or number.
    pub fn signal(s: &str) -> bool {
        crate::linux::signal::parse(s).is_ok()
    }

    /// linux.seccomp JSON → a validated profile compiled to a libseccomp
    /// filter (built, never loaded).
    ///
    /// Panics if validation accepts a profile that libseccomp then refuses:
    /// create checks the profile up front and compiles it only in the
    /// container's init, so such a profile would fail late, after the
    /// namespaces and the cgroup were made.
    pub fn seccomp(bytes: &[u8]) -> bool {
        let Ok(s) = serde_json::from_slice::<crate::linux::seccomp::Seccomp>(bytes) else {
            return false;
        };
        if s.validate().is_err() {
            return false;
        }
        must_build(&s);
        true
    }

    fn must_build(s: &crate::linux::seccomp::Seccomp) {
        if let Err(e) = s.build() {
            panic!("a seccomp profile passed validation but does not compile: {e}");
        }
    }

    /// A bundle directory with an empty `rootfs` in it, made once per
    /// process and shared by every run (a fixed path under the temp dir,
    /// so repeated runs do not leave one each).
    pub fn scratch_bundle() -> &'static Path {
        static DIR: OnceLock<PathBuf> = OnceLock::new();
        DIR.get_or_init(|| {
            let dir = std::env::temp_dir().join("husk-fuzz-bundle");
            std::fs::create_dir_all(dir.join("rootfs"))
                .unwrap_or_else(|e| panic!("make {}/rootfs: {e}", dir.display()));
            dir
        })
    }

    /// How the mount_options target reads its input: one option a line
    /// (bytes that are not UTF-8 become U+FFFD).
    pub fn lines(bytes: &[u8]) -> Vec<String> {
        bytes
            .split(|&b| b == b'\n')
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .collect()
    }
}
