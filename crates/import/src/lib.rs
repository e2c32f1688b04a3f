//! CSV import of accounts, contacts, subscriptions, tickets, NPS answers and touchpoints.
//!
//! A file is read twice, streaming, a thousand rows at a time, so memory stays bounded whatever
//! its size: the first pass checks every row (values, references, duplicates) and reports each bad
//! one with its line number and field; the second pass writes. By default nothing is written when
//! any row is bad; with `partial` the good rows are written and the bad ones reported. Rows are
//! matched on `external_id`: a known one is updated with the cells the row fills (empty cells keep
//! the stored value), an unknown one is created. Because of that, re-running an import is safe.
//!
//! Encodings: UTF-8 (with or without BOM) and Shift_JIS (as Excel in Japan saves CSV), detected
//! from the bytes. Column names: the usual names of CRM and support-tool exports, in English and
//! Japanese (`headers.rs`); unknown columns of accounts and contacts become custom traits.

mod headers;
mod rows;
pub mod text;

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use encoding_rs::{Encoding, SHIFT_JIS, UTF_8};
use encoding_rs_io::DecodeReaderBytesBuilder;
use kizuna_store::{Actor, Store, StoreError};
use serde::Serialize;

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Accounts,
    Contacts,
    Subscriptions,
    Tickets,
    Nps,
    Touchpoints,
}

impl Kind {
    pub const NAMES: &'static [&'static str] = &[
        "accounts",
        "contacts",
        "subscriptions",
        "tickets",
        "nps",
        "touchpoints",
    ];
}

impl std::str::FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "accounts" => Kind::Accounts,
            "contacts" => Kind::Contacts,
            "subscriptions" => Kind::Subscriptions,
            "tickets" => Kind::Tickets,
            "nps" | "survey_responses" => Kind::Nps,
            "touchpoints" => Kind::Touchpoints,
            other => {
                return Err(format!(
                    "cannot import `{other}`; import one of {}",
                    Kind::NAMES.join(", ")
                ))
            }
        })
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions {
    /// Write the good rows even when some are bad.
    pub partial: bool,
}

/// One bad row: where, which field, what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    /// The line in the file (the header is line 1).
    pub line: u64,
    pub field: String,
    pub message: String,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub kind: Option<Kind>,
    pub encoding: String,
    /// Data rows read.
    pub rows: u64,
    pub inserted: u64,
    pub updated: u64,
    /// Rows refused (not written).
    pub rejected: u64,
    /// Whether anything was written.
    pub committed: bool,
    /// The first bad rows (at most [`MAX_REPORTED_ERRORS`]); `rejected` counts them all.
    pub errors: Vec<RowError>,
}

/// How many row errors a report lists.
pub const MAX_REPORTED_ERRORS: usize = 1000;
/// Rows checked and written together.
const CHUNK: usize = 1000;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    #[error("the file is not valid CSV at line {line}: {message}")]
    Csv { line: u64, message: String },
    #[error("{0}")]
    Header(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reports progress: (bytes read, bytes in all), per pass.
pub type Progress<'a> = &'a (dyn Fn(&str, u64, u64) + Sync);

/// The encoding of a file, from its first bytes: a UTF-8 BOM or valid UTF-8 is UTF-8; anything
/// else is read as Shift_JIS (Windows-31J), as Excel in Japan writes CSV.
pub fn detect_encoding(sample: &[u8]) -> &'static Encoding {
    if sample.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return UTF_8;
    }
    match std::str::from_utf8(sample) {
        Ok(_) => UTF_8,
        // Cut in the middle of a character at the end of the sample: still UTF-8.
        Err(e) if e.error_len().is_none() => UTF_8,
        Err(_) => SHIFT_JIS,
    }
}

/// Counts the bytes a reader has given, for the progress bar.
struct Counting<R> {
    inner: R,
    read: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

/// Remembers where the lines of the decoded text start, so a record's byte offset gives its
/// line. (The CSV reader's own line count drifts with CRLF endings and blank lines.)
#[derive(Clone, Default)]
struct Lines(std::sync::Arc<std::sync::Mutex<LineState>>);

#[derive(Default)]
struct LineState {
    /// Offsets of the line-break bytes (`\r`, `\n`) not yet passed.
    ahead: std::collections::VecDeque<(u64, u8)>,
    /// Newlines passed.
    passed: u64,
    /// Bytes read so far.
    offset: u64,
}

impl Lines {
    /// The 1-based line of the record the reader says starts at `offset`. The reader may put that
    /// start on line breaks left over from before (the `\n` of a CRLF, blank lines), so any
    /// line breaks right at `offset` are skipped first. Offsets must be asked in increasing order.
    fn line_of(&self, offset: u64) -> u64 {
        let Ok(mut s) = self.0.lock() else { return 0 };
        let mut start = offset;
        while let Some(&(pos, byte)) = s.ahead.front() {
            if pos > start {
                break;
            }
            if pos == start {
                start += 1;
            }
            if byte == b'\n' {
                s.passed += 1;
            }
            s.ahead.pop_front();
        }
        s.passed + 1
    }
}

struct LineIndexed<R> {
    inner: R,
    lines: Lines,
}

impl<R: Read> Read for LineIndexed<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Ok(mut s) = self.lines.0.lock() {
            let start = s.offset;
            for (i, b) in buf[..n].iter().enumerate() {
                if *b == b'\n' || *b == b'\r' {
                    s.ahead.push_back((start + i as u64, *b));
                }
            }
            s.offset += n as u64;
        }
        Ok(n)
    }
}

type Source = csv::Reader<Box<dyn Read + Send>>;

fn open(
    path: &Path,
    encoding: &'static Encoding,
    counter: std::sync::Arc<std::sync::atomic::AtomicU64>,
    lines: Lines,
) -> Result<Source, ImportError> {
    let file = Counting {
        inner: BufReader::new(File::open(path)?),
        read: counter,
    };
    let decoded = DecodeReaderBytesBuilder::new()
        .encoding(Some(encoding))
        .bom_override(true)
        .build(file);
    let reader: Box<dyn Read + Send> = Box::new(LineIndexed {
        inner: decoded,
        lines,
    });
    Ok(csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(reader))
}

/// One data row: its line and its cells by field, plus unknown columns.
pub(crate) struct Row {
    pub line: u64,
    pub cells: HashMap<&'static str, String>,
    pub extra: Vec<(String, String)>,
}

/// Imports a CSV file of `kind` into the store.
pub async fn import_file(
    store: &Store,
    kind: Kind,
    path: &Path,
    options: ImportOptions,
    actor: &Actor,
    progress: Progress<'_>,
) -> Result<ImportReport, ImportError> {
    let total = std::fs::metadata(path)?.len();
    let mut sample = vec![0u8; 64 * 1024];
    let n = File::open(path)?.read(&mut sample)?;
    let encoding = detect_encoding(&sample[..n]);
    let mut report = ImportReport {
        kind: Some(kind),
        encoding: encoding.name().to_string(),
        ..Default::default()
    };
    let mut ctx = rows::Context::load(store, kind).await?;

    // Pass 1: check everything.
    let bad_lines = run_pass(
        store,
        kind,
        path,
        encoding,
        total,
        &mut ctx,
        None,
        &mut report,
        progress,
    )
    .await?;
    if !bad_lines.is_empty() && !options.partial {
        return Ok(report);
    }
    if report.rows == bad_lines.len() as u64 {
        return Ok(report);
    }
    // Pass 2: write what is good.
    ctx.seen.clear();
    let mut write_report = ImportReport::default();
    run_pass(
        store,
        kind,
        path,
        encoding,
        total,
        &mut ctx,
        Some((actor, &bad_lines)),
        &mut write_report,
        progress,
    )
    .await?;
    report.inserted = write_report.inserted;
    report.updated = write_report.updated;
    report.committed = true;
    Ok(report)
}

#[allow(clippy::too_many_arguments)]
async fn run_pass(
    store: &Store,
    kind: Kind,
    path: &Path,
    encoding: &'static Encoding,
    total: u64,
    ctx: &mut rows::Context,
    write: Option<(&Actor, &std::collections::HashSet<u64>)>,
    report: &mut ImportReport,
    progress: Progress<'_>,
) -> Result<std::collections::HashSet<u64>, ImportError> {
    let step = if write.is_some() {
        "writing"
    } else {
        "checking"
    };
    let counter = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let lines = Lines::default();
    let mut reader = open(path, encoding, counter.clone(), lines.clone())?;
    let header = reader
        .headers()
        .map_err(|e| ImportError::Csv {
            line: 1,
            message: e.to_string(),
        })?
        .clone();
    let columns =
        headers::map(kind, &header).map_err(|e| ImportError::Header(format!("line 1: {e}")))?;
    if columns.iter().all(Option::is_none) {
        let expected: Vec<&str> = headers::fields(kind).iter().map(|(f, _)| *f).collect();
        return Err(ImportError::Header(format!(
            "line 1: no column is one Kizuna knows for {kind:?}; expected names such as {}",
            expected.join(", ")
        )));
    }
    let mut bad = std::collections::HashSet::new();
    let mut chunk = Vec::with_capacity(CHUNK);
    let mut record = csv::StringRecord::new();
    loop {
        let more = reader
            .read_record(&mut record)
            .map_err(|e| ImportError::Csv {
                line: e.position().map_or(0, |p| lines.line_of(p.byte())),
                message: e.to_string(),
            })?;
        if more {
            let line = record.position().map_or(0, |p| lines.line_of(p.byte()));
            if record.iter().all(str::is_empty) {
                continue;
            }
            let mut cells = HashMap::new();
            let mut extra = Vec::new();
            for (i, value) in record.iter().enumerate() {
                if value.is_empty() {
                    continue;
                }
                match columns.get(i).copied().flatten() {
                    Some(field) => {
                        cells.insert(field, value.to_string());
                    }
                    None => {
                        if let Some(name) = header.get(i).filter(|h| !h.is_empty()) {
                            extra.push((
                                name.trim_start_matches('\u{feff}').to_string(),
                                value.to_string(),
                            ));
                        }
                    }
                }
            }
            if record.len() > header.len() {
                // Cells beyond the header have no column name; say so instead of dropping them.
                report_error(
                    report,
                    &mut bad,
                    RowError {
                        line,
                        field: "row".into(),
                        message: format!(
                            "has {} cells; the header has {}",
                            record.len(),
                            header.len()
                        ),
                    },
                );
                continue;
            }
            report.rows += 1;
            chunk.push(Row { line, cells, extra });
        }
        if chunk.len() >= CHUNK || (!more && !chunk.is_empty()) {
            let rows = std::mem::take(&mut chunk);
            let prepared = rows::prepare(store, kind, ctx, rows).await?;
            match write {
                None => {
                    for (_, r) in &prepared {
                        if let Err(errors) = r {
                            for e in errors {
                                report_error(report, &mut bad, e.clone());
                            }
                        }
                    }
                }
                Some((actor, skip)) => {
                    let good: Vec<rows::Prepared> = prepared
                        .into_iter()
                        .filter(|(line, _)| !skip.contains(line))
                        .filter_map(|(_, r)| r.ok())
                        .collect();
                    let (inserted, updated) = rows::write(store, kind, good, actor).await?;
                    report.inserted += inserted;
                    report.updated += updated;
                }
            }
            progress(
                step,
                counter
                    .load(std::sync::atomic::Ordering::Relaxed)
                    .min(total),
                total,
            );
        }
        if !more {
            break;
        }
    }
    Ok(bad)
}

fn report_error(report: &mut ImportReport, bad: &mut std::collections::HashSet<u64>, e: RowError) {
    if bad.insert(e.line) {
        report.rejected += 1;
    }
    if report.errors.len() < MAX_REPORTED_ERRORS {
        report.errors.push(e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_counted_through_crlf_quoted_newlines_and_blank_lines() {
        let data = "a,b\r\nx,\"1\r\nmore\"\r\n\r\ny,2\r\nz,3\r\n";
        let lines = Lines::default();
        let reader = LineIndexed {
            inner: data.as_bytes(),
            lines: lines.clone(),
        };
        let mut csv = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
        let _ = csv.headers().unwrap();
        let mut record = csv::StringRecord::new();
        let mut got = Vec::new();
        while csv.read_record(&mut record).unwrap() {
            got.push((
                record[0].to_string(),
                lines.line_of(record.position().unwrap().byte()),
            ));
        }
        assert_eq!(
            got,
            [
                ("x".to_string(), 2),
                ("y".to_string(), 5),
                ("z".to_string(), 6)
            ]
        );
    }

    #[test]
    fn encodings_are_told_apart() {
        assert_eq!(detect_encoding(b"\xEF\xBB\xBFname\n"), UTF_8);
        assert_eq!(detect_encoding("取引先名\n".as_bytes()), UTF_8);
        let (sjis, _, _) = SHIFT_JIS.encode("取引先名,業種\n株式会社テスト,製造\n");
        assert_eq!(detect_encoding(&sjis), SHIFT_JIS);
        // A UTF-8 character cut at the end of the sample.
        let cut = &"名前".as_bytes()[..4];
        assert_eq!(detect_encoding(cut), UTF_8);
    }
}
