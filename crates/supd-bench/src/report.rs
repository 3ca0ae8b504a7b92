//! The result: one [`Row`] per figure, printed as one Markdown table (so a run can be pasted
//! into `docs/benchmarks.md` as it is) or as JSON.

use serde_json::{Value, json};

use crate::stats;

/// Which way is better for a figure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Better {
    Lower,
    Higher,
}

/// The samples of one figure for one system, and why sampling stopped early, if it did.
#[derive(Clone, Debug, Default)]
pub struct Series {
    pub values: Vec<f64>,
    pub error: Option<String>,
}

impl Series {
    /// A series that could not be measured at all.
    pub fn failed(why: impl Into<String>) -> Series {
        Series {
            values: Vec::new(),
            error: Some(why.into()),
        }
    }

    /// Records one sample's outcome; after an error, later samples are not taken.
    pub fn push(&mut self, v: Result<f64, String>) {
        match v {
            Ok(v) => self.values.push(v),
            Err(e) => self.error = Some(e),
        }
    }

    /// True once sampling failed.
    pub fn broken(&self) -> bool {
        self.error.is_some()
    }

    /// `f` of the values; the error when there is none (or when sampling failed).
    pub fn figure(&self, f: impl Fn(&[f64]) -> Option<f64>) -> Result<f64, String> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        f(&self.values).ok_or_else(|| "no sample".to_string())
    }
}

/// One figure of both systems.
#[derive(Clone, Debug)]
pub struct Row {
    /// The scenario group (`--only` name) it belongs to.
    pub group: &'static str,
    pub label: String,
    pub unit: &'static str,
    pub better: Better,
    /// The value shown (median unless the label says otherwise), or why there is none.
    pub supd: Result<f64, String>,
    pub supervisord: Result<f64, String>,
    /// Every sample behind the figures.
    pub supd_samples: Vec<f64>,
    pub supervisord_samples: Vec<f64>,
    /// The target from BENCHMARKS.md, as text.
    pub target: String,
    /// Whether supd meets the target (None: no target, or no figure).
    pub meets: Option<bool>,
    /// A reference figure (a physical floor or ceiling of this machine), not a comparison.
    pub reference: bool,
}

impl Row {
    pub fn new(
        group: &'static str,
        label: impl Into<String>,
        unit: &'static str,
        better: Better,
    ) -> Row {
        Row {
            group,
            label: label.into(),
            unit,
            better,
            supd: Err("not measured".into()),
            supervisord: Err("not measured".into()),
            supd_samples: Vec::new(),
            supervisord_samples: Vec::new(),
            target: "–".into(),
            meets: None,
            reference: false,
        }
    }

    /// A reference row: one figure of this machine, no supervisor involved.
    pub fn reference(
        group: &'static str,
        label: impl Into<String>,
        unit: &'static str,
        value: &Series,
    ) -> Row {
        let mut row = Row::new(group, label, unit, Better::Lower);
        row.supd = value.figure(stats::median);
        row.supd_samples = value.values.clone();
        row.supervisord = Err("n/a".into());
        row.reference = true;
        row
    }

    /// Sets both figures to a statistic of their samples (`f` is e.g. [`stats::median`]).
    pub fn stat(mut self, supd: &Series, sv: &Series, f: impl Fn(&[f64]) -> Option<f64>) -> Row {
        self.supd = supd.figure(&f);
        self.supervisord = sv.figure(&f);
        self.supd_samples = supd.values.clone();
        self.supervisord_samples = sv.values.clone();
        self
    }

    /// Medians of the samples.
    pub fn medians(self, supd: &Series, sv: &Series) -> Row {
        self.stat(supd, sv, stats::median)
    }

    /// Sets the target text and whether supd meets it (`check` gets supd's figure).
    pub fn target(mut self, text: impl Into<String>, check: impl Fn(f64) -> bool) -> Row {
        self.target = text.into();
        self.meets = self.supd.as_ref().ok().map(|&v| check(v));
        self
    }

    /// Target text only (no pass/fail).
    pub fn target_text(mut self, text: impl Into<String>) -> Row {
        self.target = text.into();
        self
    }

    /// How many times better supd is, as text.
    pub fn ratio(&self) -> String {
        if self.reference {
            return "–".into();
        }
        let (Ok(a), Ok(b)) = (&self.supd, &self.supervisord) else {
            return "–".into();
        };
        let (good, bad) = match self.better {
            Better::Lower => (*a, *b),
            Better::Higher => (*b, *a),
        };
        if good == bad {
            return "1.0×".into();
        }
        if good == 0.0 {
            return "∞".into();
        }
        let r = bad / good;
        if r >= 100.0 {
            format!("{r:.0}×")
        } else if r >= 10.0 {
            format!("{r:.1}×")
        } else {
            format!("{r:.2}×")
        }
    }

    pub fn format(&self, v: &Result<f64, String>) -> String {
        match v {
            Ok(v) => format!("{} {}", number(*v), self.unit)
                .trim_end()
                .to_string(),
            Err(why) if why == "n/a" => "–".into(),
            Err(_) => "✗ (see notes)".into(),
        }
    }
}

/// A number with a sensible count of digits.
pub fn number(v: f64) -> String {
    let a = v.abs();
    if (v == v.trunc() && a < 1e6) || a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// The Markdown table, then a note per figure that could not be measured.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| scenario | supd | supervisord | supd better by | target (BENCHMARKS.md) |\n|---|---:|---:|---:|---|\n",
    );
    for r in rows {
        let mark = match r.meets {
            Some(true) => " ✓",
            Some(false) => " ✗",
            None => "",
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {}{} |\n",
            r.label,
            r.format(&r.supd),
            r.format(&r.supervisord),
            r.ratio(),
            r.target,
            mark
        ));
    }
    let mut notes = String::new();
    for r in rows {
        for (who, v) in [("supd", &r.supd), ("supervisord", &r.supervisord)] {
            if let Err(why) = v
                && why != "n/a"
            {
                notes.push_str(&format!("- {} — {who}: {why}\n", r.label));
            }
        }
    }
    if !notes.is_empty() {
        out.push_str("\nNot measured:\n");
        out.push_str(&notes);
    }
    out
}

/// Everything as JSON.
pub fn json(info: &[(String, String)], command: &str, rows: &[Row]) -> Value {
    let fig = |v: &Result<f64, String>| match v {
        Ok(v) => json!(v),
        Err(_) => Value::Null,
    };
    let why = |v: &Result<f64, String>| match v {
        Ok(_) => Value::Null,
        Err(e) => json!(e),
    };
    json!({
        "machine": info.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
        "command": command,
        "rows": rows.iter().map(|r| json!({
            "scenario": r.group,
            "figure": r.label,
            "unit": r.unit,
            "better": match r.better { Better::Lower => "lower", Better::Higher => "higher" },
            "supd": fig(&r.supd),
            "supervisord": fig(&r.supervisord),
            "supd_error": why(&r.supd),
            "supervisord_error": why(&r.supervisord),
            "supd_samples": r.supd_samples,
            "supervisord_samples": r.supervisord_samples,
            "ratio": r.ratio(),
            "target": r.target,
            "meets_target": r.meets,
            "reference": r.reference,
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_is_how_many_times_better_supd_is() {
        let mut r = Row::new("x", "x", "ms", Better::Lower);
        r.supd = Ok(2.0);
        r.supervisord = Ok(1000.0);
        assert_eq!(r.ratio(), "500×");
        r.better = Better::Higher;
        r.supd = Ok(700.0);
        r.supervisord = Ok(350.0);
        assert_eq!(r.ratio(), "2.00×");
        r.better = Better::Lower;
        r.supd = Ok(0.0);
        r.supervisord = Ok(5.0);
        assert_eq!(r.ratio(), "∞");
    }

    #[test]
    fn numbers_keep_a_few_significant_digits() {
        assert_eq!(number(1400.4), "1400");
        assert_eq!(number(12.345), "12.3");
        assert_eq!(number(1.2345), "1.23");
        assert_eq!(number(0.01234), "0.012");
        assert_eq!(number(5.0), "5");
    }
}
