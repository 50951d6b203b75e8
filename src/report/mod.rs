//! `unet-nas report`: one self-contained HTML page about a search.
//!
//! The page holds what a reader needs to trust and share a result, with
//! nothing to fetch: the fitness curve, every candidate on the cost-quality
//! plane with its Pareto front, the best and the original architecture,
//! test translations, the Table 1 comparison and the resolved settings.
//! Plots are SVG made with plotters and inlined; images are inlined PNG.
//! A section whose material does not exist yet (a search still running, no
//! `evaluate` yet) stays on the page and says why it is empty and how to
//! fill it.

mod architecture;
mod charts;
mod page;
mod translations;

use std::path::{Path, PathBuf};

use crate::cost::Cost;
use crate::evaluate::ModelEvaluation;
use crate::genome::Genome;
use crate::io::write_bytes_atomically;
use crate::plan::{ImageChannels, LayerPlan};
use crate::search::{SearchError, SearchRecord, load_record};
use page::{Page, Section};

pub use charts::{Point, pareto_front};

/// Why no report could be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The folder is not a search run.
    #[error(transparent)]
    Search(#[from] SearchError),
    /// The search has not finished evaluating any candidate.
    #[error(
        "{path}: the search has no finished evaluation yet (trials.jsonl is empty); let it evaluate at least one candidate, or resume it with `unet-nas search --resume {path}`"
    )]
    NothingEvaluated {
        /// The search folder.
        path: PathBuf,
    },
    /// The page could not be written.
    #[error("cannot write {path}: {message}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

/// What to put in the report.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// Test images in the translation grid.
    pub images: usize,
}

impl Default for ReportOptions {
    fn default() -> Self {
        Self { images: 6 }
    }
}

/// What was written.
#[derive(Debug, Clone)]
pub struct ReportSummary {
    /// The HTML file.
    pub path: PathBuf,
    /// Section titles, each with `None` when filled or the reason it is
    /// empty.
    pub sections: Vec<(String, Option<String>)>,
}

/// Writes the report of the search in `run_dir` to `out` (atomically).
pub fn write_report(
    run_dir: &Path,
    out: &Path,
    options: &ReportOptions,
) -> Result<ReportSummary, ReportError> {
    let record = load_record(run_dir)?;
    if record.trials.is_empty() {
        return Err(ReportError::NothingEvaluated {
            path: run_dir.to_path_buf(),
        });
    }

    let page = build_page(run_dir, &record, options);
    let html = page.render();
    write_bytes_atomically(out, html.as_bytes()).map_err(|error| ReportError::Write {
        path: out.to_path_buf(),
        message: error.to_string(),
    })?;
    Ok(ReportSummary {
        path: out.to_path_buf(),
        sections: page
            .sections
            .iter()
            .map(|section| (section.title.clone(), section.empty_reason()))
            .collect(),
    })
}

fn build_page(run_dir: &Path, record: &SearchRecord, options: &ReportOptions) -> Page {
    let config = &record.config;
    let depth = config.size.depth();
    let original = Genome::pix2pix(depth);
    let best = best_trial(record);
    let channels = ImageChannels {
        input: config.in_channels,
        output: config.out_channels,
    };

    let mut page = Page::new(
        format!("unet-nas search: {}", run_dir.display()),
        summary_html(run_dir, record, &best, &original, channels),
    );
    page.sections.push(fitness_section(record));
    page.sections
        .push(pareto_section(record, &best.genome, &original));
    page.sections.push(architecture_section(
        &best.genome,
        &original,
        config.size,
        channels,
    ));
    page.sections
        .push(translation_section(run_dir, record, options));
    page.sections.push(table_section(run_dir, record));
    page.sections.push(config_section(run_dir));
    page
}

/// The best candidate: the last generation's best, or the fittest trial
/// while no generation has finished.
struct Best {
    genome: String,
    fitness: f64,
    source: String,
}

fn best_trial(record: &SearchRecord) -> Best {
    if let Some(last) = record.generations.last() {
        return Best {
            genome: last.best.genome.clone(),
            fitness: last.best.fitness,
            source: format!("best of generation {}", last.generation),
        };
    }
    let fittest = record
        .trials
        .iter()
        .max_by(|a, b| a.fitness.total_cmp(&b.fitness))
        .expect("at least one trial");
    Best {
        genome: fittest.genome.clone(),
        fitness: fittest.fitness,
        source: "fittest candidate so far (no generation has finished)".into(),
    }
}

fn summary_html(
    run_dir: &Path,
    record: &SearchRecord,
    best: &Best,
    original: &Genome,
    channels: ImageChannels,
) -> String {
    let config = &record.config;
    let failures = record.trials.iter().filter(|t| t.failure.is_some()).count();
    let cost_of = |genome: &str| {
        genome
            .parse::<Genome>()
            .ok()
            .map(|genome| Cost::of(&LayerPlan::decode(&genome, config.size, channels)))
    };
    let best_cost = cost_of(&best.genome);
    let original_cost = Cost::of(&LayerPlan::decode(original, config.size, channels));
    let ratio = |part: u64, whole: u64| format!("{:.1}%", 100.0 * part as f64 / whole as f64);

    let mut rows = vec![
        (
            "search folder",
            page::escape(&run_dir.display().to_string()),
        ),
        ("data", page::escape(&config.data.to_string())),
        (
            "image side",
            format!("{} px (n = {})", config.size.side(), config.size.depth()),
        ),
        (
            "generations finished",
            format!("{} of {}", record.generations.len(), config.generations),
        ),
        (
            "candidates evaluated",
            format!("{} ({} failed, fitness 0)", record.trials.len(), failures),
        ),
        (
            "fitness",
            format!(
                "1 / (validation loss + {} × cost), cost = {:?} relative to the original",
                config.gamma, config.cost
            ),
        ),
        (
            "best genome",
            format!(
                "<code>{}</code> (fitness {:.5}, {})",
                page::escape(&best.genome),
                best.fitness,
                best.source
            ),
        ),
        ("original genome", format!("<code>{original}</code>")),
    ];
    if let Some(cost) = best_cost {
        rows.push((
            "parameters",
            format!(
                "{} vs {} ({} of the original)",
                cost.parameters,
                original_cost.parameters,
                ratio(cost.parameters, original_cost.parameters)
            ),
        ));
        rows.push((
            "paper FLOPs",
            format!(
                "{} vs {} ({})",
                charts::short_number(cost.paper_flops as f64),
                charts::short_number(original_cost.paper_flops as f64),
                ratio(cost.paper_flops, original_cost.paper_flops)
            ),
        ));
        rows.push((
            "MACs",
            format!(
                "{} vs {} ({})",
                charts::short_number(cost.macs as f64),
                charts::short_number(original_cost.macs as f64),
                ratio(cost.macs, original_cost.macs)
            ),
        ));
    }
    page::key_value_table(&rows)
}

fn fitness_section(record: &SearchRecord) -> Section {
    let title = "Fitness per generation";
    if record.generations.is_empty() {
        return Section::empty(
            title,
            format!(
                "No generation has finished yet ({} candidates of generation 0 evaluated so far).",
                record.trials.len()
            ),
        );
    }
    match charts::fitness_chart(&record.generations) {
        Ok(svg) => Section::figure(
            title,
            svg,
            "Best and mean fitness of each generation's population; the best never falls, since the best genome is always kept.",
        ),
        Err(error) => Section::empty(title, error),
    }
}

fn pareto_section(record: &SearchRecord, best: &str, original: &Genome) -> Section {
    let title = "Cost against quality";
    let failed = record.trials.iter().filter(|t| t.loss.is_none()).count();
    match charts::pareto_chart(&record.trials, best, &original.to_string()) {
        Ok(svg) => {
            let mut caption = format!(
                "Every evaluated candidate ({}) as paper FLOPs per image against the validation loss its fitness used; the Pareto front joins the candidates no other beats on both.",
                record.trials.len() - failed
            );
            if failed > 0 {
                caption += &format!(" {failed} failed candidates (no loss) are not shown.");
            }
            Section::figure(title, svg, &caption)
        }
        Err(reason) => Section::empty(title, reason),
    }
}

fn architecture_section(
    best: &str,
    original: &Genome,
    size: crate::genome::ImageSize,
    channels: ImageChannels,
) -> Section {
    let title = "Architectures";
    let Ok(best_genome) = best.parse::<Genome>() else {
        return Section::empty(title, format!("the best genome '{best}' does not parse"));
    };
    let mut figures = Vec::new();
    for (name, genome) in [
        ("Searched", &best_genome),
        ("Original pix2pix U-Net", original),
    ] {
        let plan = LayerPlan::decode(genome, size, channels);
        match architecture::architecture_svg(&plan) {
            Ok(svg) => figures.push((svg, format!("{name}: <code>{genome}</code>"))),
            Err(error) => return Section::empty(title, error),
        }
    }
    Section::figures(title, figures)
}

fn translation_section(run_dir: &Path, record: &SearchRecord, options: &ReportOptions) -> Section {
    let title = "Test translations";
    match translations::translation_grid(run_dir, &record.config.data, options.images) {
        Ok(grid) if grid.rows.is_empty() => Section::empty(title, "the test split is empty".into()),
        Ok(grid) => Section::html(title, page::translation_grid(&grid)),
        Err(reason) => Section::empty(title, reason),
    }
}

fn table_section(run_dir: &Path, record: &SearchRecord) -> Section {
    let title = "Comparison (Table 1)";
    let mut evaluations = Vec::new();
    for (label, folder) in [("original", "final/original"), ("searched", "final/best")] {
        for evaluation in read_evaluations(&run_dir.join(folder)) {
            evaluations.push((label.to_string(), evaluation));
        }
    }
    if evaluations.is_empty() {
        let data = record.config.data.to_string();
        let command = format!(
            "unet-nas evaluate --model {0}/final/best{1} --data {data}",
            run_dir.display(),
            if run_dir.join("final/original").exists() {
                format!(" --model {}/final/original", run_dir.display())
            } else {
                String::new()
            }
        );
        return Section::empty(
            title,
            format!(
                "No evaluation of the final models yet. Run <code>{}</code>, then write the report again.",
                page::escape(&command)
            ),
        );
    }
    Section::html(title, page::evaluation_tables(&evaluations))
}

/// Every `evaluations/*.json` of a training run, sorted by data set.
fn read_evaluations(run_dir: &Path) -> Vec<ModelEvaluation> {
    let Ok(entries) = std::fs::read_dir(run_dir.join("evaluations")) else {
        return Vec::new();
    };
    let mut found: Vec<ModelEvaluation> = entries
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let text = std::fs::read_to_string(&path).ok()?;
            match serde_json::from_str(&text) {
                Ok(evaluation) => Some(evaluation),
                Err(error) => {
                    tracing::warn!("skipped {}: {error}", path.display());
                    None
                }
            }
        })
        .collect();
    found.sort_by(|a, b| a.data.cmp(&b.data));
    found
}

fn config_section(run_dir: &Path) -> Section {
    let title = "Settings";
    match std::fs::read_to_string(run_dir.join("search.toml")) {
        Ok(text) => Section::html(
            title,
            format!(
                "<p>The resolved <code>search.toml</code>; <code>unet-nas search --config</code> reads it back.</p><pre>{}</pre>",
                page::escape(&text)
            ),
        ),
        Err(error) => Section::empty(title, format!("cannot read search.toml: {error}")),
    }
}
