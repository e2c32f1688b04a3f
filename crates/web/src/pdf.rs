//! PDF rendering of a business review's [`Block`]s with `krilla` (PDF writing, font subsetting
//! and shaping) and `skrifa` (glyph advances, to break lines). The font is Noto Sans JP (SIL Open
//! Font License), fetched from the npm registry by `build.rs` and embedded: it covers Japanese and
//! Latin text, so one font serves both languages, and only the glyphs used go into each file.
//!
//! Layout is a single column on A4 with a cursor that moves down and starts a new page when the
//! next piece does not fit; charts are bars (and a line) with both axes labelled.

use std::sync::{Arc, OnceLock};

use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;
use krilla::text::{Font, TextDirection};
use krilla::Document;
use skrifa::instance::{LocationRef, Size};
use skrifa::{FontRef, MetadataProvider};

use crate::review::Block;

static REGULAR: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/node_modules/@expo-google-fonts/noto-sans-jp/400Regular/NotoSansJP_400Regular.ttf"
));
static BOLD: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/node_modules/@expo-google-fonts/noto-sans-jp/700Bold/NotoSansJP_700Bold.ttf"
));

const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 50.0;
const WIDTH: f32 = PAGE_W - 2.0 * MARGIN;
const BOTTOM: f32 = PAGE_H - MARGIN - 20.0;

struct Face {
    font: Font,
    data: &'static [u8],
}

impl Face {
    fn load(data: &'static [u8]) -> Result<Face, String> {
        let font = Font::new(Arc::new(data.to_vec()).into(), 0)
            .ok_or_else(|| "the embedded font cannot be read".to_string())?;
        Ok(Face { font, data })
    }

    /// The width of `text` at `size` points (advances only; no kerning).
    fn width(&self, text: &str, size: f32) -> f32 {
        let Ok(f) = FontRef::new(self.data) else {
            return text.chars().count() as f32 * size;
        };
        let charmap = f.charmap();
        let metrics = f.glyph_metrics(Size::new(size), LocationRef::default());
        text.chars()
            .map(|c| {
                charmap
                    .map(c)
                    .and_then(|g| metrics.advance_width(g))
                    .unwrap_or(size * 0.5)
            })
            .sum()
    }
}

fn faces() -> Result<&'static (Face, Face), String> {
    static FACES: OnceLock<Result<(Face, Face), String>> = OnceLock::new();
    FACES
        .get_or_init(|| Ok((Face::load(REGULAR)?, Face::load(BOLD)?)))
        .as_ref()
        .map_err(Clone::clone)
}

/// Breaks `text` into lines no wider than `width`: at spaces for Latin text, anywhere between
/// Japanese characters (which have no spaces), never inside a Latin word that fits on a line.
pub fn wrap(text: &str, width: f32, measure: &dyn Fn(&str) -> f32) -> Vec<String> {
    let mut lines = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        // Tokens: a run of non-space ASCII is one word; any other character stands alone.
        let mut tokens: Vec<String> = Vec::new();
        let mut word = String::new();
        for c in para.chars() {
            if c.is_ascii() && !c.is_ascii_whitespace() {
                word.push(c);
            } else {
                if !word.is_empty() {
                    tokens.push(std::mem::take(&mut word));
                }
                tokens.push(c.to_string());
            }
        }
        if !word.is_empty() {
            tokens.push(word);
        }
        for t in tokens {
            let candidate = format!("{line}{t}");
            if measure(&candidate) <= width || line.trim().is_empty() {
                line = candidate;
            } else {
                lines.push(line.trim_end().to_string());
                line = if t.trim().is_empty() {
                    String::new()
                } else {
                    t
                };
            }
        }
        lines.push(line.trim_end().to_string());
    }
    lines
}

struct Writer<'a> {
    regular: &'a Face,
    bold: &'a Face,
    pages: Vec<Vec<Op>>,
    y: f32,
}

/// What is drawn on a page; pages are laid out first and drawn at the end.
enum Op {
    Text {
        x: f32,
        y: f32,
        size: f32,
        bold: bool,
        text: String,
        color: (u8, u8, u8),
    },
    Rect {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        color: (u8, u8, u8),
    },
    Line {
        points: Vec<(f32, f32)>,
        color: (u8, u8, u8),
        width: f32,
    },
}

impl<'a> Writer<'a> {
    fn face(&self, bold: bool) -> &'a Face {
        if bold {
            self.bold
        } else {
            self.regular
        }
    }

    fn ensure(&mut self, height: f32) {
        if self.y + height > BOTTOM && self.y > MARGIN + 1.0 {
            self.pages.push(Vec::new());
            self.y = MARGIN;
        }
    }

    fn op(&mut self, op: Op) {
        if let Some(p) = self.pages.last_mut() {
            p.push(op);
        }
    }

    fn text_at(&mut self, x: f32, y: f32, size: f32, bold: bool, text: &str, color: (u8, u8, u8)) {
        self.op(Op::Text {
            x,
            y,
            size,
            bold,
            text: text.to_string(),
            color,
        });
    }

    fn paragraph(&mut self, text: &str, size: f32, bold: bool, indent: f32, color: (u8, u8, u8)) {
        self.marked_paragraph(text, size, bold, indent, color, None);
    }

    /// A paragraph with a marker (a bullet) left of its first line, on whatever page that
    /// line lands.
    fn marked_paragraph(
        &mut self,
        text: &str,
        size: f32,
        bold: bool,
        indent: f32,
        color: (u8, u8, u8),
        marker: Option<&str>,
    ) {
        let face = self.face(bold);
        let lines = wrap(text, WIDTH - indent, &|s| face.width(s, size));
        let lh = size * 1.5;
        for (n, l) in lines.iter().enumerate() {
            self.ensure(lh);
            self.y += lh;
            let baseline = self.y - size * 0.35;
            if let (0, Some(m)) = (n, marker) {
                self.text_at(MARGIN + 3.0, baseline, size, bold, m, color);
            }
            self.text_at(MARGIN + indent, baseline, size, bold, l, color);
        }
    }

    fn block(&mut self, b: &Block) {
        const INK: (u8, u8, u8) = (30, 30, 30);
        const MUTED: (u8, u8, u8) = (100, 100, 100);
        match b {
            Block::Title(t) => {
                self.paragraph(t, 20.0, true, 0.0, INK);
                self.y += 4.0;
            }
            Block::Subtitle(t) => {
                self.paragraph(t, 9.5, false, 0.0, MUTED);
                self.y += 6.0;
            }
            Block::Heading(t) => {
                // Keep a heading with what follows it (a chart is the tallest piece).
                self.ensure(110.0);
                self.y += 12.0;
                self.paragraph(t, 13.0, true, 0.0, (20, 60, 110));
                let y = self.y + 3.0;
                self.op(Op::Rect {
                    x: MARGIN,
                    y,
                    w: WIDTH,
                    h: 0.8,
                    color: (20, 60, 110),
                });
                self.y += 8.0;
            }
            Block::Paragraph(t) => {
                self.paragraph(t, 10.0, false, 0.0, INK);
                self.y += 3.0;
            }
            Block::Bullets(items) => {
                for it in items {
                    self.marked_paragraph(it, 10.0, false, 14.0, INK, Some("•"));
                }
                self.y += 3.0;
            }
            Block::Figures(pairs) => {
                // Up to four figures a row: the value large, the label small above it.
                for row in pairs.chunks(4) {
                    self.ensure(38.0);
                    let w = WIDTH / 4.0;
                    for (n, (label, value)) in row.iter().enumerate() {
                        let x = MARGIN + n as f32 * w;
                        let label_lines = wrap(label, w - 8.0, &|s| self.regular.width(s, 8.0));
                        self.text_at(x, self.y + 10.0, 8.0, false, &label_lines[0], MUTED);
                        self.text_at(x, self.y + 26.0, 12.5, true, value, INK);
                    }
                    self.y += 36.0;
                }
            }
            Block::Table {
                head,
                rows,
                numeric,
            } => {
                let cols = head.len().max(1);
                let first = WIDTH * 0.46;
                let other = (WIDTH - first) / (cols.saturating_sub(1).max(1)) as f32;
                let x_of = |n: usize| {
                    if n == 0 {
                        MARGIN
                    } else {
                        MARGIN + first + (n - 1) as f32 * other
                    }
                };
                let width_of = |n: usize| if n == 0 { first } else { other };
                let draw_row = |w: &mut Writer<'a>, cells: &[String], bold: bool| {
                    w.ensure(16.0);
                    w.y += 15.0;
                    for (n, c) in cells.iter().enumerate() {
                        let face = w.face(bold);
                        let size = 9.0;
                        let mut text = c.clone();
                        while face.width(&text, size) > width_of(n) - 6.0
                            && text.chars().count() > 1
                        {
                            text.pop();
                        }
                        let tw = face.width(&text, size);
                        let x = if numeric.get(n) == Some(&true) {
                            x_of(n) + width_of(n) - 4.0 - tw
                        } else {
                            x_of(n)
                        };
                        w.text_at(x, w.y - 4.0, size, bold, &text, INK);
                    }
                    w.op(Op::Rect {
                        x: MARGIN,
                        y: w.y + 0.5,
                        w: WIDTH,
                        h: 0.4,
                        color: (200, 200, 200),
                    });
                };
                draw_row(self, head, true);
                for r in rows {
                    draw_row(self, r, false);
                }
                self.y += 8.0;
            }
            Block::Chart {
                title,
                labels,
                bars,
                line,
                ..
            } => self.chart(title, labels, bars, line.as_ref()),
        }
    }

    fn chart(
        &mut self,
        title: &str,
        labels: &[String],
        bars: &(String, Vec<f64>),
        line: Option<&(String, Vec<Option<f64>>)>,
    ) {
        const AXIS: (u8, u8, u8) = (90, 90, 90);
        const BAR: (u8, u8, u8) = (70, 130, 180);
        const LINE: (u8, u8, u8) = (220, 120, 40);
        let height = 150.0;
        self.ensure(height + 50.0);
        self.y += 6.0;
        self.text_at(MARGIN, self.y + 10.0, 9.5, true, title, (30, 30, 30));
        // Legend.
        let mut lx = MARGIN + self.bold.width(title, 9.5) + 16.0;
        for (name, color) in std::iter::once((&bars.0, BAR)).chain(line.map(|l| (&l.0, LINE))) {
            self.op(Op::Rect {
                x: lx,
                y: self.y + 3.0,
                w: 8.0,
                h: 8.0,
                color,
            });
            self.text_at(lx + 11.0, self.y + 10.0, 8.0, false, name, AXIS);
            lx += 20.0 + self.regular.width(name, 8.0);
        }
        self.y += 20.0;
        let left = MARGIN + 40.0;
        let right = MARGIN + WIDTH - if line.is_some() { 36.0 } else { 6.0 };
        let top = self.y;
        let bottom = self.y + height - 30.0;
        let nice_max = |m: f64| -> f64 {
            if m <= 0.0 {
                return 1.0;
            }
            let p = 10f64.powf(m.log10().floor());
            let f = m / p;
            let step = if f <= 1.0 {
                1.0
            } else if f <= 2.0 {
                2.0
            } else if f <= 5.0 {
                5.0
            } else {
                10.0
            };
            step * p
        };
        let bar_max = nice_max(bars.1.iter().copied().fold(0.0, f64::max));
        let y_of = |v: f64, max: f64| bottom - ((v / max) as f32) * (bottom - top);
        // Axes, grid lines and tick labels (0, half, max) on the left; the line's on the right.
        for k in 0..=2 {
            let v = bar_max * k as f64 / 2.0;
            let y = y_of(v, bar_max);
            self.op(Op::Rect {
                x: left,
                y,
                w: right - left,
                h: 0.3,
                color: (215, 215, 215),
            });
            let t = short(v);
            let tw = self.regular.width(&t, 7.5);
            self.text_at(left - 4.0 - tw, y + 2.5, 7.5, false, &t, AXIS);
        }
        self.op(Op::Rect {
            x: left,
            y: top,
            w: 0.6,
            h: bottom - top,
            color: AXIS,
        });
        self.op(Op::Rect {
            x: left,
            y: bottom,
            w: right - left,
            h: 0.6,
            color: AXIS,
        });
        let n = labels.len().max(1);
        let slot = (right - left) / n as f32;
        for (k, v) in bars.1.iter().enumerate() {
            let x = left + slot * k as f32 + slot * 0.2;
            let y = y_of(*v, bar_max);
            self.op(Op::Rect {
                x,
                y,
                w: slot * 0.6,
                h: bottom - y,
                color: BAR,
            });
        }
        let every = (n / 8).max(1);
        for (k, l) in labels.iter().enumerate().filter(|(k, _)| k % every == 0) {
            let tw = self.regular.width(l, 7.5);
            let cx = left + slot * (k as f32 + 0.5);
            self.text_at(cx - tw / 2.0, bottom + 11.0, 7.5, false, l, AXIS);
        }
        if let Some((_, values)) = line {
            let line_max = nice_max(values.iter().flatten().copied().fold(0.0, f64::max));
            for k in 0..=2 {
                let v = line_max * k as f64 / 2.0;
                self.text_at(
                    right + 4.0,
                    y_of(v, line_max) + 2.5,
                    7.5,
                    false,
                    &short(v),
                    LINE,
                );
            }
            let points: Vec<(f32, f32)> = values
                .iter()
                .enumerate()
                .filter_map(|(k, v)| v.map(|v| (left + slot * (k as f32 + 0.5), y_of(v, line_max))))
                .collect();
            for p in &points {
                self.op(Op::Rect {
                    x: p.0 - 1.8,
                    y: p.1 - 1.8,
                    w: 3.6,
                    h: 3.6,
                    color: LINE,
                });
            }
            if points.len() > 1 {
                self.op(Op::Line {
                    points,
                    color: LINE,
                    width: 1.4,
                });
            }
        }
        self.y = bottom + 24.0;
    }
}

/// A short axis label: 1,200 → 1.2k.
fn short(v: f64) -> String {
    if v >= 1_000_000.0 {
        format!("{}M", trim(v / 1_000_000.0))
    } else if v >= 1_000.0 {
        format!("{}k", trim(v / 1_000.0))
    } else {
        trim(v)
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map(String::from).unwrap_or(s)
}

fn fill(color: (u8, u8, u8)) -> Fill {
    Fill {
        paint: rgb::Color::new(color.0, color.1, color.2).into(),
        opacity: NormalizedF32::ONE,
        rule: Default::default(),
    }
}

fn draw(
    surface: &mut Surface<'_>,
    ops: &[Op],
    faces: &(Face, Face),
    footer: &str,
    page: usize,
    pages: usize,
) {
    for op in ops {
        match op {
            Op::Text {
                x,
                y,
                size,
                bold,
                text,
                color,
            } => {
                surface.set_fill(Some(fill(*color)));
                surface.set_stroke(None);
                let font = if *bold { &faces.1.font } else { &faces.0.font };
                surface.draw_text(
                    Point::from_xy(*x, *y),
                    font.clone(),
                    *size,
                    text,
                    false,
                    TextDirection::Auto,
                );
            }
            Op::Rect { x, y, w, h, color } => {
                if let Some(rect) = Rect::from_xywh(*x, *y, w.max(0.1), h.max(0.1)) {
                    let mut pb = PathBuilder::new();
                    pb.push_rect(rect);
                    if let Some(path) = pb.finish() {
                        surface.set_fill(Some(fill(*color)));
                        surface.set_stroke(None);
                        surface.draw_path(&path);
                    }
                }
            }
            Op::Line {
                points,
                color,
                width,
            } => {
                let mut pb = PathBuilder::new();
                for (k, (x, y)) in points.iter().enumerate() {
                    if k == 0 {
                        pb.move_to(*x, *y);
                    } else {
                        pb.line_to(*x, *y);
                    }
                }
                if let Some(path) = pb.finish() {
                    surface.set_fill(None);
                    surface.set_stroke(Some(Stroke {
                        paint: rgb::Color::new(color.0, color.1, color.2).into(),
                        width: *width,
                        ..Default::default()
                    }));
                    surface.draw_path(&path);
                    surface.set_stroke(None);
                }
            }
        }
    }
    let grey = (120, 120, 120);
    surface.set_fill(Some(fill(grey)));
    let number = format!("{page} / {pages}");
    let w = faces.0.width(&number, 8.0);
    surface.draw_text(
        Point::from_xy(MARGIN, PAGE_H - MARGIN + 10.0),
        faces.0.font.clone(),
        8.0,
        footer,
        false,
        TextDirection::Auto,
    );
    surface.draw_text(
        Point::from_xy(PAGE_W - MARGIN - w, PAGE_H - MARGIN + 10.0),
        faces.0.font.clone(),
        8.0,
        &number,
        false,
        TextDirection::Auto,
    );
}

/// Lays out and writes the blocks as an A4 PDF with a footer and page numbers.
pub fn render(blocks: &[Block], title: &str, lang: &str, footer: &str) -> Result<Vec<u8>, String> {
    let faces = faces()?;
    let mut w = Writer {
        regular: &faces.0,
        bold: &faces.1,
        pages: vec![Vec::new()],
        y: MARGIN,
    };
    for b in blocks {
        w.block(b);
    }
    let mut doc = Document::new();
    doc.set_metadata(
        krilla::metadata::Metadata::new()
            .title(title.to_string())
            .language(lang.to_string())
            .creator("Kizuna".to_string()),
    );
    let total = w.pages.len();
    for (n, ops) in w.pages.iter().enumerate() {
        let settings = PageSettings::from_wh(PAGE_W, PAGE_H).ok_or("bad page size")?;
        let mut page = doc.start_page_with(settings);
        let mut surface = page.surface();
        draw(&mut surface, ops, faces, footer, n + 1, total);
        surface.finish();
        page.finish();
    }
    doc.finish().map_err(|e| format!("{e:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_latin_at_spaces_and_japanese_anywhere() {
        // One unit per character.
        let m = |s: &str| s.chars().count() as f32;
        assert_eq!(
            wrap("Roll out the reports module", 12.0, &m),
            vec!["Roll out the", "reports", "module"]
        );
        assert_eq!(
            wrap("経営会議でレポートを共有する", 5.0, &m),
            vec!["経営会議で", "レポートを", "共有する"]
        );
        assert_eq!(wrap("a\nb", 10.0, &m), vec!["a", "b"]);
        // A word longer than the line stays whole on its own line.
        assert_eq!(
            wrap("x supercalifragilistic y", 6.0, &m),
            vec!["x", "supercalifragilistic", "y"]
        );
    }

    #[test]
    fn renders_a_pdf_with_japanese_text() {
        let blocks = vec![
            Block::Title("四半期ビジネスレビュー".into()),
            Block::Heading("利用状況".into()),
            Block::Paragraph("期間中のイベント数 1,200".into()),
            Block::Chart {
                id: "c".into(),
                title: "月別".into(),
                labels: vec!["7月".into(), "8月".into(), "9月".into()],
                bars: ("イベント".into(), vec![100.0, 300.0, 250.0]),
                line: Some(("ユーザー".into(), vec![Some(3.0), None, Some(5.0)])),
            },
        ];
        let pdf = render(&blocks, "QBR", "ja", "Kizuna").unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        // Subset, not the whole 5 MB font.
        assert!(pdf.len() < 400_000, "{} bytes", pdf.len());
        assert!(short(1500.0) == "1.5k" && short(2_000_000.0) == "2M" && short(40.0) == "40");
    }
}
