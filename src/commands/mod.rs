//! One file per subcommand; each is thin and leans on container/ and spawn/.

mod create;
mod delete;
mod events;
mod exec;
mod features;
mod inspect;
mod kill;
mod list;
mod pause;
mod ps;
mod relay;
mod run;
mod spec;
mod start;
mod state;
mod update;

use crate::cli::{Cli, Command};
use crate::error::Result;

/// println! for command output: a reader that went away (`husk list |
/// head`) is not an error, and must not panic (Rust ignores SIGPIPE).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        match writeln!(out, $($arg)*) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
            r => r?,
        }
    }};
}
pub(crate) use say;

/// Run the command; Ok carries the exit code.
pub fn dispatch(cli: &Cli) -> Result<i32> {
    let g = &cli.global;
    match &cli.command {
        Command::Create(a) => create::run(g, a).map(|_| 0),
        Command::Start(a) => start::run(g, &a.id).map(|_| 0),
        Command::State(a) => state::run(g, &a.id).map(|_| 0),
        Command::Kill(a) => kill::run(g, a).map(|_| 0),
        Command::Delete(a) => delete::run(g, a).map(|_| 0),
        Command::Run(a) => run::run(g, a),
        Command::List(a) => list::run(g, a).map(|_| 0),
        Command::Update(a) => update::run(g, a).map(|_| 0),
        Command::Pause(a) => pause::pause(g, &a.id).map(|_| 0),
        Command::Resume(a) => pause::resume(g, &a.id).map(|_| 0),
        Command::Ps(a) => ps::run(g, a).map(|_| 0),
        Command::Events(a) => events::run(g, a).map(|_| 0),
        Command::Exec(a) => exec::run(g, a),
        Command::Inspect(a) => inspect::run(g, a).map(|_| 0),
        Command::Spec(a) => spec::run(g, a).map(|_| 0),
        Command::Features => features::run().map(|_| 0),
    }
}
