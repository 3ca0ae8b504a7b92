//! The log plane: program output from pipe to console, ring buffer and followers.
//!
//! It is separate from the control plane: pipe readers frame lines and fan them out
//! without going through the owner loop, so a flood of output never delays a restart and a
//! busy owner never delays output. Data flows one way:
//!
//! ```text
//! program pipe ─► pump (Framer) ─┬─► Output: supd's stdout/stderr (prefixed) or the
//!                                │   program's log file (as written), with backpressure
//!                                ├─► Ring of the program (for `supctl logs`)
//!                                └─► followers (`supctl logs -f`), if any
//! ```
//!
//! A pump runs until its pipe reaches end of file — that is, until every process holding the
//! write end has exited — so lines written just before a program dies are never lost.
//! The pump of a new run of a program starts reading only once the previous run's pump of
//! the same stream is done (or after [`ORDER_WAIT`], for a pipe a leftover process still
//! holds open), so a restarted program's lines never come before its previous run's last
//! ones; meanwhile the new run's output waits in its pipe. A run started beside the
//! previous one (a start-first restart) is not held back: both run, and both are read.

pub mod format;
pub mod framer;
pub mod output;
pub mod ring;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

use supd_core::ProgId;
use supd_proto::Stream;
use tokio::net::unix::pipe;
use tokio::sync::{broadcast, oneshot};

use format::ConsoleFormat;
use framer::Framer;
use output::{Output, Target};
use ring::{Record, Ring};

/// One read from a pipe at most; also the size a pipe is grown to once a program fills it.
const READ_SIZE: usize = 256 * 1024;
/// A program that writes small amounts again this soon after supd read it gets its lines
/// batched: supd waits this long before reading again, so a stream of small writes costs
/// one wake-up per batch, not per line. A single line (or the first of a burst) is read at
/// once; bulk output (reads of at least [`SMALL_READ`]) is never delayed.
const COALESCE: std::time::Duration = std::time::Duration::from_millis(5);
/// Reads smaller than this are "small writes" for [`COALESCE`].
const SMALL_READ: usize = 16 * 1024;

/// How long a new run's pump waits for the previous run's to be done before it reads
/// anyway (a process left from that run may hold the old pipe open for ever).
const ORDER_WAIT: std::time::Duration = std::time::Duration::from_millis(250);

/// Writes out a last line that has no `\n` yet (the pump is ending early).
async fn flush_partial(
    plane: &LogPlane,
    prog: ProgId,
    stream: Stream,
    target: Target,
    framer: &mut Framer,
) {
    if let Some(bytes) = plane.frame(prog, stream, target, framer, None) {
        plane.output.write(target, bytes).await;
    }
}

/// How a pump waits for its pipe.
enum Pipe {
    /// Registered with the event loop: woken when the pipe becomes readable.
    Watched(pipe::Receiver),
    /// Out of the event loop, read every [`COALESCE`] while the program writes often.
    Paced(OwnedFd),
}

impl Pipe {
    /// One non-blocking read (for a watched pipe, clearing its readiness when empty).
    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Pipe::Watched(rx) => rx.try_read(buf),
            Pipe::Paced(fd) => nix::unistd::read(fd, buf).map_err(io::Error::from),
        }
    }

    fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        match self {
            Pipe::Watched(rx) => rx.as_fd(),
            Pipe::Paced(fd) => fd.as_fd(),
        }
    }
}

/// Records a follower may lag behind before it is cut off.
const FOLLOW_BACKLOG: usize = 4096;

/// Per-program output state.
struct ProgramLog {
    name: String,
    /// `web    | ` (or coloured), per stream.
    prefix: [Vec<u8>; 2],
    ring: RefCell<Ring>,
    /// Bytes written to each stream so far (prefixes not counted).
    written: [Cell<u64>; 2],
    /// Bytes read from each stream's pipe so far, over every run (`/metrics`).
    read: [Cell<u64>; 2],
}

pub struct LogPlane {
    output: Output,
    /// Log file paths and their writer ids.
    files: RefCell<HashMap<PathBuf, usize>>,
    /// By program id; grows when a reload adds programs.
    programs: RefCell<Vec<ProgramLog>>,
    colour: [bool; 2],
    format: ConsoleFormat,
    seq: Cell<u64>,
    followers: RefCell<Option<broadcast::Sender<Arc<Record>>>>,
    /// Pumps still running; the daemon waits for zero before exiting.
    pumps: Cell<usize>,
    drained: tokio::sync::Notify,
    /// Per program and stream, the end of its latest pump (the sender is dropped then).
    latest_pump: RefCell<HashMap<(ProgId, usize), oneshot::Receiver<()>>>,
}

thread_local! {
    /// The read buffer shared by every pump (they run on one thread, one at a time).
    static SCRATCH: RefCell<Vec<u8>> = RefCell::new(vec![0; READ_SIZE]);
}

/// How prefixes look.
pub struct Style {
    /// Program names, in program order.
    pub names: Vec<String>,
    pub colour_stdout: bool,
    pub colour_stderr: bool,
    pub format: ConsoleFormat,
}

impl Style {
    /// Width the names are padded to: the longest name, or `supd` (supd's own prefix).
    pub fn width(&self) -> usize {
        self.names
            .iter()
            .map(String::len)
            .max()
            .unwrap_or(0)
            .max("supd".len())
    }
}

/// The colour (an SGR foreground code) of the `index`th program's prefix.
pub fn colour_of(index: usize) -> u8 {
    // Distinguishable foreground colours; red is left out (it reads as an error).
    const COLOURS: [u8; 6] = [36, 33, 32, 35, 34, 96];
    COLOURS[index % COLOURS.len()]
}

/// supd's own prefix colour: grey.
pub const SUPD_COLOUR: u8 = 90;

/// `name | ` padded to `width`, in SGR colour `colour` when given.
pub fn prefix(name: &str, width: usize, colour: Option<u8>) -> String {
    match colour {
        Some(c) => format!("\x1b[{c}m{name:<width$} |\x1b[0m "),
        None => format!("{name:<width$} | "),
    }
}

impl LogPlane {
    pub fn new(output: Output, style: &Style) -> Rc<LogPlane> {
        let plane = Rc::new(LogPlane {
            output,
            files: RefCell::default(),
            programs: RefCell::new(Vec::new()),
            colour: [style.colour_stdout, style.colour_stderr],
            format: style.format,
            seq: Cell::new(0),
            followers: RefCell::new(None),
            pumps: Cell::new(0),
            drained: tokio::sync::Notify::new(),
            latest_pump: RefCell::default(),
        });
        plane.set_programs(&style.names);
        plane
    }

    /// Sets the programs' names by id (after a reload: more ids, maybe a new width); every
    /// prefix is recomputed so the bars still line up. Recent output is kept.
    pub fn set_programs(&self, names: &[String]) {
        let width = names
            .iter()
            .map(String::len)
            .max()
            .unwrap_or(0)
            .max("supd".len());
        let mut programs = self.programs.borrow_mut();
        for (i, name) in names.iter().enumerate() {
            let prefix = [0, 1]
                .map(|s| prefix(name, width, self.colour[s].then(|| colour_of(i))).into_bytes());
            match programs.get_mut(i) {
                Some(p) => {
                    p.prefix = prefix;
                    p.name.clone_from(name);
                }
                None => programs.push(ProgramLog {
                    name: name.clone(),
                    prefix,
                    ring: RefCell::default(),
                    written: Default::default(),
                    read: Default::default(),
                }),
            }
        }
    }

    /// Where a program's `console` output of `stream` goes: supd's stdout or stderr — both
    /// stdout in `json` format, whose objects carry the stream themselves.
    pub fn console_target(&self, stream: Stream) -> Target {
        match (self.format.kind, stream) {
            (supd_config::LogFormat::Json, _) | (_, Stream::Stdout) => Target::Stdout,
            (_, Stream::Stderr) => Target::Stderr,
        }
    }

    /// The writer target for log file `path`, opening it on first use (for appending),
    /// rotated at `max_size` bytes keeping `backups` old files.
    pub fn file_target(&self, path: &Path, max_size: u64, backups: u32) -> io::Result<Target> {
        let mut files = self.files.borrow_mut();
        if let Some(&id) = files.get(path) {
            return Ok(Target::File(id));
        }
        let id = files.len();
        self.output.open_file(id, path, max_size, backups)?;
        files.insert(path.to_path_buf(), id);
        Ok(Target::File(id))
    }

    /// Reopens every log file (SIGUSR1, after logrotate moved them).
    pub fn reopen_files(&self) -> usize {
        self.output.reopen_files();
        self.files.borrow().len()
    }

    /// Starts copying a program's output pipe (`read_end`) to `target` (supd's stdout or
    /// stderr with the program's prefix, or a log file as written) and to the ring.
    /// `beside`: the previous run goes on running beside this one (a start-first restart),
    /// so this run's lines are not held back until the previous run's output has ended.
    pub fn attach(
        self: &Rc<Self>,
        prog: ProgId,
        stream: Stream,
        read_end: OwnedFd,
        target: Target,
        beside: bool,
    ) {
        let rx = match pipe::Receiver::from_owned_fd(read_end) {
            Ok(rx) => rx,
            Err(e) => {
                tracing::error!("cannot read the output of program #{prog}: {e}");
                return;
            }
        };
        self.pumps.set(self.pumps.get() + 1);
        let (done, end) = oneshot::channel();
        let previous = self
            .latest_pump
            .borrow_mut()
            .insert((prog, stream as usize), end);
        let order = Order {
            after: previous.filter(|_| !beside),
            done,
        };
        tokio::task::spawn_local(pump(self.clone(), prog, stream, rx, target, order));
    }

    /// Resolves once every pump has reached end of file.
    pub async fn drained(&self) {
        while self.pumps.get() > 0 {
            self.drained.notified().await;
        }
    }

    /// Frames `data` read from a program, returning the bytes for its target, if any:
    /// the console format for supd's stdout/stderr, the lines as written for a log file.
    ///
    /// The same buffer usually serves the ring too: when every line of the output is the
    /// program's line behind a prefix of fixed length (the `prefix` and `raw` formats, log
    /// files), the ring keeps the output and strips that prefix when `supctl logs` reads it,
    /// so each byte is copied once. Only `json` needs a second, plain copy.
    fn frame(
        &self,
        prog: ProgId,
        stream: Stream,
        target: Target,
        framer: &mut Framer,
        data: Option<&[u8]>,
    ) -> Option<Arc<Vec<u8>>> {
        let at = std::time::SystemTime::now();
        let programs = self.programs.borrow();
        let program = &programs[prog];
        let console = !matches!(target, Target::File(_));
        let fmt = self.format;
        let json = console && fmt.kind == supd_config::LogFormat::Json;
        let stamped = console && fmt.timestamps && fmt.kind == supd_config::LogFormat::Prefix;
        let ts = if json || stamped {
            format::timestamp(at)
        } else {
            String::new()
        };
        let prefix = &program.prefix[stream as usize];
        // What precedes each program line in `out` (nothing for raw output and log files).
        let strip = match (console, fmt.kind) {
            (true, supd_config::LogFormat::Prefix) if stamped => ts.len() + 1 + prefix.len(),
            (true, supd_config::LogFormat::Prefix) => prefix.len(),
            _ => 0,
        };
        let len = data.map_or(framer.pending(), <[u8]>::len);
        let mut out = Vec::with_capacity(len + len / 8 + prefix.len() + 1);
        let mut plain = Vec::with_capacity(if json { len + 1 } else { 0 });
        let mut line = |l: &[u8], complete: bool| {
            if console {
                format::console_line(
                    &mut out,
                    fmt,
                    &ts,
                    prefix,
                    &program.name,
                    stream,
                    l,
                    complete,
                );
            } else {
                out.extend_from_slice(l);
                out.push(b'\n');
            }
            if json {
                plain.extend_from_slice(l);
                plain.push(b'\n');
            }
        };
        match data {
            Some(d) => framer.feed(d, &mut line),
            None => framer.finish(&mut line),
        }
        if out.is_empty() {
            return None;
        }
        drop(programs);
        let out = Arc::new(out);
        let (kept, strip) = if json {
            (Arc::new(plain), 0)
        } else {
            (out.clone(), strip)
        };
        self.record(prog, stream, kept, strip, at);
        Some(out)
    }

    fn record(
        &self,
        prog: ProgId,
        stream: Stream,
        data: Arc<Vec<u8>>,
        strip: usize,
        at: std::time::SystemTime,
    ) {
        let seq = self.seq.get() + 1;
        self.seq.set(seq);
        let mut record = Record {
            seq,
            prog,
            stream,
            data,
            strip,
            at,
            end: 0,
        };
        let written = &self.programs.borrow()[prog].written[stream as usize];
        record.end = written.get() + record.text_len() as u64;
        written.set(record.end);
        let record = Arc::new(record);
        if let Some(tx) = self.followers.borrow().as_ref()
            && tx.receiver_count() > 0
        {
            let _ = tx.send(record.clone());
        }
        self.programs.borrow()[prog].ring.borrow_mut().push(record);
    }

    /// The last `n` lines of the given programs that `keep` accepts, merged in arrival order.
    pub fn tail(
        &self,
        progs: &[ProgId],
        n: usize,
        keep: impl Fn(&Record) -> bool,
    ) -> Vec<(Arc<Record>, Vec<u8>)> {
        let records = progs
            .iter()
            .flat_map(|&p| self.programs.borrow()[p].ring.borrow().tail_where(n, &keep))
            .collect();
        ring::last_lines(records, n)
    }

    /// New output of every program from now on; a follower more than [`FOLLOW_BACKLOG`]
    /// records behind gets `Lagged` and should be cut off.
    pub fn follow(&self) -> broadcast::Receiver<Arc<Record>> {
        self.followers
            .borrow_mut()
            .get_or_insert_with(|| broadcast::channel(FOLLOW_BACKLOG).0)
            .subscribe()
    }

    /// What the ring still holds of `prog`'s `stream`, as the program wrote it, with the
    /// offset of its end in everything that stream ever wrote.
    pub fn stream_log(&self, prog: ProgId, stream: Stream) -> StreamLog {
        let programs = self.programs.borrow();
        let program = &programs[prog];
        let mut text = Vec::new();
        for r in program.ring.borrow().of_stream(stream) {
            text.extend_from_slice(&r.text());
        }
        StreamLog {
            text,
            end: program.written[stream as usize].get(),
        }
    }

    /// Forgets `prog`'s recent output (supervisord's `clearProcessLogs`; its log files are
    /// the output thread's and stay as they are).
    pub fn clear(&self, prog: ProgId) {
        self.programs.borrow()[prog].ring.borrow_mut().clear();
    }

    /// How many bytes supd has read from `prog`'s `stream`, over all its runs: what the
    /// program wrote, before framing and prefixes.
    pub fn bytes_read(&self, prog: ProgId, stream: Stream) -> u64 {
        self.programs
            .borrow()
            .get(prog)
            .map_or(0, |p| p.read[stream as usize].get())
    }

    /// Counts `n` bytes read from `prog`'s `stream`.
    fn count_read(&self, prog: ProgId, stream: Stream, n: usize) {
        let read = &self.programs.borrow()[prog].read[stream as usize];
        read.set(read.get() + n as u64);
    }

    /// Sequence number of the newest record so far.
    pub fn last_seq(&self) -> u64 {
        self.seq.get()
    }
}

/// The recent output of one stream of one program: `text` holds the bytes from offset
/// `end - text.len()` to `end` of everything the stream ever wrote.
pub struct StreamLog {
    pub text: Vec<u8>,
    pub end: u64,
}

impl StreamLog {
    pub fn start(&self) -> u64 {
        self.end - self.text.len() as u64
    }
}

/// Where a pump stands among the runs of its program's stream.
struct Order {
    /// The end of the previous run's pump, if there is one.
    after: Option<oneshot::Receiver<()>>,
    /// Dropped when this pump ends: the next run's pump may go.
    done: oneshot::Sender<()>,
}

async fn pump(
    plane: Rc<LogPlane>,
    prog: ProgId,
    stream: Stream,
    rx: pipe::Receiver,
    target: Target,
    order: Order,
) {
    if let Some(previous) = order.after {
        // Err once the previous pump is done (its sender dropped): that is the signal.
        let _ = tokio::time::timeout(ORDER_WAIT, previous).await;
    }
    let _done = order.done;
    let mut framer = Framer::default();
    let mut capacity = supd_sys::pipe::pipe_size(rx.as_fd()).unwrap_or(64 * 1024);
    let mut last_small_read: Option<std::time::Instant> = None;
    let mut pipe = Pipe::Watched(rx);
    loop {
        // How the next read is awaited: the pipe becomes readable, or (while the program
        // trickles small writes) a short pause lets its lines pile up — with the pipe out
        // of epoll meanwhile, so each write does not wake supd.
        match &pipe {
            Pipe::Watched(rx) => {
                if rx.readable().await.is_err() {
                    break;
                }
            }
            Pipe::Paced(_) => tokio::time::sleep(COALESCE).await,
        }
        let mut trickling = false;
        let mut bulk = false;
        let (out, eof, empty) = SCRATCH.with_borrow_mut(|buf| match pipe.read(buf) {
            Ok(0) => (
                plane.frame(prog, stream, target, &mut framer, None),
                true,
                false,
            ),
            Ok(n) => {
                plane.count_read(prog, stream, n);
                if n >= capacity && capacity < READ_SIZE {
                    // The program fills its pipe: let it write more per wake-up.
                    capacity =
                        supd_sys::pipe::set_pipe_size(pipe.fd(), READ_SIZE).unwrap_or(READ_SIZE);
                }
                if n < SMALL_READ {
                    let now = std::time::Instant::now();
                    trickling = last_small_read.is_some_and(|t| now - t < COALESCE);
                    last_small_read = Some(now);
                } else {
                    bulk = true;
                }
                let out = plane.frame(prog, stream, target, &mut framer, Some(&buf[..n]));
                (out, false, false)
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                ) =>
            {
                (None, false, true)
            }
            Err(_) => (
                plane.frame(prog, stream, target, &mut framer, None),
                true,
                false,
            ),
        });
        if let Some(bytes) = out {
            plane.output.write(target, bytes).await;
        }
        if eof {
            break;
        }
        pipe = match pipe {
            Pipe::Watched(rx) if trickling => match rx.into_nonblocking_fd() {
                Ok(fd) => Pipe::Paced(fd),
                Err(_) => {
                    flush_partial(&plane, prog, stream, target, &mut framer).await;
                    break;
                }
            },
            // Quiet again (nothing arrived during a pause), or bulk output that should not
            // wait: back to waiting on epoll.
            Pipe::Paced(fd) if empty || bulk => match pipe::Receiver::from_owned_fd_unchecked(fd) {
                Ok(rx) => Pipe::Watched(rx),
                Err(_) => {
                    flush_partial(&plane, prog, stream, target, &mut framer).await;
                    break;
                }
            },
            other => other,
        };
    }
    plane.pumps.set(plane.pumps.get() - 1);
    plane.drained.notify_waiters();
}
