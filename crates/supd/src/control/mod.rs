//! The control socket: where `supctl` talks to supd.
//!
//! This module owns the socket file (creation with the configured mode, refusing to steal a
//! live supd's socket, replacing a stale one, removal at exit) and the conversation of
//! `supd-proto` on each connection. It decides nothing: requests that touch programs become
//! [`Event::Control`]s for the owner loop; `logs` is served from the log plane directly.
//! A client that sends garbage gets one error line and is disconnected; a client that
//! disappears mid-request costs nothing but its task.
//!
//! Streams (`logs --follow`, `events`) are written whole lines at a time: a follower that
//! stops reading for [`FOLLOWER_PATIENCE`] (or falls too far behind the broadcast) is cut
//! off, and since its socket is full at that moment, supd keeps the rest of the line it was
//! writing, adds the error after it, and gives the client [`CUT_OFF_GRACE`] to read both
//! before hanging up. When supd exits, [`Streams::end`] has every stream send its last
//! lines and an `End`, within a bound that never holds up the exit for long.
//!
//! Who may talk is [`access`]'s decision (the peer's kernel credentials); how many may talk
//! at once is [`admission`]'s. A hostile or broken client costs a bounded amount: a request
//! line of at most [`MAX_REQUEST`] bytes, [`REQUEST_TIMEOUT`] to make it, [`REPLY_TIMEOUT`]
//! to take each answer, one of [`admission::MAX_CONNECTIONS`] places.

pub mod access;
mod admission;

use std::cell::Cell;
use std::io;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

use supd_config::SupdSpec;

use supd_proto::{
    ClientMessage, ErrorKind, ErrorReply, Hello, LogChunk, MAX_LINE, PROTOCOL_VERSION, Reply,
    Request, ServerMessage, Stream, decode, encode,
};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixListener;
use tokio::net::unix::OwnedWriteHalf;
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use crate::bulletin::Bulletin;
use crate::event::Event;
use crate::logplane::LogPlane;
use crate::logplane::ring::Record;
use crate::names::Names;

use access::{Access, Level, Peer};
use admission::{Admission, Admitted, Full};

/// A client must say hello and make its request within this time.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A client must take each answer (not a stream's: those have [`FOLLOWER_PATIENCE`]) within
/// this time, or it is hung up on.
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest line a client may send. The protocol allows [`MAX_LINE`] (supd's answers can
/// be that long); a request, even naming every program of a big config, is far shorter.
pub const MAX_REQUEST: usize = 64 * 1024;

/// The socket file, removed when dropped, and who may use it.
pub struct Socket {
    pub listener: Rc<UnixListener>,
    pub access: Rc<Access>,
    path: PathBuf,
}

impl Drop for Socket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Why the socket could not be set up, as one sentence.
#[derive(Debug)]
pub struct BindError(pub String);

/// Creates the control socket of `spec` (`socket`, with `socket_mode`, given to
/// `socket_group`).
///
/// A socket file left by a supd that is gone is replaced; a socket that answers belongs to a
/// running supd, and is left alone.
pub fn bind(spec: &SupdSpec) -> Result<Socket, BindError> {
    let (path, mode) = (spec.socket.as_path(), spec.socket_mode);
    let access = Access::from_spec(spec, &supd_sys::users::UserDb::system())
        .map_err(|e| BindError(e.to_string()))?;
    let shown = path.display();
    let std_listener = create_socket_file(path, "control socket", "[supd] socket")?;
    let socket = Socket {
        listener: Rc::new(
            listen(std_listener)
                .map_err(|e| BindError(format!("cannot listen on {shown}: {e}")))?,
        ),
        access: Rc::new(access),
        path: path.to_path_buf(),
    };
    if let Some(gid) = socket.access.socket_gid() {
        nix::unistd::chown(path, None, Some(nix::unistd::Gid::from_raw(gid))).map_err(|e| {
            BindError(format!(
                "cannot give control socket {shown} to socket_group {gid}: {} (supd can only \
                 give it to a group it is in, unless it runs as root)",
                e.desc()
            ))
        })?;
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|e| {
        BindError(format!(
            "cannot set mode {mode:o} on control socket {shown}: {}",
            supd_sys::describe(&e)
        ))
    })?;
    Ok(socket)
}

/// Creates the socket file `path` (the `what` of messages: "control socket"; `key`, the
/// config key that sets it), owner-only
/// until its caller opens it up, so no one can connect in between. A socket file left by a
/// supd that is gone is replaced; one that answers belongs to a running supd, and is left
/// alone.
pub fn create_socket_file(
    path: &Path,
    what: &str,
    key: &str,
) -> Result<std::os::unix::net::UnixListener, BindError> {
    let shown = path.display();
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            match std::os::unix::net::UnixStream::connect(path) {
                Ok(_) => {
                    return Err(BindError(format!(
                        "another supd is already running with {what} {shown} (stop it, or \
                         set {key} to another path)"
                    )));
                }
                Err(_) => {
                    // Nobody listens: a stale socket from a supd that died.
                    std::fs::remove_file(path).map_err(|e| {
                        BindError(format!(
                            "cannot remove stale {what} {shown}: {}",
                            supd_sys::describe(&e)
                        ))
                    })?;
                }
            }
        }
        Ok(_) => {
            return Err(BindError(format!(
                "cannot create {what} {shown}: a file that is not a socket is in the way"
            )));
        }
        Err(_) => {}
    }
    let old = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o177));
    let bound = std::os::unix::net::UnixListener::bind(path);
    nix::sys::stat::umask(old);
    bound.map_err(|e| {
        let why = match e.kind() {
            io::ErrorKind::NotFound => format!(
                "directory {} does not exist",
                path.parent().unwrap_or(Path::new(".")).display()
            ),
            _ => supd_sys::describe(&e),
        };
        BindError(format!("cannot create {what} {shown}: {why}"))
    })
}

/// Creates the socket file `path` as [`create_socket_file`] does, then gives it to `owner`
/// (resolved now) and sets its `mode`: a unix socket of `[supd.http] listen` or of a
/// program's `sockets`.
pub fn create_socket_file_for(
    path: &Path,
    what: &str,
    key: &str,
    mode: u32,
    owner: Option<&supd_config::UserSpec>,
) -> Result<std::os::unix::net::UnixListener, BindError> {
    let listener = create_socket_file(path, what, key)?;
    // A file this fails to set up is not left behind.
    let remove = |e: BindError| {
        let _ = std::fs::remove_file(path);
        e
    };
    set_socket_file_access(path, what, mode, owner).map_err(remove)?;
    Ok(listener)
}

/// Gives the socket file `path` (the `what` of messages) to `owner` and sets its `mode`.
pub fn set_socket_file_access(
    path: &Path,
    what: &str,
    mode: u32,
    owner: Option<&supd_config::UserSpec>,
) -> Result<(), BindError> {
    let shown = path.display();
    if let Some(owner) = owner {
        let db = supd_sys::users::UserDb::system();
        let id = db
            .resolve(&who(&owner.user), owner.group.as_ref().map(who).as_ref())
            .map_err(|e| BindError(format!("{what} {shown}: owner: {e}")))?;
        nix::unistd::chown(
            path,
            Some(nix::unistd::Uid::from_raw(id.uid)),
            Some(nix::unistd::Gid::from_raw(id.gid)),
        )
        .map_err(|e| {
            BindError(format!(
                "cannot give {what} {shown} to its owner: {}",
                e.desc()
            ))
        })?;
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|e| {
        BindError(format!(
            "cannot set mode {mode:o} on {what} {shown}: {}",
            supd_sys::describe(&e)
        ))
    })
}

fn who(id: &supd_config::IdRef) -> supd_sys::users::Who {
    match id {
        supd_config::IdRef::Name(n) => supd_sys::users::Who::Name(n.clone()),
        supd_config::IdRef::Id(n) => supd_sys::users::Who::Id(*n),
    }
}

/// Why binding a TCP address failed, in words.
pub fn bind_reason(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::AddrInUse => "the address is already in use".into(),
        _ => supd_sys::describe(e),
    }
}

fn listen(l: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
    l.set_nonblocking(true)?;
    UnixListener::from_std(l)
}

/// supd's exit as the stream conversations see it: each one follows until it is told,
/// then sends what is still queued for it and an `End`.
pub struct Streams {
    exiting: watch::Sender<bool>,
}

impl Streams {
    pub fn new() -> Rc<Streams> {
        Rc::new(Streams {
            exiting: watch::Sender::new(false),
        })
    }

    /// Held by a stream for as long as it runs.
    pub fn watch(&self) -> watch::Receiver<bool> {
        self.exiting.subscribe()
    }

    /// Tells every stream that supd is exiting and waits until each has sent its `End` and
    /// hung up, or `within` has passed; false when some had not by then.
    pub async fn end(&self, within: Duration) -> bool {
        self.exiting.send_replace(true);
        tokio::time::timeout(within, self.exiting.closed())
            .await
            .is_ok()
    }
}

/// What every conversation shares.
pub struct Served {
    pub events: mpsc::UnboundedSender<Event>,
    pub plane: Rc<LogPlane>,
    pub names: Rc<Names>,
    pub bulletin: Rc<Bulletin>,
    pub streams: Rc<Streams>,
    /// Programs' CPU and memory, read when a status asks for `resources`.
    pub usage: crate::usage::Sampler,
}

impl Served {
    /// Hands `request` to the owner and waits for its answer: what every client of supd
    /// (supctl here, the HTTP interface) asks goes through this.
    pub async fn ask(&self, id: u64, request: Request) -> ServerMessage {
        let exiting = || ServerMessage::Error {
            id: Some(id),
            error: ErrorReply {
                kind: ErrorKind::Refused,
                message: "supd is exiting".into(),
            },
        };
        let resources = matches!(
            request,
            Request::Status {
                resources: true,
                ..
            }
        );
        let (tx, rx) = oneshot::channel();
        let event = Event::Control {
            id,
            request,
            reply: tx,
        };
        if self.events.send(event).is_err() {
            return exiting();
        }
        // The owner answers every request; a dropped sender means supd is exiting.
        let mut answer = rx.await.unwrap_or_else(|_| exiting());
        if resources
            && let ServerMessage::Reply {
                reply: Reply::Status { programs },
                ..
            } = &mut answer
        {
            self.usage.fill(programs);
        }
        answer
    }

    /// What a reload would change, from the owner; `None` when supd is exiting.
    pub async fn reread(&self) -> Option<Result<crate::event::ProgramDiff, String>> {
        let (reply, rx) = oneshot::channel();
        self.events.send(Event::Reread { reply }).ok()?;
        rx.await.ok()
    }

    /// Every program's status and spec, from the owner; `None` when supd is exiting.
    pub async fn inspect(&self) -> Option<crate::event::Inspection> {
        let (reply, rx) = oneshot::channel();
        self.events.send(Event::Inspect { reply }).ok()?;
        rx.await.ok()
    }
}

/// Accepts connections until the listener is dropped.
pub async fn serve(listener: Rc<UnixListener>, access: Rc<Access>, served: Rc<Served>) {
    let admission = Admission::new();
    let crowded = Rc::new(Throttle::default());
    let refused = Rc::new(Throttle::default());
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // EMFILE and friends: say so, back off a little, keep serving.
                crowded.note(|more| {
                    tracing::warn!("control socket: cannot accept a connection: {e}{more}")
                });
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let ticket = match admission.admit() {
            Ok(Admitted::Room(ticket)) => ticket,
            Ok(Admitted::Evicted(ticket)) => {
                crowded.note(|more| {
                    tracing::warn!(
                        "control socket: {} connections open; closed the oldest that had not \
                         made a request{more}",
                        admission::MAX_CONNECTIONS
                    )
                });
                ticket
            }
            Err(Full) => {
                crowded.note(|more| {
                    tracing::warn!(
                        "control socket: refused a connection: all {} are busy{more}",
                        admission::MAX_CONNECTIONS
                    )
                });
                let busy = error_line(
                    None,
                    ErrorKind::Refused,
                    format!(
                        "supd is busy: {} connections are open and busy; try again",
                        admission::MAX_CONNECTIONS
                    ),
                );
                // Best effort, never waiting: an empty socket buffer takes a line.
                let _ = stream.try_write(&busy);
                continue;
            }
        };
        let peer = match stream.peer_cred() {
            Ok(cred) => Peer {
                uid: cred.uid(),
                gid: cred.gid(),
                pid: cred.pid().filter(|&pid| pid > 0),
            },
            // Cannot happen on a connected Unix socket; nobody gets in unidentified.
            Err(_) => continue,
        };
        let conn = Conn {
            level: access.level(&peer),
            peer,
            access: access.clone(),
            refused: refused.clone(),
            served: served.clone(),
        };
        tokio::task::spawn_local(conn.run(stream, ticket));
    }
}

/// Rate-limited logging of what a hostile client can make happen any number of times: at
/// most [`Throttle::LINES`] lines a second; the first line after a quieter spell counts the
/// ones that were left out.
#[derive(Default)]
struct Throttle {
    /// Start of the current one-second window, and lines logged in it.
    window: Cell<Option<(Instant, u32)>>,
    suppressed: Cell<u64>,
}

impl Throttle {
    const LINES: u32 = 10;

    /// Calls `log` with a suffix (`" (and 12 more like it not logged)"` or empty), unless
    /// this second's lines are used up.
    fn note(&self, log: impl FnOnce(&str)) {
        let now = Instant::now();
        let (start, logged) = match self.window.get() {
            Some((start, logged)) if now.duration_since(start) < Duration::from_secs(1) => {
                (start, logged)
            }
            _ => (now, 0),
        };
        if logged >= Self::LINES {
            self.suppressed.set(self.suppressed.get() + 1);
            return;
        }
        self.window.set(Some((start, logged + 1)));
        match self.suppressed.replace(0) {
            0 => log(""),
            n => log(&format!(" (and {n} more like it not logged)")),
        }
    }
}

struct Conn {
    peer: Peer,
    level: Level,
    access: Rc<Access>,
    refused: Rc<Throttle>,
    served: Rc<Served>,
}

/// What ended a conversation early; the client is told when it can still listen.
enum Abort {
    /// Tell the client this, then hang up.
    Tell(Option<u64>, ErrorKind, String),
    /// The client left or the socket broke: nothing to say.
    Gone,
}

impl Conn {
    async fn run(self, stream: tokio::net::UnixStream, mut ticket: admission::Ticket) {
        let (read, mut write) = stream.into_split();
        let mut read = BufReader::new(read);
        let opened = tokio::select! {
            opened = tokio::time::timeout(REQUEST_TIMEOUT, self.open(&mut read, &mut write)) => opened,
            // Closed to make room for a newer connection: nothing is owed to it.
            () = ticket.evicted() => return,
        };
        let result = match opened {
            Ok(Ok((id, request))) => {
                ticket.spoke();
                self.answer(id, request, &mut write, &mut read).await
            }
            Ok(Err(abort)) => Err(abort),
            Err(_) => Err(Abort::Tell(
                None,
                ErrorKind::BadRequest,
                format!("no request within {}s", REQUEST_TIMEOUT.as_secs()),
            )),
        };
        if let Err(Abort::Tell(id, kind, message)) = result {
            if kind == ErrorKind::PermissionDenied {
                // The message names the peer's uid and pid.
                self.refused
                    .note(|more| tracing::warn!("control socket: refused: {message}{more}"));
            }
            let line = error_line(id, kind, message);
            let _ = tokio::time::timeout(REPLY_TIMEOUT, write.write_all(&line)).await;
        }
    }

    /// The hello exchange and the request.
    async fn open(
        &self,
        read: &mut BufReader<tokio::net::unix::OwnedReadHalf>,
        write: &mut OwnedWriteHalf,
    ) -> Result<(u64, Request), Abort> {
        match read_message(read).await? {
            // Whoever may do nothing learns nothing, not even supd's version.
            ClientMessage::Hello(_) if self.level == Level::Nothing => {
                return Err(Abort::Tell(
                    None,
                    ErrorKind::PermissionDenied,
                    self.access.refusal(&self.peer),
                ));
            }
            ClientMessage::Hello(hello) if hello.protocol == PROTOCOL_VERSION => {}
            ClientMessage::Hello(hello) => {
                return Err(Abort::Tell(
                    None,
                    ErrorKind::Protocol,
                    format!(
                        "protocol version {} is not supported by this supd (it speaks {PROTOCOL_VERSION}); use the supctl that came with it",
                        hello.protocol
                    ),
                ));
            }
            ClientMessage::Request { id, .. } => {
                return Err(Abort::Tell(
                    Some(id),
                    ErrorKind::Protocol,
                    "a request before hello: send hello first".into(),
                ));
            }
        }
        let hello = ServerMessage::Hello(Hello {
            protocol: PROTOCOL_VERSION,
            software: format!("supd {}", env!("CARGO_PKG_VERSION")),
            pid: Some(std::process::id()),
        });
        send(write, &hello).await?;
        match read_message(read).await? {
            ClientMessage::Request { id, request } => Ok((id, request)),
            ClientMessage::Hello(_) => Err(Abort::Tell(
                None,
                ErrorKind::Protocol,
                "hello sent twice".into(),
            )),
        }
    }

    async fn answer(
        &self,
        id: u64,
        request: Request,
        write: &mut OwnedWriteHalf,
        read: &mut BufReader<tokio::net::unix::OwnedReadHalf>,
    ) -> Result<(), Abort> {
        if self.level != Level::Everything && !access::only_looks(&request) {
            return Err(Abort::Tell(
                Some(id),
                ErrorKind::PermissionDenied,
                self.access.read_only_refusal(&self.peer, &request),
            ));
        }
        match &request {
            Request::Logs {
                names,
                lines,
                follow,
                since_ms,
                stream,
            } => {
                let filter = LogFilter {
                    since: since_ms.map(|ms| std::time::UNIX_EPOCH + Duration::from_millis(ms)),
                    stream: *stream,
                };
                return self
                    .logs(id, names, *lines, *follow, filter, write, read)
                    .await;
            }
            Request::Events { names } => return self.events(id, names, write, read).await,
            _ => {}
        }
        let shutdown = request == Request::Shutdown;
        let answer = self.served.ask(id, request).await;
        send(write, &answer).await?;
        if shutdown {
            // Hold the connection until supd exits (its tasks are dropped then), so the
            // client can wait for the end of the shutdown by waiting for end of file.
            std::future::pending::<()>().await;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn logs(
        &self,
        id: u64,
        names: &[String],
        lines: Option<usize>,
        follow: bool,
        filter: LogFilter,
        write: &mut OwnedWriteHalf,
        read: &mut BufReader<tokio::net::unix::OwnedReadHalf>,
    ) -> Result<(), Abort> {
        let progs = self
            .served
            .names
            .resolve(names, true)
            .map_err(|message| Abort::Tell(Some(id), ErrorKind::UnknownProgram, message))?;
        // Subscribe before reading the backlog, so nothing falls between the two.
        let mut live = follow.then(|| (self.served.plane.follow(), self.served.streams.watch()));
        let keep = |r: &Record| progs.contains(&r.prog) && filter.keeps(r);
        let backlog = self.served.plane.tail(&progs, lines.unwrap_or(100), keep);
        let mut last = self.served.plane.last_seq();
        let mut out = Follower::new(write);
        // Ok: the stream ran its course; Err: it ended early. Either way, that is how it ends.
        let sent = async {
            for (record, bytes) in backlog {
                self.send_chunk(id, &mut out, &record, &bytes).await?;
            }
            let Some((live, exiting)) = live.as_mut() else {
                return Ok(Ending::Done);
            };
            let mut eof = [0u8; 1];
            loop {
                tokio::select! {
                    // What is queued goes out before the End of an exiting supd.
                    biased;
                    got = live.recv() => match got {
                        Ok(record) => {
                            if record.seq <= last || !keep(&record) {
                                continue;
                            }
                            last = record.seq;
                            self.send_chunk(id, &mut out, &record, &record.text()).await?;
                        }
                        Err(broadcast::error::RecvError::Lagged(n)) => {
                            return Err(Ending::CutOff(format!(
                                "cut off: this follower fell behind ({n} chunks of output missed)"
                            )));
                        }
                        Err(broadcast::error::RecvError::Closed) => return Ok(Ending::Done),
                    },
                    _ = exiting.wait_for(|&exiting| exiting) => return Ok(Ending::Done),
                    // The client hung up (or wrote something): stop following.
                    _ = read.read(&mut eof) => return Err(Ending::Gone),
                }
            }
        }
        .await;
        let (Ok(ending) | Err(ending)) = sent;
        out.end(id, ending).await
    }

    async fn events(
        &self,
        id: u64,
        names: &[String],
        write: &mut OwnedWriteHalf,
        read: &mut BufReader<tokio::net::unix::OwnedReadHalf>,
    ) -> Result<(), Abort> {
        // The programs named now; no names: every program, also those a reload adds.
        let wanted: Option<Vec<String>> = if names.is_empty() {
            None
        } else {
            let progs = self
                .served
                .names
                .resolve(names, false)
                .map_err(|message| Abort::Tell(Some(id), ErrorKind::UnknownProgram, message))?;
            Some(
                progs
                    .into_iter()
                    .map(|p| self.served.names.name(p))
                    .collect(),
            )
        };
        let mut live = self.served.bulletin.subscribe();
        let mut exiting = self.served.streams.watch();
        let mut out = Follower::new(write);
        let mut eof = [0u8; 1];
        let ending = loop {
            tokio::select! {
                biased;
                got = live.recv() => match got {
                    Ok(event) => {
                        if wanted.as_ref().is_some_and(|w| !w.contains(&event.program)) {
                            continue;
                        }
                        let msg = ServerMessage::Event { id, event: (*event).clone() };
                        if let Err(ending) = out.send(&msg).await {
                            break ending;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        break Ending::CutOff(format!(
                            "cut off: this follower fell behind ({n} events missed)"
                        ));
                    }
                    Err(broadcast::error::RecvError::Closed) => break Ending::Done,
                },
                _ = exiting.wait_for(|&exiting| exiting) => break Ending::Done,
                _ = read.read(&mut eof) => break Ending::Gone,
            }
        };
        out.end(id, ending).await
    }

    async fn send_chunk(
        &self,
        id: u64,
        out: &mut Follower<'_>,
        record: &Record,
        bytes: &[u8],
    ) -> Result<(), Ending> {
        let ts_ms = record
            .at
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        // Stay well below the protocol's line limit even after JSON escaping.
        for piece in split_lines(bytes, MAX_LINE / 8) {
            let chunk = LogChunk {
                program: self.served.names.name(record.prog),
                stream: record.stream,
                ts_ms,
                text: String::from_utf8_lossy(piece).into_owned(),
            };
            out.send(&ServerMessage::Log { id, chunk }).await?;
        }
        Ok(())
    }
}

/// How a stream ends.
enum Ending {
    /// Everything was sent (`logs` without `--follow`), or supd is exiting: `End`.
    Done,
    /// The client fell behind: this error.
    CutOff(String),
    /// The client left or the socket broke: nothing to say.
    Gone,
}

/// A client that follows a stream must keep reading: one that has not taken a byte for this
/// long while a message waits is cut off (it would otherwise hold its task and backlog
/// forever). Its programs never wait for it.
const FOLLOWER_PATIENCE: Duration = Duration::from_secs(5);

/// After the decision to cut a follower off, how long it has to read the rest of the line
/// it was sent and the error that follows, before supd hangs up.
const CUT_OFF_GRACE: Duration = Duration::from_secs(10);

/// The writing side of a stream. It tracks how much of the current line the client has
/// taken, so that whatever ends the stream comes after whole lines only.
struct Follower<'w> {
    write: &'w mut OwnedWriteHalf,
    line: Vec<u8>,
    /// Bytes of `line` already written.
    sent: usize,
}

impl<'w> Follower<'w> {
    fn new(write: &'w mut OwnedWriteHalf) -> Self {
        Follower {
            write,
            line: Vec::new(),
            sent: 0,
        }
    }

    /// Writes one message, giving the client [`FOLLOWER_PATIENCE`] for each part of it.
    async fn send(&mut self, msg: &ServerMessage) -> Result<(), Ending> {
        self.line = encode(msg);
        self.sent = 0;
        while self.sent < self.line.len() {
            let pending = &self.line[self.sent..];
            match tokio::time::timeout(FOLLOWER_PATIENCE, self.write.write(pending)).await {
                Ok(Ok(0) | Err(_)) => return Err(Ending::Gone),
                Ok(Ok(n)) => self.sent += n,
                Err(_) => {
                    let patience = FOLLOWER_PATIENCE.as_secs();
                    tracing::info!("cut off a follower that has not read anything for {patience}s");
                    return Err(Ending::CutOff(format!(
                        "cut off: this follower fell behind for {patience} s"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Finishes the line in flight, then sends what `ending` says: an `End`, or the error
    /// within [`CUT_OFF_GRACE`].
    async fn end(mut self, id: u64, ending: Ending) -> Result<(), Abort> {
        let (last, within) = match ending {
            Ending::Gone => return Err(Abort::Gone),
            Ending::Done => (ServerMessage::End { id }, FOLLOWER_PATIENCE),
            Ending::CutOff(message) => (
                ServerMessage::Error {
                    id: Some(id),
                    error: ErrorReply {
                        kind: ErrorKind::Refused,
                        message,
                    },
                },
                CUT_OFF_GRACE,
            ),
        };
        let mut rest = self.line.split_off(self.sent.min(self.line.len()));
        rest.extend_from_slice(&encode(&last));
        match tokio::time::timeout(within, self.write.write_all(&rest)).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(Abort::Gone),
        }
    }
}

/// What `logs` shows besides the program selection.
struct LogFilter {
    since: Option<std::time::SystemTime>,
    stream: Option<Stream>,
}

impl LogFilter {
    fn keeps(&self, r: &Record) -> bool {
        self.since.is_none_or(|t| r.at >= t) && self.stream.is_none_or(|s| r.stream == s)
    }
}

/// `bytes` in pieces of at most `max` bytes, cut after a `\n` where possible.
fn split_lines(mut bytes: &[u8], max: usize) -> impl Iterator<Item = &[u8]> {
    std::iter::from_fn(move || {
        if bytes.is_empty() {
            return None;
        }
        let cut = if bytes.len() <= max {
            bytes.len()
        } else {
            memchr::memrchr(b'\n', &bytes[..max]).map_or(max, |i| i + 1)
        };
        let (piece, rest) = bytes.split_at(cut);
        bytes = rest;
        Some(piece)
    })
}

async fn read_message(
    read: &mut BufReader<tokio::net::unix::OwnedReadHalf>,
) -> Result<ClientMessage, Abort> {
    let mut line = Vec::new();
    let n = (&mut *read)
        .take(MAX_REQUEST as u64 + 1)
        .read_until(b'\n', &mut line)
        .await
        .map_err(|_| Abort::Gone)?;
    if n == 0 {
        return Err(Abort::Gone);
    }
    if !line.ends_with(b"\n") {
        if line.len() > MAX_REQUEST {
            return Err(Abort::Tell(
                None,
                ErrorKind::BadRequest,
                format!("request longer than {MAX_REQUEST} bytes"),
            ));
        }
        // The client closed the connection in the middle of a line.
        return Err(Abort::Gone);
    }
    decode(&line).map_err(|e| Abort::Tell(None, ErrorKind::BadRequest, e.to_string()))
}

/// Writes one answer; a client that does not take it within [`REPLY_TIMEOUT`] is gone.
async fn send(write: &mut OwnedWriteHalf, msg: &ServerMessage) -> Result<(), Abort> {
    match tokio::time::timeout(REPLY_TIMEOUT, write.write_all(&encode(msg))).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) | Err(_) => Err(Abort::Gone),
    }
}

fn error_line(id: Option<u64>, kind: ErrorKind, message: String) -> Vec<u8> {
    encode(&ServerMessage::Error {
        id,
        error: ErrorReply { kind, message },
    })
}
