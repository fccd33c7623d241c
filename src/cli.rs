//! The command line, flag for flag compatible with runc's, so that conmon
//! and containerd's shim can call husk exactly as they call runc.

use std::path::PathBuf;

use clap::error::ErrorKind;
use clap::{ArgMatches, Args, FromArgMatches, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(name = "husk", version, about = "A small, fast OCI container runtime")]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct Global {
    /// Directory for container state [default: /run/husk for root,
    /// $XDG_RUNTIME_DIR/husk for other users]
    #[arg(long, global = true, default_value_os_t = crate::container::root::default_root(), hide_default_value = true)]
    pub root: PathBuf,
    /// Write logs to this file instead of stderr
    #[arg(long, global = true)]
    pub log: Option<PathBuf>,
    /// Log format
    #[arg(long, global = true, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Log debug messages, including every step of create
    #[arg(long, global = true)]
    pub debug: bool,
    /// Let systemd manage the container's cgroup (a transient unit over D-Bus;
    /// linux.cgroupsPath is then "slice:prefix:name")
    #[arg(long, global = true)]
    pub systemd_cgroup: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// The subcommands. `Subcommand` and `FromArgMatches` are written by hand
/// below, not derived, to keep husk's stack small. At opt-level "z" the
/// derive's `augment_subcommands` inlined every subcommand's `augment_args`
/// into one function with a 93 KiB stack frame (a probe loop to 0x17000,
/// then 0x4e8 more), and stack probes touch every page of a frame: 132 KiB
/// of stack resident on every call of husk, against an RSS budget of 3 MB.
/// Here each subcommand's arguments are added by a function of its own
/// (`args`), and only when clap builds that subcommand (`Command::defer`):
/// `husk state` now ends with 28 KiB of stack and 156 KiB less RSS. The
/// largest of those functions still have big frames (exec's 38 KiB, update's
/// 28 KiB, create's 23 KiB, derived), but only their own subcommands pay.
#[derive(Debug)]
pub enum Command {
    Create(CreateArgs),
    Start(IdArg),
    State(IdArg),
    Kill(KillArgs),
    Delete(DeleteArgs),
    Run(RunArgs),
    List(ListArgs),
    Update(UpdateArgs),
    Pause(IdArg),
    Resume(IdArg),
    Ps(PsArgs),
    Events(EventsArgs),
    Exec(ExecArgs),
    Inspect(InspectArgs),
    Spec(SpecArgs),
    Features,
}

/// A subcommand's name, about (its line in `husk --help`, as the derive
/// takes it from a doc comment) and a function adding its arguments.
type Sub = (
    &'static str,
    &'static str,
    fn(clap::Command) -> clap::Command,
);

/// The subcommands, in `husk --help` order. `U` picks the arguments'
/// `augment_args_for_update` flavour, which husk never calls: a table of
/// its own keeps that code out of the binary.
fn subcommands<const U: bool>() -> [Sub; 16] {
    [
        sub::<CreateArgs, U>(
            "create",
            "Create a container and leave it waiting for start",
        ),
        sub::<IdArg, U>("start", "Start a created container"),
        sub::<IdArg, U>("state", "Print the state of a container as JSON"),
        sub::<KillArgs, U>(
            "kill",
            "Send a signal to the container's init (or all its processes)",
        ),
        sub::<DeleteArgs, U>(
            "delete",
            "Delete a container and everything husk made for it",
        ),
        sub::<RunArgs, U>("run", "Create, start and wait for a container"),
        sub::<ListArgs, U>("list", "List containers"),
        sub::<UpdateArgs, U>(
            "update",
            "Change the resource limits of a running container",
        ),
        sub::<IdArg, U>("pause", "Freeze every process in the container"),
        sub::<IdArg, U>("resume", "Thaw a paused container"),
        sub::<PsArgs, U>("ps", "List the container's processes"),
        sub::<EventsArgs, U>(
            "events",
            "Stream resource usage and OOM events as JSON lines",
        ),
        sub::<ExecArgs, U>("exec", "Run a new process in a running container"),
        sub::<InspectArgs, U>(
            "inspect",
            "The host's view of a running container: PIDs, namespaces, cgroup, \
             capabilities, seccomp, id maps, mounts",
        ),
        sub::<SpecArgs, U>("spec", "Write a default config.json"),
        (
            "features",
            "Print what this build of husk supports (runtime-spec features)",
            |c| c,
        ),
    ]
}

const fn sub<A: Args, const U: bool>(name: &'static str, about: &'static str) -> Sub {
    (name, about, args::<A, U>)
}

/// One subcommand's arguments, in a stack frame of its own.
#[inline(never)]
fn args<A: Args, const U: bool>(cmd: clap::Command) -> clap::Command {
    if U {
        A::augment_args_for_update(cmd)
    } else {
        A::augment_args(cmd)
    }
}

fn add_subcommands<const U: bool>(mut cmd: clap::Command) -> clap::Command {
    for (name, about, add_args) in subcommands::<U>() {
        // As the derive: the one-paragraph doc comment is the about; no long_about.
        let sub = clap::Command::new(name).about(about).long_about(None);
        cmd = cmd.subcommand(sub.defer(add_args));
    }
    cmd
}

impl Subcommand for Command {
    fn augment_subcommands(cmd: clap::Command) -> clap::Command {
        add_subcommands::<false>(cmd)
    }
    fn augment_subcommands_for_update(cmd: clap::Command) -> clap::Command {
        add_subcommands::<true>(cmd)
    }
    fn has_subcommand(name: &str) -> bool {
        subcommands::<false>().iter().any(|s| s.0 == name)
    }
}

impl FromArgMatches for Command {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        Self::from_arg_matches_mut(&mut matches.clone())
    }
    fn from_arg_matches_mut(matches: &mut ArgMatches) -> Result<Self, clap::Error> {
        let Some((name, mut sub)) = matches.remove_subcommand() else {
            let msg = "a subcommand is required but one was not provided";
            return Err(clap::Error::raw(ErrorKind::MissingSubcommand, msg));
        };
        let m = &mut sub;
        Ok(match name.as_str() {
            "create" => Self::Create(FromArgMatches::from_arg_matches_mut(m)?),
            "start" => Self::Start(FromArgMatches::from_arg_matches_mut(m)?),
            "state" => Self::State(FromArgMatches::from_arg_matches_mut(m)?),
            "kill" => Self::Kill(FromArgMatches::from_arg_matches_mut(m)?),
            "delete" => Self::Delete(FromArgMatches::from_arg_matches_mut(m)?),
            "run" => Self::Run(FromArgMatches::from_arg_matches_mut(m)?),
            "list" => Self::List(FromArgMatches::from_arg_matches_mut(m)?),
            "update" => Self::Update(FromArgMatches::from_arg_matches_mut(m)?),
            "pause" => Self::Pause(FromArgMatches::from_arg_matches_mut(m)?),
            "resume" => Self::Resume(FromArgMatches::from_arg_matches_mut(m)?),
            "ps" => Self::Ps(FromArgMatches::from_arg_matches_mut(m)?),
            "events" => Self::Events(FromArgMatches::from_arg_matches_mut(m)?),
            "exec" => Self::Exec(FromArgMatches::from_arg_matches_mut(m)?),
            "inspect" => Self::Inspect(FromArgMatches::from_arg_matches_mut(m)?),
            "spec" => Self::Spec(FromArgMatches::from_arg_matches_mut(m)?),
            "features" => Self::Features,
            _ => {
                let msg = format!("the subcommand '{name}' wasn't recognized");
                return Err(clap::Error::raw(ErrorKind::InvalidSubcommand, msg));
            }
        })
    }
    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        self.update_from_arg_matches_mut(&mut matches.clone())
    }
    /// Simpler than the derive's (husk never updates a parsed command line):
    /// a subcommand on the command line replaces the whole value.
    fn update_from_arg_matches_mut(&mut self, matches: &mut ArgMatches) -> Result<(), clap::Error> {
        if matches.subcommand_name().is_some() {
            *self = Self::from_arg_matches_mut(matches)?;
        }
        Ok(())
    }
}

#[derive(Args, Debug, Clone)]
pub struct SpecArgs {
    /// Where to write config.json
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    /// A config for an unprivileged user (user namespace, caller mapped to root)
    #[arg(long)]
    pub rootless: bool,
}

#[derive(Args, Debug, Clone)]
pub struct EventsArgs {
    /// Print one stats event and exit
    #[arg(long)]
    pub stats: bool,
    /// Time between stats events (5s, 500ms, ...)
    #[arg(long, default_value = "5s")]
    pub interval: String,
    pub id: String,
}

#[derive(Args, Debug, Clone)]
pub struct PsArgs {
    #[arg(short, long, value_enum, default_value = "table")]
    pub format: PsFormat,
    pub id: String,
    /// Options for the host's ps (default -ef)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub ps_args: Vec<String>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PsFormat {
    Table,
    Json,
}

#[derive(Args, Debug, Clone)]
pub struct CreateArgs {
    /// Path to the bundle (config.json and rootfs)
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    /// Write the init's PID to this file
    #[arg(long)]
    pub pid_file: Option<PathBuf>,
    /// Unix socket that receives the terminal's master fd
    #[arg(long)]
    pub console_socket: Option<PathBuf>,
    /// Use MS_MOVE and chroot instead of pivot_root
    #[arg(long)]
    pub no_pivot: bool,
    /// Keep the caller's session keyring
    #[arg(long)]
    pub no_new_keyring: bool,
    /// Pass N extra fds (3 .. 3+N-1) to the container
    #[arg(long, default_value_t = 0)]
    pub preserve_fds: u32,
    /// Narrate each isolation step on stderr: --explain, --explain=json,
    /// or --explain=svg FILE for a timeline picture
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "text", value_name = "MODE")]
    pub explain: Option<String>,
    /// Rootless without a delegated cgroup: run without the config's
    /// cgroup limits instead of failing (as the annotation husk.cgroups=optional)
    #[arg(long)]
    pub cgroups_optional: bool,
    pub id: String,
}

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    #[command(flatten)]
    pub create: CreateArgs,
    /// Return once the container has started
    #[arg(short, long)]
    pub detach: bool,
    /// Keep the container's state after it exits
    #[arg(long)]
    pub keep: bool,
}

#[derive(Args, Debug, Clone)]
pub struct IdArg {
    pub id: String,
}

#[derive(Args, Debug, Clone)]
pub struct KillArgs {
    /// Signal every process in the container, not only its init
    #[arg(short, long)]
    pub all: bool,
    pub id: String,
    /// Signal name (KILL, SIGKILL) or number
    #[arg(default_value = "SIGTERM")]
    pub signal: String,
}

#[derive(Args, Debug, Clone)]
pub struct DeleteArgs {
    /// Kill the container first if it is still running
    #[arg(short, long)]
    pub force: bool,
    pub id: String,
}

#[derive(Args, Debug, Clone)]
pub struct ListArgs {
    #[arg(short, long, value_enum, default_value = "table")]
    pub format: ListFormat,
    /// Only print IDs
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListFormat {
    Table,
    Json,
}

#[derive(Args, Debug, Clone)]
pub struct UpdateArgs {
    /// Resources JSON (linux.resources) from a file, or - for stdin
    #[arg(short, long)]
    pub resources: Option<String>,
    /// Memory limit (e.g. 512m, 1G; -1 for none)
    #[arg(long)]
    pub memory: Option<String>,
    /// Memory plus swap limit
    #[arg(long)]
    pub memory_swap: Option<String>,
    /// Memory soft limit
    #[arg(long)]
    pub memory_reservation: Option<String>,
    /// CPU shares (relative weight)
    #[arg(long, alias = "cpu-shares")]
    pub cpu_share: Option<u64>,
    /// CPU CFS quota in microseconds (-1 for none)
    #[arg(long, allow_negative_numbers = true)]
    pub cpu_quota: Option<i64>,
    /// CPU CFS period in microseconds
    #[arg(long)]
    pub cpu_period: Option<u64>,
    /// CPU burst in microseconds
    #[arg(long)]
    pub cpu_burst: Option<u64>,
    /// Realtime period in microseconds (cgroup v1)
    #[arg(long)]
    pub cpu_rt_period: Option<u64>,
    /// Realtime runtime in microseconds (cgroup v1)
    #[arg(long, allow_negative_numbers = true)]
    pub cpu_rt_runtime: Option<i64>,
    /// CPUs to run on (e.g. 0-1)
    #[arg(long)]
    pub cpuset_cpus: Option<String>,
    /// Memory nodes to use
    #[arg(long)]
    pub cpuset_mems: Option<String>,
    /// Maximum number of processes (-1 for none)
    #[arg(long, allow_negative_numbers = true)]
    pub pids_limit: Option<i64>,
    /// Block IO weight (10-1000)
    #[arg(long)]
    pub blkio_weight: Option<u16>,
    pub id: String,
}

#[derive(Args, Debug, Clone)]
pub struct ExecArgs {
    /// A runtime-spec process object (JSON) to run
    #[arg(short, long)]
    pub process: Option<String>,
    /// Allocate a terminal (not supported yet)
    #[arg(short, long)]
    pub tty: bool,
    /// Unix socket that receives the terminal's master fd
    #[arg(long)]
    pub console_socket: Option<PathBuf>,
    /// Return once the process has started
    #[arg(short, long)]
    pub detach: bool,
    /// Write the process's host PID to this file
    #[arg(long)]
    pub pid_file: Option<PathBuf>,
    /// Working directory inside the container
    #[arg(long)]
    pub cwd: Option<String>,
    /// Set an environment variable (KEY=VALUE); repeatable
    #[arg(short, long)]
    pub env: Vec<String>,
    /// UID[:GID] to run as
    #[arg(short, long)]
    pub user: Option<String>,
    /// Extra group; repeatable
    #[arg(short = 'g', long)]
    pub additional_gids: Vec<u32>,
    /// Add a capability; repeatable
    #[arg(short, long)]
    pub cap: Vec<String>,
    /// Set no_new_privs for the process
    #[arg(long)]
    pub no_new_privs: bool,
    /// Run the process under this AppArmor profile (default: the container's)
    #[arg(long, value_name = "PROFILE")]
    pub apparmor: Option<String>,
    /// Run the process with this SELinux label (default: the container's)
    #[arg(long, value_name = "LABEL")]
    pub process_label: Option<String>,
    /// Pass N extra fds (3 .. 3+N-1)
    #[arg(long, default_value_t = 0)]
    pub preserve_fds: u32,
    /// Exec even if the container is paused
    #[arg(long)]
    pub ignore_paused: bool,
    /// Run in an existing sub-cgroup: [CONTROLLER[,CONTROLLER]:]PATH; repeatable
    #[arg(long = "cgroup", value_name = "[CTRL:]PATH")]
    pub cgroup: Vec<String>,
    pub id: String,
    /// The command and its arguments
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

#[derive(Args, Debug, Clone)]
pub struct InspectArgs {
    #[arg(short, long, value_enum, default_value = "table")]
    pub format: ListFormat,
    pub id: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        let m = Cli::command().try_get_matches_from(args)?;
        Cli::from_arg_matches(&m)
    }

    #[test]
    fn each_subcommand_parses_to_its_variant() {
        Cli::command().debug_assert();
        let mut names = Vec::new();
        for (name, _, _) in subcommands::<false>() {
            assert!(Command::has_subcommand(name));
            let argv: &[&str] = match name {
                "features" | "list" | "spec" => &["husk", name],
                "exec" => &["husk", name, "c1", "true"],
                _ => &["husk", name, "c1"],
            };
            let cli = parse(argv).unwrap_or_else(|e| panic!("{name}: {e}"));
            // The variant's name, lowercased, is the subcommand's.
            let debug = format!("{:?}", cli.command).to_lowercase();
            assert!(debug.starts_with(name), "{name} parsed as {debug}");
            names.push(name);
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 16, "a name appears twice");
        assert!(!Command::has_subcommand("stat"));
    }

    #[test]
    fn arguments_reach_the_args() {
        let cli = parse(&[
            "husk", "--root", "/r", "exec", "-e", "A=1", "c1", "ls", "-l",
        ])
        .unwrap();
        assert_eq!(cli.global.root, PathBuf::from("/r"));
        let Command::Exec(a) = cli.command else {
            panic!("{:?}", cli.command)
        };
        assert_eq!(
            (a.id.as_str(), a.env, a.command),
            ("c1", vec!["A=1".into()], vec!["ls".into(), "-l".into()])
        );
        let cli = parse(&["husk", "run", "-d", "--explain", "c1"]).unwrap();
        let Command::Run(a) = cli.command else {
            panic!("{:?}", cli.command)
        };
        assert!(a.detach);
        assert_eq!(a.create.explain.as_deref(), Some("text"));
    }

    #[test]
    fn missing_or_unknown_subcommand_is_a_clap_error() {
        let m = clap::Command::new("x").get_matches_from(["x"]);
        let e = Command::from_arg_matches(&m).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::MissingSubcommand);
        let m = clap::Command::new("x")
            .subcommand(clap::Command::new("bogus"))
            .get_matches_from(["x", "bogus"]);
        let e = Command::from_arg_matches(&m).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidSubcommand);
        let e = parse(&["husk", "stat", "c1"]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidSubcommand);
    }
}
