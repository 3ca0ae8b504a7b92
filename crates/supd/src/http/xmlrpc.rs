//! The XML-RPC codec: a `methodCall` document in, a `methodResponse` (a value or a fault)
//! out, as <http://xmlrpc.com/spec.md> defines them and Python's `xmlrpc.client` (which
//! supervisorctl uses) writes and reads them.
//!
//! This module owns the XML only; which methods exist and what they answer is
//! [`super::rpc`]'s. Reading is quick-xml's pull parser walked by a small recursive descent,
//! so a malformed call is one [`CallError`] sentence, never a panic; nesting is bounded.

use std::borrow::Cow;
use std::fmt::Write as _;

use quick_xml::Reader;
use quick_xml::events::Event;

/// An XML-RPC value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Int(i64),
    Bool(bool),
    Str(String),
    Double(f64),
    Array(Vec<Value>),
    Struct(Vec<(String, Value)>),
    /// `<base64>` (decoded) — accepted from clients, never sent.
    Bytes(Vec<u8>),
    /// `<dateTime.iso8601>`, as written.
    DateTime(String),
    Nil,
}

impl Value {
    /// Its XML-RPC type name, for "expected a string, found an int" answers.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Int(_) => "int",
            Value::Bool(_) => "boolean",
            Value::Str(_) => "string",
            Value::Double(_) => "double",
            Value::Array(_) => "array",
            Value::Struct(_) => "struct",
            Value::Bytes(_) => "base64",
            Value::DateTime(_) => "dateTime.iso8601",
            Value::Nil => "nil",
        }
    }

    pub fn str(s: impl Into<String>) -> Value {
        Value::Str(s.into())
    }

    /// A struct from `(name, value)` pairs.
    pub fn record<const N: usize>(fields: [(&str, Value); N]) -> Value {
        Value::Struct(
            fields
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    }
}

/// A decoded `methodCall`.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub method: String,
    pub params: Vec<Value>,
}

/// Why a request body is not a method call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallError(pub String);

/// Deeper nesting than this is refused (a hostile body cannot exhaust the stack).
const MAX_DEPTH: usize = 64;

/// Decodes a `methodCall` document.
pub fn parse_call(body: &str) -> Result<Call, CallError> {
    let mut p = Parser {
        reader: Reader::from_str(body),
    };
    p.open("methodCall")?;
    p.open("methodName")?;
    let method = p.text("methodName")?.trim().to_string();
    let mut params = Vec::new();
    match p.next_tag()? {
        Tag::Open(name) if name == "params" => loop {
            match p.next_tag()? {
                Tag::Open(name) if name == "param" => {
                    p.open("value")?;
                    params.push(p.value(0)?);
                    p.close("param")?;
                }
                Tag::Close(name) if name == "params" => {
                    p.close("methodCall")?;
                    break;
                }
                Tag::Empty(name) if name == "param" => {}
                other => return Err(p.unexpected(&other, "<param>")),
            }
        },
        Tag::Empty(name) if name == "params" => p.close("methodCall")?,
        Tag::Close(name) if name == "methodCall" => {}
        other => return Err(p.unexpected(&other, "<params>")),
    }
    Ok(Call { method, params })
}

enum Tag {
    Open(String),
    Close(String),
    Empty(String),
    Eof,
}

struct Parser<'a> {
    reader: Reader<&'a [u8]>,
}

impl Parser<'_> {
    /// The next element tag, skipping the declaration, comments and whitespace.
    fn next_tag(&mut self) -> Result<Tag, CallError> {
        loop {
            match self.event()? {
                Event::Start(e) => return Ok(Tag::Open(name(e.name().as_ref()))),
                Event::End(e) => return Ok(Tag::Close(name(e.name().as_ref()))),
                Event::Empty(e) => return Ok(Tag::Empty(name(e.name().as_ref()))),
                Event::Eof => return Ok(Tag::Eof),
                Event::Text(t) if t.iter().all(u8::is_ascii_whitespace) => {}
                Event::Text(_) | Event::CData(_) => {
                    return Err(CallError("unexpected text between elements".into()));
                }
                _ => {}
            }
        }
    }

    fn event(&mut self) -> Result<Event<'static>, CallError> {
        self.reader
            .read_event()
            .map(Event::into_owned)
            .map_err(|e| CallError(format!("not well-formed XML: {e}")))
    }

    fn open(&mut self, want: &str) -> Result<(), CallError> {
        match self.next_tag()? {
            Tag::Open(name) if name == want => Ok(()),
            other => Err(self.unexpected(&other, &format!("<{want}>"))),
        }
    }

    fn close(&mut self, want: &str) -> Result<(), CallError> {
        match self.next_tag()? {
            Tag::Close(name) if name == want => Ok(()),
            other => Err(self.unexpected(&other, &format!("</{want}>"))),
        }
    }

    fn unexpected(&self, found: &Tag, expected: &str) -> CallError {
        let found = match found {
            Tag::Open(n) => format!("<{n}>"),
            Tag::Close(n) => format!("</{n}>"),
            Tag::Empty(n) => format!("<{n}/>"),
            Tag::Eof => "the end of the document".to_string(),
        };
        CallError(format!("expected {expected}, found {found}"))
    }

    /// The text up to `</end>` (entities decoded), consuming the end tag.
    fn text(&mut self, end: &str) -> Result<String, CallError> {
        let mut out = String::new();
        loop {
            match self.event()? {
                Event::Text(t) => {
                    let text = t
                        .unescape()
                        .map_err(|e| CallError(format!("bad text in <{end}>: {e}")))?;
                    out.push_str(&text);
                }
                Event::CData(c) => out.push_str(&String::from_utf8_lossy(&c)),
                Event::End(e) if name(e.name().as_ref()) == end => return Ok(out),
                Event::Comment(_) => {}
                Event::Eof => return Err(CallError(format!("<{end}> is not closed"))),
                _ => return Err(CallError(format!("unexpected element inside <{end}>"))),
            }
        }
    }

    /// The content of a `<value>` whose start tag was read, through its `</value>`.
    fn value(&mut self, depth: usize) -> Result<Value, CallError> {
        if depth > MAX_DEPTH {
            return Err(CallError(format!("values nested deeper than {MAX_DEPTH}")));
        }
        // `<value>text</value>` is a string; so is `<value></value>`.
        let mut text = String::new();
        let tag = loop {
            match self.event()? {
                Event::Text(t) => text.push_str(
                    &t.unescape()
                        .map_err(|e| CallError(format!("bad text in <value>: {e}")))?,
                ),
                Event::CData(c) => text.push_str(&String::from_utf8_lossy(&c)),
                Event::Start(e) => break Tag::Open(name(e.name().as_ref())),
                Event::Empty(e) => break Tag::Empty(name(e.name().as_ref())),
                Event::End(e) if name(e.name().as_ref()) == "value" => return Ok(Value::Str(text)),
                Event::Eof => return Err(CallError("<value> is not closed".into())),
                _ => {}
            }
        };
        if !text.trim().is_empty() {
            return Err(CallError("text and an element in one <value>".into()));
        }
        let value = match tag {
            Tag::Empty(kind) => match kind.as_str() {
                "nil" => Value::Nil,
                "string" => Value::Str(String::new()),
                "array" => Value::Array(Vec::new()),
                "struct" => Value::Struct(Vec::new()),
                other => return Err(CallError(format!("<{other}/> has no value"))),
            },
            Tag::Open(kind) => self.typed(&kind, depth)?,
            _ => unreachable!("only opening tags break the loop"),
        };
        self.close("value")?;
        Ok(value)
    }

    /// The content of `<kind>` (its start tag read), through `</kind>`.
    fn typed(&mut self, kind: &str, depth: usize) -> Result<Value, CallError> {
        let scalar = |p: &mut Self| p.text(kind).map(|s| s.trim().to_string());
        Ok(match kind {
            "string" => Value::Str(self.text(kind)?),
            "int" | "i4" | "i8" => {
                let s = scalar(self)?;
                Value::Int(
                    s.parse()
                        .map_err(|_| CallError(format!("<{kind}> holds {s:?}, not an integer")))?,
                )
            }
            "boolean" => match scalar(self)?.as_str() {
                "1" => Value::Bool(true),
                "0" => Value::Bool(false),
                s => return Err(CallError(format!("<boolean> holds {s:?}, not 0 or 1"))),
            },
            "double" => {
                let s = scalar(self)?;
                Value::Double(
                    s.parse()
                        .map_err(|_| CallError(format!("<double> holds {s:?}, not a number")))?,
                )
            }
            "base64" => {
                use base64::Engine as _;
                let s: String = scalar(self)?.split_whitespace().collect();
                Value::Bytes(
                    base64::engine::general_purpose::STANDARD
                        .decode(s)
                        .map_err(|_| CallError("<base64> is not base64".into()))?,
                )
            }
            "dateTime.iso8601" => Value::DateTime(scalar(self)?),
            "nil" => {
                self.close("nil")?;
                Value::Nil
            }
            "array" => {
                let mut items = Vec::new();
                match self.next_tag()? {
                    Tag::Open(n) if n == "data" => loop {
                        match self.next_tag()? {
                            Tag::Open(n) if n == "value" => items.push(self.value(depth + 1)?),
                            Tag::Empty(n) if n == "value" => items.push(Value::Str(String::new())),
                            Tag::Close(n) if n == "data" => break,
                            other => return Err(self.unexpected(&other, "<value>")),
                        }
                    },
                    Tag::Empty(n) if n == "data" => {}
                    other => return Err(self.unexpected(&other, "<data>")),
                }
                self.close("array")?;
                Value::Array(items)
            }
            "struct" => {
                let mut fields = Vec::new();
                loop {
                    match self.next_tag()? {
                        Tag::Open(n) if n == "member" => {
                            self.open("name")?;
                            let key = self.text("name")?;
                            let value = match self.next_tag()? {
                                Tag::Open(n) if n == "value" => self.value(depth + 1)?,
                                Tag::Empty(n) if n == "value" => Value::Str(String::new()),
                                other => return Err(self.unexpected(&other, "<value>")),
                            };
                            self.close("member")?;
                            fields.push((key, value));
                        }
                        Tag::Close(n) if n == "struct" => break,
                        other => return Err(self.unexpected(&other, "<member>")),
                    }
                }
                Value::Struct(fields)
            }
            other => return Err(CallError(format!("<{other}> is not an XML-RPC type"))),
        })
    }
}

fn name(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw).into_owned()
}

/// A `methodResponse` carrying `value`.
pub fn response(value: &Value) -> String {
    let mut out = String::from("<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n");
    write_value(&mut out, value);
    out.push_str("</param>\n</params>\n</methodResponse>\n");
    out
}

/// A `methodResponse` carrying a fault.
pub fn fault(code: i32, text: &str) -> String {
    let mut out = String::from("<?xml version='1.0'?>\n<methodResponse>\n<fault>\n");
    write_value(
        &mut out,
        &Value::record([
            ("faultCode", Value::Int(code.into())),
            ("faultString", Value::str(text)),
        ]),
    );
    out.push_str("</fault>\n</methodResponse>\n");
    out
}

fn write_value(out: &mut String, value: &Value) {
    out.push_str("<value>");
    match value {
        // XML-RPC's <int> is 32 bits; supervisord caps its timestamps the same way.
        Value::Int(i) => {
            let _ = write!(
                out,
                "<int>{}</int>",
                (*i).clamp(i32::MIN.into(), i32::MAX.into())
            );
        }
        Value::Bool(b) => {
            let _ = write!(out, "<boolean>{}</boolean>", u8::from(*b));
        }
        Value::Str(s) => {
            out.push_str("<string>");
            out.push_str(&escape(s));
            out.push_str("</string>");
        }
        Value::Double(d) => {
            let _ = write!(out, "<double>{d}</double>");
        }
        Value::Array(items) => {
            out.push_str("<array><data>\n");
            for item in items {
                write_value(out, item);
            }
            out.push_str("</data></array>");
        }
        Value::Struct(fields) => {
            out.push_str("<struct>\n");
            for (k, v) in fields {
                out.push_str("<member>\n<name>");
                out.push_str(&escape(k));
                out.push_str("</name>\n");
                write_value(out, v);
                out.push_str("</member>\n");
            }
            out.push_str("</struct>");
        }
        Value::Bytes(b) => {
            use base64::Engine as _;
            let _ = write!(
                out,
                "<base64>{}</base64>",
                base64::engine::general_purpose::STANDARD.encode(b)
            );
        }
        Value::DateTime(s) => {
            let _ = write!(out, "<dateTime.iso8601>{}</dateTime.iso8601>", escape(s));
        }
        Value::Nil => out.push_str("<nil/>"),
    }
    out.push_str("</value>\n");
}

/// Text for an XML element, with the characters XML 1.0 cannot carry (other control
/// characters) dropped, as a program's log may hold them.
fn escape(s: &str) -> Cow<'_, str> {
    let legal = |c: char| !c.is_control() || matches!(c, '\t' | '\n' | '\r');
    if s.chars().all(legal) {
        quick_xml::escape::escape(s)
    } else {
        let kept: String = s.chars().filter(|&c| legal(c)).collect();
        Cow::Owned(quick_xml::escape::escape(kept.as_str()).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_python_writes() {
        // xmlrpc.client.dumps(('web', True, 3, [1, 'a'], {'k': 'v'}), 'supervisor.startProcess')
        let body = "<?xml version='1.0'?>\n<methodCall>\n<methodName>supervisor.startProcess</methodName>\n<params>\n<param>\n<value><string>web</string></value>\n</param>\n<param>\n<value><boolean>1</boolean></value>\n</param>\n<param>\n<value><int>3</int></value>\n</param>\n<param>\n<value><array><data>\n<value><int>1</int></value>\n<value><string>a</string></value>\n</data></array></value>\n</param>\n<param>\n<value><struct>\n<member>\n<name>k</name>\n<value><string>v</string></value>\n</member>\n</struct></value>\n</param>\n</params>\n</methodCall>\n";
        let call = parse_call(body).unwrap();
        assert_eq!(call.method, "supervisor.startProcess");
        assert_eq!(
            call.params,
            [
                Value::str("web"),
                Value::Bool(true),
                Value::Int(3),
                Value::Array(vec![Value::Int(1), Value::str("a")]),
                Value::record([("k", Value::str("v"))]),
            ]
        );
    }

    #[test]
    fn no_params_implicit_strings_and_entities() {
        let call = parse_call(
            "<methodCall><methodName>system.listMethods</methodName><params/></methodCall>",
        )
        .unwrap();
        assert!(call.params.is_empty());
        let call = parse_call(
            "<methodCall><methodName>m</methodName><params><param><value> a &amp; b </value></param></params></methodCall>",
        )
        .unwrap();
        assert_eq!(call.params, [Value::str(" a & b ")]);
    }

    #[test]
    fn malformed_calls_are_one_sentence() {
        for body in [
            "",
            "garbage",
            "<methodCall>",
            "<methodCall><methodName>m</methodName><params><param><value><int>x</int></value></param></params></methodCall>",
            "<methodCall><methodName>m</methodName><params><param><value><bogus>1</bogus></value></param></params></methodCall>",
            &format!(
                "<methodCall><methodName>m</methodName><params><param>{}</param></params></methodCall>",
                "<value><array><data>".repeat(100)
            ),
        ] {
            let e = parse_call(body).unwrap_err();
            assert!(!e.0.is_empty() && !e.0.contains('\n'), "{body}: {e:?}");
        }
    }

    #[test]
    fn responses_escape_and_clamp() {
        let r = response(&Value::Array(vec![
            Value::str("<a&b>\u{1}"),
            Value::Int(1 << 40),
        ]));
        assert!(r.contains("<string>&lt;a&amp;b&gt;</string>"), "{r}");
        assert!(r.contains("<int>2147483647</int>"), "{r}");
        let f = fault(10, "BAD_NAME: x");
        assert!(
            f.contains("<name>faultCode</name>\n<value><int>10</int></value>"),
            "{f}"
        );
    }
}
