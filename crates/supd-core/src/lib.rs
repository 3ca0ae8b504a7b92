//! supd's policy as a pure transition function.
//!
//! # Theory of operation
//! The daemon turns everything that happens — a child exited, a timer fired, `supctl` asked
//! for a restart, SIGTERM arrived — into an [`Input`], and hands it to [`step`] together with
//! the current time. `step` updates the [`State`] and answers with the [`Effect`]s to carry
//! out: spawn this program, signal that process group, set this timer, reply to that request,
//! exit. Results of effects come back later as new inputs (`Spawned`, `Exited`, `Timer`...).
//!
//! This crate owns every *decision*: the per-program state machine, the restart and backoff
//! rules, dependency order at start and at shutdown, when a stop escalates to SIGKILL, when
//! supd may exit and with which code. It does no I/O, reads no clock and knows nothing of
//! tokio, so every rule is unit-tested with plain values (see `tests/`).
//!
//! # Guarantees
//! - Time only moves through the `now` argument; timers are requested as effects and carry
//!   the program's run number, so a timer from an earlier run is ignored.
//! - A pid is attached to its program in the same step that learns it (`Spawned`); an exit
//!   for an unknown pid is an adopted orphan and changes nothing.
//! - Every `start`/`stop`/`restart` request gets exactly one reply, when each named program
//!   has reached its goal or failed to.
//! - During shutdown nothing is started or restarted; supd exits only once the daemon has
//!   reported that no child is left.
//!
//! # Program lifecycle
//! ```text
//!            start                spawned, min_uptime passes
//! stopped ──────────► starting ─────────────────────────────► running
//!   ▲                  │   ▲ exit before min_uptime              │ exit after min_uptime:
//!   │                  ▼   │ (failed start)                      │ restarted at once
//!   │               backoff ─► fatal (start_retries exhausted)   │ (restart policy permitting)
//!   │   stop                                                     ▼
//!   └────────── stopping ◄──────────────────────────────────── stop
//! ```
//! A program whose exit is not restarted ends `exited` (success) or `fatal` (failure).
//! A program waiting for its dependencies is `starting` without a pid.

mod machine;
mod readiness;
mod reload;
mod requests;
mod shutdown;
mod state;
mod types;

pub use machine::human as human_duration;
pub use state::{Health, Program, State};
pub use supd_proto::ProgramState;
pub use types::{Action, Effect, ExitStatus, Input, Outcome, ProgId, ReqId, SpawnRetry, Timer};

use std::time::Duration;

/// The transition function: apply `input` at time `now` (time since supd started) and return
/// what must be done, in order.
pub fn step(state: &mut State, input: Input, now: Duration) -> Vec<Effect> {
    let mut cx = machine::Cx::new(state, now);
    cx.handle(input);
    cx.finish()
}
