//! stub
use super::Ctx;
use crate::report::Row;

pub fn run(_ctx: &Ctx) -> Vec<Row> {
    Vec::new()
}
