//! What the owner loop is woken by. Every source (signals, the control socket) turns what
//! happens into one of these and sends it down the single event queue.

use supd_proto::{Request, ServerMessage};
use tokio::sync::oneshot;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sig {
    Term,
    Int,
    Quit,
    Hup,
    Usr1,
    Chld,
}

#[derive(Debug)]
pub enum Event {
    /// A signal supd handles arrived (possibly several of the same kind, coalesced).
    Signal(Sig),
    /// A debounced burst of changes to files program `prog` watches (paths as the operator
    /// should read them).
    FilesChanged {
        prog: supd_core::ProgId,
        paths: Vec<String>,
    },
    /// A health check of run `run` of `prog` ended.
    ProbeResult {
        prog: supd_core::ProgId,
        run: u32,
        ok: bool,
        detail: String,
    },
    /// An sd_notify message from process `pid`, a member of process group `pgid`.
    Notify {
        pgid: i32,
        pid: i32,
        ready: bool,
        status: Option<String>,
    },
    /// The keeper died less than a restart interval after it was started: start it now.
    RestartKeeper,
    /// Every program's status and spec, for the HTTP interface (supervisord's view needs
    /// the spec's log files and groups next to the state).
    Inspect { reply: oneshot::Sender<Inspection> },
    /// What a reload would add, change and remove, without applying it (supervisord's
    /// `reloadConfig`); `Err` holds the config's problems, one per line.
    Reread {
        reply: oneshot::Sender<Result<ProgramDiff, String>>,
    },
    /// A client request that needs the owner; answered through `reply`.
    Control {
        id: u64,
        request: Request,
        reply: oneshot::Sender<ServerMessage>,
    },
}

/// What [`Event::Inspect`] answers: the programs (not those a reload removed), in config
/// order.
#[derive(Debug)]
pub struct Inspection {
    pub programs: Vec<Inspected>,
    pub shutting_down: bool,
}

#[derive(Debug)]
pub struct Inspected {
    pub status: supd_proto::ProgramStatus,
    pub spec: supd_config::ProgramSpec,
}

/// Program names a reload would add, change and remove.
#[derive(Debug, Default)]
pub struct ProgramDiff {
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
}
