//! supd's own messages (`web: started (pid 42)`): `tracing` events written through the
//! output writer, as `supd | message` lines on stderr, so they interleave with program
//! output in order and never block the owner loop.

use std::fmt;
use std::io;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::registry::LookupSpan;

use crate::logplane::output::{Output, Target};

/// Routes `tracing` output to the console. The level comes from `$SUPD_LOG`
/// (`error`, `warn`, `info` — the default —, `debug`, `trace`).
pub fn install(output: Output, prefix: String) {
    let level = std::env::var("SUPD_LOG")
        .ok()
        .and_then(|l| l.parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::INFO);
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(level)
        .event_format(Lines { prefix })
        .with_writer(ConsoleWriter { output })
        .finish();
    // Only fails if a subscriber is already installed, which only a test could do.
    let _ = tracing::subscriber::set_global_default(subscriber);
}

struct Lines {
    prefix: String,
}

impl<S, N> FormatEvent<S, N> for Lines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        writer.write_str(&self.prefix)?;
        match *event.metadata().level() {
            Level::ERROR => writer.write_str("error: ")?,
            Level::WARN => writer.write_str("warning: ")?,
            _ => {}
        }
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

#[derive(Clone)]
struct ConsoleWriter {
    output: Output,
}

impl io::Write for ConsoleWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.output.write_now(Target::Stderr, buf.to_vec());
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for ConsoleWriter {
    type Writer = ConsoleWriter;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
