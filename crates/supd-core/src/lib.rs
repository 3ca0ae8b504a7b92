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
//! supd may exit and with which code. It does no I/O, reads no clock, knows nothing of
//! tokio and makes no text: every cause, log line, notice and answer is a typed value
//! ([`why`]) that the daemon words. So every rule is tested with plain values (see
//! `tests/`, including property tests that drive it with random inputs).
//!
//! Each program's state is one [`Life`] value that carries the data of that state (the pid
//! only while there is a process, the run number only while a run is in flight, what
//! follows a stop only while stopping), so an impossible combination cannot be built. The
//! wire's [`ProgramState`] is derived from it ([`Life::state`]).
//!
//! The modules, in the order a step goes through them:
//! - [`types`]: the interface — [`Input`], [`Effect`], [`Timer`];
//! - `state`: the data — [`State`], [`Program`], [`Life`];
//! - `machine`: dispatch — which module handles which input, and the end of every step;
//! - `lifecycle`: start (dependencies first), spawn results, exits, restart and backoff,
//!   stop, file changes, the timers of a run;
//! - `readiness`: when `starting` becomes `running`; health checks; sd_notify;
//! - `overlap`: restarts, start-first ones included (the new run beside the old one);
//! - `requests`: `start`/`stop`/`restart`/`upgrade`/`signal`/`wait` and their replies;
//! - `reload`: a re-read config applied as a difference;
//! - `shutdown`: the stop order, leftover descendants, the exit;
//! - [`why`]: causes, changes, notices and outcomes as data.
//!
//! # Guarantees
//! - Time only moves through the `now` argument; timers are requested as effects and carry
//!   the program's run number, so a timer from an earlier run is ignored.
//! - A pid is attached to its program in the same step that learns it (`Spawned`); an exit
//!   for an unknown pid is an adopted orphan and changes nothing.
//! - Every request gets exactly one reply, when each named program has reached its goal or
//!   failed to.
//! - During shutdown nothing is started or restarted; supd exits only once the daemon has
//!   reported that no child is left.
//!
//! # Program lifecycle
//! ```text
//!           start            deps up            spawned              settled + ready
//! stopped ────────► waiting ─────────► spawning ────────► starting ─────────────────► running
//!  ▲   ▲              │  (deps up already:   ▲                │ exit before up          │
//!  │   └─ dependency ─┘   straight there)    │ retry timer    ▼ (a failed start)        │
//!  │      failed                             └────────────── backoff ──► fatal         │
//!  │                                         (start_retries exhausted; cannot execute:  │
//!  │                                          fatal at once)                            │
//!  │ stop completes         stop (supctl, reload, file change, health, shutdown)        │
//!  └─────────────── stopping ◄───────────────────────────────────────────────────────────┘
//!                      │ then: nothing, start again (restart), or back off first (unhealthy)
//! ```
//! `starting` can be stopped like `running`; a program with no process (waiting, backing
//! off, exited, fatal) goes straight to `stopped`. An exit of a program that was up is first
//! `exited`; in the same step it is restarted at once (restart policy permitting: `spawning`
//! again), or stays `exited` (success) or goes `fatal` (failure). A oneshot that succeeds
//! stays `exited` and counts as up. On the wire, `waiting` and `spawning` are both
//! `starting`. docs/architecture.md has the same machine as a table.

mod lifecycle;
mod machine;
mod overlap;
mod readiness;
mod reload;
mod requests;
mod shutdown;
mod state;
pub mod types;
pub mod why;

pub use state::{Health, Leaving, Life, Predecessor, Program, State, Then};
pub use supd_proto::ProgramState;
pub use types::{Action, Effect, ExitStatus, Input, Outcome, ProgId, ReqId, SpawnRetry, Timer};
pub use why::{Change, Halt, Notice, OutcomeKind, ShutdownCause, UpBy, Why};

use std::time::Duration;

/// The transition function: apply `input` at time `now` (time since supd started) and return
/// what must be done, in order.
pub fn step(state: &mut State, input: Input, now: Duration) -> Vec<Effect> {
    let mut cx = machine::Cx::new(state, now);
    cx.handle(input);
    cx.finish()
}
