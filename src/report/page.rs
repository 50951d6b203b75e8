//! The HTML page around the report's figures: layout, tables, inlined
//! images, and a load check that records on `<body>` whether every figure
//! and image rendered (read by the browser test, harmless to readers).

use std::io::Cursor;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use image::DynamicImage;

use super::translations::Grid;
use crate::evaluate::ModelEvaluation;
use crate::evaluate::fcn::FcnScore;

/// One titled part of the page.
pub struct Section {
    /// Its heading.
    pub title: String,
    body: Body,
}

enum Body {
    Figures(Vec<(String, String)>),
    Html(String),
    Empty(String),
}

impl Section {
    /// One SVG figure with a caption (plain text).
    pub fn figure(title: &str, svg: String, caption: &str) -> Self {
        Self::figures(title, vec![(svg, escape(caption))])
    }

    /// Several SVG figures, captions given as HTML.
    pub fn figures(title: &str, figures: Vec<(String, String)>) -> Self {
        Self {
            title: title.into(),
            body: Body::Figures(figures),
        }
    }

    /// Ready HTML.
    pub fn html(title: &str, html: String) -> Self {
        Self {
            title: title.into(),
            body: Body::Html(html),
        }
    }

    /// A section with nothing to show yet; `reason` (HTML) says why.
    pub fn empty(title: &str, reason: String) -> Self {
        Self {
            title: title.into(),
            body: Body::Empty(reason),
        }
    }

    /// The reason as plain text, when the section is empty.
    pub fn empty_reason(&self) -> Option<String> {
        match &self.body {
            Body::Empty(reason) => Some(strip_tags(reason)),
            _ => None,
        }
    }

    fn render(&self, id: usize) -> String {
        let body = match &self.body {
            Body::Figures(figures) => figures
                .iter()
                .map(|(svg, caption)| {
                    format!("<figure>{svg}<figcaption>{caption}</figcaption></figure>")
                })
                .collect::<Vec<_>>()
                .join("\n"),
            Body::Html(html) => html.clone(),
            Body::Empty(reason) => format!("<p class=\"empty\">Empty: {reason}</p>"),
        };
        format!(
            "<section id=\"s{id}\"><h2>{}</h2>\n{body}\n</section>",
            escape(&self.title)
        )
    }
}

/// The whole page.
pub struct Page {
    title: String,
    summary: String,
    /// Sections in page order.
    pub sections: Vec<Section>,
}

impl Page {
    /// A page with a title and a summary block (HTML).
    pub fn new(title: String, summary: String) -> Self {
        Self {
            title,
            summary,
            sections: Vec::new(),
        }
    }

    /// The complete HTML document.
    pub fn render(&self) -> String {
        let contents: String = self
            .sections
            .iter()
            .enumerate()
            .map(|(id, section)| {
                let mark = if section.empty_reason().is_some() {
                    " (empty)"
                } else {
                    ""
                };
                format!(
                    "<li><a href=\"#s{id}\">{}</a>{mark}</li>",
                    escape(&section.title)
                )
            })
            .collect();
        let sections: Vec<String> = self
            .sections
            .iter()
            .enumerate()
            .map(|(id, section)| section.render(id))
            .collect();
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{title}</title>\n<style>{STYLE}</style>\n<script>{LOAD_CHECK}</script>\n</head>\n<body>\n<header><h1>{title}</h1><p class=\"made\">Written by unet-nas {version}.</p></header>\n<main>\n{summary}\n<nav><ol>{contents}</ol></nav>\n{sections}\n</main>\n</body>\n</html>\n",
            title = escape(&self.title),
            version = env!("CARGO_PKG_VERSION"),
            summary = self.summary,
            sections = sections.join("\n"),
        )
    }
}

/// A two-column table of labels (plain text) and values (HTML).
pub fn key_value_table(rows: &[(&str, String)]) -> String {
    let rows: String = rows
        .iter()
        .map(|(key, value)| format!("<tr><th>{}</th><td>{value}</td></tr>", escape(key)))
        .collect();
    format!("<table class=\"summary\">{rows}</table>")
}

/// The translation grid as a table of inlined PNGs.
pub fn translation_grid(grid: &Grid) -> String {
    let mut html = format!(
        "<p>First {} pairs of {} in eval mode (BatchNorm running statistics, no dropout).",
        grid.rows.len(),
        escape(&grid.source)
    );
    if let Some(note) = &grid.original_note {
        html += &format!(" No original column: {}.", escape(note));
    }
    html += "</p><div class=\"scroll\"><table class=\"grid\"><tr><th>pair</th><th>input</th>";
    if grid.original_note.is_none() {
        html += "<th>original U-Net</th>";
    }
    html += "<th>searched</th><th>target</th></tr>";
    for row in &grid.rows {
        html += &format!("<tr><td>{}</td>", escape(&row.name));
        let mut cells = vec![("input", &row.input)];
        if let Some(original) = &row.original {
            cells.push(("original", original));
        }
        cells.push(("searched", &row.searched));
        cells.push(("target", &row.target));
        for (what, image) in cells {
            html += &format!(
                "<td>{}</td>",
                inline_png(image, &format!("{what}, {}", row.name))
            );
        }
        html += "</tr>";
    }
    html + "</table></div>"
}

/// Table 1 per data set: the ground-truth row, then each model.
pub fn evaluation_tables(evaluations: &[(String, ModelEvaluation)]) -> String {
    let mut data_sets: Vec<&str> = evaluations.iter().map(|(_, e)| e.data.as_str()).collect();
    data_sets.dedup();
    let mut html = String::new();
    for data in data_sets {
        let rows: Vec<&(String, ModelEvaluation)> =
            evaluations.iter().filter(|(_, e)| e.data == data).collect();
        html += &format!(
            "<h3>{}</h3><div class=\"scroll\"><table class=\"numbers\"><tr><th>model</th><th>genome</th><th>parameters</th><th>size (MB)</th><th>paper FLOPs</th><th>MACs</th><th>latency (ms)</th><th>pixel acc</th><th>class acc</th><th>IoU</th><th>L1</th><th>PSNR (dB)</th><th>SSIM</th></tr>",
            escape(data)
        );
        if let Some(truth) = rows.iter().find_map(|(_, e)| e.fcn_ground_truth) {
            html += &format!(
                "<tr class=\"reference\"><td>ground truth (real test images)</td><td></td><td></td><td></td><td></td><td></td><td></td>{}<td></td><td></td><td></td></tr>",
                fcn_cells(Some(truth))
            );
        }
        for (label, e) in &rows {
            html += &format!(
                "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{:.2}</td><td>{}</td><td>{}</td><td>{:.1}</td>{}<td>{:.4}</td><td>{}</td><td>{:.4}</td></tr>",
                escape(label),
                escape(&e.genome),
                e.parameters,
                e.model_mb,
                super::charts::short_number(e.paper_flops as f64),
                super::charts::short_number(e.macs as f64),
                e.latency_ms,
                fcn_cells(e.fcn),
                e.l1,
                e.psnr.map_or("inf".into(), |p| format!("{p:.2}")),
                e.ssim
            );
        }
        html += "</table></div>";
        let notes: Vec<String> = rows
            .iter()
            .filter_map(|(_, e)| e.fcn_note.clone())
            .collect();
        let mut caption = format!(
            "{} test images; L1, PSNR (peak 1) and SSIM on pixels in [0, 1]; latency per image at batch 1 on the evaluating machine.",
            rows[0].1.images
        );
        if let Some(note) = notes.first() {
            caption += &format!(" {note}.");
        }
        html += &format!("<p class=\"caption\">{}</p>", escape(&caption));
    }
    html
}

fn fcn_cells(score: Option<FcnScore>) -> String {
    match score {
        Some(s) => format!(
            "<td>{:.3}</td><td>{:.3}</td><td>{:.3}</td>",
            s.pixel_accuracy, s.class_accuracy, s.mean_iou
        ),
        None => "<td>-</td><td>-</td><td>-</td>".into(),
    }
}

/// An `<img>` with the image inlined as a PNG data URI.
fn inline_png(image: &DynamicImage, alt: &str) -> String {
    let mut bytes = Vec::new();
    if let Err(error) = image.write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png) {
        return format!("(cannot encode: {})", escape(&error.to_string()));
    }
    // Small images are shown enlarged by a whole factor (pixelated), so
    // 16x16 test images stay visible.
    let scale = 128u32.div_ceil(image.width().max(1)).max(1);
    format!(
        "<img src=\"data:image/png;base64,{}\" alt=\"{}\" width=\"{}\" height=\"{}\">",
        STANDARD.encode(&bytes),
        escape(alt),
        image.width() * scale,
        image.height() * scale,
    )
}

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// Text of an HTML fragment with its tags removed and entities decoded
/// (for terminal messages).
fn strip_tags(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

const STYLE: &str = "
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 0; color: #1d1d1f; background: #fafafa; }
header { background: #1f3b5a; color: white; padding: 18px 32px; }
header h1 { margin: 0; font-size: 22px; font-weight: 600; word-break: break-all; }
header .made { margin: 4px 0 0; opacity: 0.75; font-size: 13px; }
main { max-width: 1100px; margin: 0 auto; padding: 16px 32px 48px; }
section { background: white; border: 1px solid #e2e2e2; border-radius: 8px; padding: 8px 20px 16px; margin: 18px 0; }
h2 { font-size: 18px; border-bottom: 1px solid #eee; padding-bottom: 6px; }
h3 { font-size: 15px; margin-bottom: 6px; }
figure { margin: 12px 0; overflow-x: auto; }
figure svg { max-width: 100%; height: auto; display: block; }
figcaption, .caption { font-size: 13px; color: #555; margin-top: 4px; }
table { border-collapse: collapse; font-size: 13px; }
div.scroll { overflow-x: auto; }
table.summary th { text-align: left; padding: 3px 16px 3px 0; color: #555; font-weight: 500; vertical-align: top; }
table.numbers th, table.numbers td { border-bottom: 1px solid #eee; padding: 4px 8px; text-align: right; white-space: nowrap; }
table.numbers td:first-child, table.numbers th:first-child, table.numbers td:nth-child(2) { text-align: left; }
table.numbers tr.reference td { color: #555; font-style: italic; }
table.grid td, table.grid th { padding: 4px; text-align: center; font-size: 12px; }
table.grid img { image-rendering: pixelated; border: 1px solid #ddd; }
nav ol { columns: 2; font-size: 14px; }
pre { background: #f4f4f4; padding: 10px; border-radius: 6px; overflow-x: auto; font-size: 12px; }
p.empty { color: #8a5a00; background: #fff6e0; border-left: 3px solid #e0a800; padding: 8px 12px; }
code { font-size: 12px; }
";

/// Records on `<body>` whether the page rendered: `data-rendered` is `ok`
/// or lists what failed, `data-figures` and `data-images` count what
/// rendered, `data-errors` collects script and resource errors.
const LOAD_CHECK: &str = "
window.addEventListener('error', function (event) {
  var what = event.message || ('could not load ' + ((event.target && event.target.tagName) || 'a resource'));
  document.documentElement.dataset.errors = (document.documentElement.dataset.errors || '') + what + '; ';
}, true);
window.addEventListener('load', function () {
  var problems = [];
  var figures = document.querySelectorAll('figure svg');
  var images = document.querySelectorAll('img');
  figures.forEach(function (svg, i) {
    var box = svg.getBoundingClientRect();
    if (box.width < 10 || box.height < 10) problems.push('figure ' + i + ' has no size');
  });
  images.forEach(function (img, i) {
    if (!img.complete || img.naturalWidth === 0) problems.push('image ' + i + ' did not decode');
  });
  var errors = document.documentElement.dataset.errors;
  if (errors) problems.push(errors);
  document.body.dataset.figures = figures.length;
  document.body.dataset.images = images.length;
  document.body.dataset.rendered = problems.length ? problems.join(' | ') : 'ok';
});
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(strip_tags("run <code>a &amp; b</code>"), "run a & b");
    }

    #[test]
    fn empty_sections_say_why_and_the_contents_mark_them() {
        let mut page = Page::new("t".into(), String::new());
        page.sections.push(Section::empty(
            "Numbers",
            "no <code>evaluate</code> yet".into(),
        ));
        page.sections
            .push(Section::html("Text", "<p>hi</p>".into()));
        let html = page.render();
        assert!(html.contains("Empty: no <code>evaluate</code> yet"));
        assert!(html.contains("Numbers</a> (empty)"));
        assert!(!html.contains("Text</a> (empty)"));
        assert_eq!(
            page.sections[0].empty_reason().as_deref(),
            Some("no evaluate yet")
        );
    }
}
