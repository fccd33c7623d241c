//! The command line, flag for flag compatible with runc's, so that conmon
//! and containerd's shim can call husk exactly as they call runc.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

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
    /// Use systemd to manage cgroups (not supported yet; refused by create)
    #[arg(long, global = true)]
    pub systemd_cgroup: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a container and leave it waiting for start
    Create(CreateArgs),
    /// Start a created container
    Start(IdArg),
    /// Print the state of a container as JSON
    State(IdArg),
    /// Send a signal to the container's init (or all its processes)
    Kill(KillArgs),
    /// Delete a container and everything husk made for it
    Delete(DeleteArgs),
    /// Create, start and wait for a container
    Run(RunArgs),
    /// List containers
    List(ListArgs),
    /// Change the resource limits of a running container
    Update(UpdateArgs),
    /// Freeze every process in the container
    Pause(IdArg),
    /// Thaw a paused container
    Resume(IdArg),
    /// List the container's processes
    Ps(PsArgs),
    /// Stream resource usage and OOM events as JSON lines
    Events(EventsArgs),
    /// Run a new process in a running container
    Exec(ExecArgs),
    /// The host's view of a running container: PIDs, namespaces, cgroup,
    /// capabilities, seccomp, id maps, mounts
    Inspect(InspectArgs),
    /// Write a default config.json
    Spec(SpecArgs),
    /// Print what this build of husk supports (runtime-spec features)
    Features,
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
