//! The generational loop, its run folder, and the final training.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use rand::seq::index::sample;
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use super::config::SearchConfig;
use super::evaluate::{Evaluator, Trial};
use super::operators::{Operation, crossover, mutate, random_genome, roulette};
use crate::data::{DataError, PairSet, Split};
use crate::genome::Genome;
use crate::io::{append_line, write_bytes_atomically};
use crate::seed::{stable_hash, stream};
use crate::train::{RunState, TrainError};

/// Version of the search-folder format written by this build.
pub const FORMAT_VERSION: u32 = 1;

/// Stream names below the search seed.
mod streams {
    pub const INITIAL_POPULATION: u64 = 10;
    pub const BREEDING: u64 = 11;
    pub const SUBSETS: u64 = 12;
}

/// Why a search stopped.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// A setting is invalid.
    #[error("invalid setting: {0}")]
    Config(String),
    /// The data cannot be used.
    #[error(transparent)]
    Data(#[from] DataError),
    /// A file of the run folder could not be read or written.
    #[error("{0}")]
    Io(String),
    /// `--resume` of a folder that is not a search.
    #[error("{path} is not a search run folder ({reason})")]
    NotASearch {
        /// The folder.
        path: PathBuf,
        /// What is missing.
        reason: String,
    },
    /// The saved config differs from the one given.
    #[error(
        "the config of {path} was edited ({detail}); only --generations may change on --resume"
    )]
    ConfigChanged {
        /// The folder.
        path: PathBuf,
        /// Which setting differs.
        detail: String,
    },
    /// The folder already holds a search.
    #[error("{0} already holds a search; use --resume to continue it or pick another --out")]
    SearchExists(PathBuf),
    /// The final training failed.
    #[error("final training: {0}")]
    Final(#[from] TrainError),
    /// Ctrl-C: stopped after the evaluations in flight.
    #[error("interrupted; continue with --resume {0}")]
    Interrupted(PathBuf),
}

/// One generation as saved in `generations/NNNN.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Generation {
    /// Format version.
    pub format_version: u32,
    /// Generation number, from 0.
    pub generation: usize,
    /// Genomes in population order, with their fitness.
    pub population: Vec<Member>,
    /// The fittest member (first of equals).
    pub best: Member,
    /// Mean fitness of the population.
    pub mean_fitness: f64,
    /// The random stream the next generation is bred from: the seed and the
    /// path below it (see `unet_nas::seed`). Recreating it needs nothing else.
    pub next_rng: RngState,
    /// Seconds since the search started, summed over sessions.
    pub elapsed_seconds: f64,
    /// Fingerprint of the settings that produced it (every setting but
    /// `generations`), so a resume with edited settings is refused.
    pub config_fingerprint: String,
}

/// A genome and its fitness.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    /// Genome text.
    pub genome: String,
    /// Its fitness.
    pub fitness: f64,
}

/// A derived random stream, named by the seed and its path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RngState {
    /// The search seed.
    pub seed: u64,
    /// Path below it.
    pub stream: Vec<u64>,
}

/// What a finished search reports.
#[derive(Debug, Clone)]
pub struct SearchOutcome {
    /// The fittest genome found.
    pub best: Trial,
    /// The pix2pix genome's cost at the same size, for comparison.
    pub original: crate::cost::Cost,
    /// The best genome's cost.
    pub best_cost: crate::cost::Cost,
    /// The best genome's final training run folder.
    pub best_run: PathBuf,
    /// Its validation L1 after the final training, when there is a val split.
    pub best_val_l1: Option<f64>,
    /// The original's final run folder and validation L1, with --compare-original.
    pub original_run: Option<(PathBuf, Option<f64>)>,
    /// Distinct genomes evaluated.
    pub evaluations: usize,
    /// Evaluations that failed (fitness 0).
    pub failures: usize,
}

/// Runs (or, with `resume`, continues) the search of `config` in `run_dir`.
/// `stop` set from another thread (Ctrl-C) ends it after the evaluations in
/// flight, with everything finished so far saved.
pub fn search(
    config: &SearchConfig,
    run_dir: &Path,
    resume: bool,
    stop: Arc<AtomicBool>,
) -> Result<SearchOutcome, SearchError> {
    config.validate().map_err(SearchError::Config)?;
    let (mini_train, mini_val, train_count) = subsets(config)?;
    prepare_folder(config, run_dir, resume)?;
    let started = Instant::now();

    let evaluator = Arc::new(Evaluator::new(config.clone(), mini_train, mini_val));
    let mut trials = load_trials(run_dir)?;
    let (mut population, first, mut elapsed) = match last_generation(run_dir, config)? {
        Some(saved) => {
            let next = breed(&saved, config);
            (next, saved.generation + 1, saved.elapsed_seconds)
        }
        None => (initial_population(config), 0, 0.0),
    };
    if first > 0 {
        info!(
            "resuming after generation {first} of {} ({} evaluations cached)",
            config.generations,
            trials.len()
        );
    }

    for generation in first..config.generations {
        let session_start = started.elapsed().as_secs_f64();
        evaluate_missing(
            &evaluator,
            &population,
            generation,
            &mut trials,
            run_dir,
            &stop,
        )?;
        if stop.load(Ordering::SeqCst) {
            return Err(SearchError::Interrupted(run_dir.to_path_buf()));
        }
        elapsed += started.elapsed().as_secs_f64() - session_start;
        let saved = record_generation(config, run_dir, generation, &population, &trials, elapsed)?;
        report_generation(config, run_dir, &saved, elapsed);
        if generation + 1 < config.generations {
            population = breed(&saved, config);
        }
    }

    finish(config, run_dir, &trials, train_count)
}

/// Draws the mini-train subset from the train split and the
/// mini-validation subset from the val split, or from train pairs the
/// mini-train subset does not use.
fn subsets(config: &SearchConfig) -> Result<(Arc<PairSet>, Arc<PairSet>, usize), SearchError> {
    let open = config
        .train_config(Genome::pix2pix(config.size.depth()), 1, 0)
        .open_settings();
    let train = PairSet::open(&config.data, Split::Train, &open)?;
    for skipped in train.skipped() {
        warn!("skipped {}: {}", skipped.path.display(), skipped.reason);
    }
    if config.mini_train > train.len() {
        return Err(SearchError::Config(format!(
            "mini-train {} is larger than the training set ({} pairs in {})",
            config.mini_train,
            train.len(),
            train.description()
        )));
    }
    let mut rng = stream(config.seed, &[streams::SUBSETS]);
    let mut order = sample(&mut rng, train.len(), train.len()).into_vec();
    let mini_train: Vec<usize> = order.drain(..config.mini_train).collect();
    let mini_train_set = Arc::new(train.subset(&mini_train)?);

    let mini_val_set = if PairSet::has_split(&config.data, Split::Val)? {
        let val = PairSet::open(&config.data, Split::Val, &open)?;
        let count = config.mini_val.min(val.len());
        let picked = sample(&mut rng, val.len(), count).into_vec();
        val.subset(&picked)?
    } else {
        if order.len() < config.mini_val {
            return Err(SearchError::Config(format!(
                "there is no val split and only {} training pairs are left for mini-val {}",
                order.len(),
                config.mini_val
            )));
        }
        info!(
            "no val split: mini-validation uses {} training pairs outside mini-train",
            config.mini_val
        );
        train.subset(&order[..config.mini_val])?
    };
    Ok((mini_train_set, Arc::new(mini_val_set), train.len()))
}

fn prepare_folder(config: &SearchConfig, run_dir: &Path, resume: bool) -> Result<(), SearchError> {
    if resume {
        let saved = load_config(run_dir)?;
        let mut comparable = saved.clone();
        comparable.generations = config.generations;
        if comparable != *config {
            return Err(SearchError::ConfigChanged {
                path: run_dir.to_path_buf(),
                detail: first_difference(&comparable, config),
            });
        }
        if saved.generations != config.generations {
            info!(
                "extending the search from {} to {} generations",
                saved.generations, config.generations
            );
        }
    } else if run_dir.join("search.toml").exists() {
        return Err(SearchError::SearchExists(run_dir.to_path_buf()));
    }

    std::fs::create_dir_all(run_dir.join("generations")).map_err(|error| io(run_dir, error))?;
    let toml =
        toml::to_string_pretty(config).map_err(|error| SearchError::Io(error.to_string()))?;
    write_bytes_atomically(&run_dir.join("search.toml"), toml.as_bytes())
        .map_err(|error| io(run_dir, error))?;
    log(
        run_dir,
        &format!(
            "{} search: seed {}, population {}, generations {}",
            if resume { "resumed" } else { "started" },
            config.seed,
            config.population,
            config.generations
        ),
    );
    Ok(())
}

/// Reads `RUN_DIR/search.toml`.
pub fn load_config(run_dir: &Path) -> Result<SearchConfig, SearchError> {
    let path = run_dir.join("search.toml");
    let not_a_search = |reason: String| SearchError::NotASearch {
        path: run_dir.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|error| not_a_search(format!("cannot read search.toml: {error}")))?;
    toml::from_str(&text)
        .map_err(|error| not_a_search(format!("search.toml: {}", error.message().trim())))
}

/// The best genome of the search in `run_dir`: the best of its last
/// recorded generation (for training a searched design elsewhere).
pub fn best_genome(run_dir: &Path) -> Result<Genome, SearchError> {
    let config = load_config(run_dir)?;
    let last = last_generation(run_dir, &config)?.ok_or_else(|| SearchError::NotASearch {
        path: run_dir.to_path_buf(),
        reason: "no generation has finished yet".into(),
    })?;
    last.best
        .genome
        .parse()
        .map_err(|error| SearchError::Io(format!("{}: {error}", run_dir.display())))
}

/// Everything a search run folder records, for reports.
#[derive(Debug, Clone)]
pub struct SearchRecord {
    /// The resolved settings.
    pub config: SearchConfig,
    /// Finished generations, in order.
    pub generations: Vec<Generation>,
    /// Every finished evaluation, in the order they finished.
    pub trials: Vec<Trial>,
}

/// Reads the settings, generations and trials of the search in `run_dir`.
pub fn load_record(run_dir: &Path) -> Result<SearchRecord, SearchError> {
    let config = load_config(run_dir)?;
    let mut generations = Vec::new();
    for generation in 0..config.generations {
        let path = generation_path(run_dir, generation);
        if !path.exists() {
            break;
        }
        let text = std::fs::read_to_string(&path).map_err(|error| io(&path, error))?;
        let saved: Generation = serde_json::from_str(&text)
            .map_err(|error| SearchError::Io(format!("{}: {error}", path.display())))?;
        generations.push(saved);
    }
    let mut trials: Vec<Trial> = load_trials(run_dir)?.into_values().collect();
    trials.sort_by(|a, b| (a.generation, &a.genome).cmp(&(b.generation, &b.genome)));
    Ok(SearchRecord {
        config,
        generations,
        trials,
    })
}

fn first_difference(saved: &SearchConfig, given: &SearchConfig) -> String {
    let to_table = |config: &SearchConfig| toml::Table::try_from(config).unwrap_or_default();
    let (saved, given) = (to_table(saved), to_table(given));
    saved
        .iter()
        .find(|(key, value)| given.get(*key) != Some(value))
        .map(|(key, value)| {
            format!(
                "{key} was {value}, now {}",
                given.get(key).map(ToString::to_string).unwrap_or_default()
            )
        })
        .unwrap_or_else(|| "unknown difference".into())
}

fn initial_population(config: &SearchConfig) -> Vec<Genome> {
    let mut rng = stream(config.seed, &[streams::INITIAL_POPULATION]);
    let depth = config.size.depth();
    let mut population: Vec<Genome> = (0..config.population)
        .map(|_| random_genome(depth, &config.channel_set, &mut rng))
        .collect();
    if config.include_original {
        population[0] = Genome::pix2pix(depth);
    }
    population
}

/// The next generation: the best member unchanged, then offspring from
/// operations drawn with the configured odds.
fn breed(saved: &Generation, config: &SearchConfig) -> Vec<Genome> {
    let mut rng = stream(saved.next_rng.seed, &saved.next_rng.stream);
    let parents: Vec<Genome> = saved
        .population
        .iter()
        .map(|m| m.genome.parse().expect("saved genomes parse"))
        .collect();
    let fitness: Vec<f64> = saved.population.iter().map(|m| m.fitness).collect();
    let mut next = vec![saved.best.genome.parse().expect("saved genomes parse")];
    let odds = config.odds();

    while next.len() < config.population {
        match odds.draw(&mut rng) {
            Operation::Selection => next.push(parents[roulette(&fitness, &mut rng)].clone()),
            Operation::Crossover => {
                let first = &parents[roulette(&fitness, &mut rng)];
                let second = &parents[roulette(&fitness, &mut rng)];
                let (a, b) = crossover(first, second, &mut rng);
                next.push(a);
                if next.len() < config.population {
                    next.push(b);
                }
            }
            Operation::Mutation => {
                let parent = &parents[roulette(&fitness, &mut rng)];
                next.push(mutate(parent, &config.channel_set, &mut rng));
            }
        }
    }
    next
}

/// Evaluates the genomes of `population` that have no trial yet, `jobs` at
/// a time, appending each finished trial to `trials.jsonl` as it arrives.
fn evaluate_missing(
    evaluator: &Arc<Evaluator>,
    population: &[Genome],
    generation: usize,
    trials: &mut HashMap<String, Trial>,
    run_dir: &Path,
    stop: &Arc<AtomicBool>,
) -> Result<(), SearchError> {
    let mut missing: Vec<Genome> = Vec::new();
    for genome in population {
        if !trials.contains_key(&genome.to_string()) && !missing.contains(genome) {
            missing.push(genome.clone());
        }
    }
    if missing.is_empty() {
        return Ok(());
    }

    let config = evaluator.config();
    let jobs = config.jobs.min(missing.len());
    let threads_per_job = (available_cores() / jobs).max(1);
    let next = AtomicUsize::new(0);
    let (sender, receiver) = mpsc::channel::<Trial>();
    let total = missing.len();

    std::thread::scope(|scope| -> Result<(), SearchError> {
        for _ in 0..jobs {
            let sender = sender.clone();
            let (missing, next, stop) = (&missing, &next, Arc::clone(stop));
            let evaluator = Arc::clone(evaluator);
            scope.spawn(move || {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads_per_job)
                    .build()
                    .expect("a thread pool");
                loop {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let index = next.fetch_add(1, Ordering::SeqCst);
                    let Some(genome) = missing.get(index) else {
                        break;
                    };
                    let trial = pool.install(|| evaluator.evaluate(genome, generation));
                    if sender.send(trial).is_err() {
                        break;
                    }
                }
            });
        }
        drop(sender);

        for (done, trial) in receiver.into_iter().enumerate() {
            append_trial(run_dir, &trial)?;
            report_trial(config, run_dir, &trial, generation, done + 1, total);
            trials.insert(trial.genome.clone(), trial);
        }
        Ok(())
    })
}

fn available_cores() -> usize {
    std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(1)
}

fn append_trial(run_dir: &Path, trial: &Trial) -> Result<(), SearchError> {
    let line = serde_json::to_string(trial).map_err(|error| SearchError::Io(error.to_string()))?;
    append_line(&run_dir.join("trials.jsonl"), &line).map_err(|error| io(run_dir, error))
}

/// Reads `trials.jsonl`; a torn last line (a kill during the append) is
/// dropped, as it is an evaluation that was in flight.
fn load_trials(run_dir: &Path) -> Result<HashMap<String, Trial>, SearchError> {
    let path = run_dir.join("trials.jsonl");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(HashMap::new());
    };
    let mut trials = HashMap::new();
    let lines: Vec<&str> = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect();
    for (number, line) in lines.iter().enumerate() {
        match serde_json::from_str::<Trial>(line) {
            Ok(trial) => {
                trials.entry(trial.genome.clone()).or_insert(trial);
            }
            Err(_) if number + 1 == lines.len() => {
                warn!("dropped a torn last line of {}", path.display())
            }
            Err(error) => {
                return Err(SearchError::Io(format!(
                    "{} line {}: {error}",
                    path.display(),
                    number + 1
                )));
            }
        }
    }
    Ok(trials)
}

/// The last generation file whose number is below `config.generations`.
fn last_generation(
    run_dir: &Path,
    config: &SearchConfig,
) -> Result<Option<Generation>, SearchError> {
    let mut last = None;
    for generation in 0..config.generations {
        let path = generation_path(run_dir, generation);
        if !path.exists() {
            break;
        }
        let text = std::fs::read_to_string(&path).map_err(|error| io(&path, error))?;
        let saved: Generation = serde_json::from_str(&text)
            .map_err(|error| SearchError::Io(format!("{}: {error}", path.display())))?;
        if saved.config_fingerprint != fingerprint(config) {
            return Err(SearchError::ConfigChanged {
                path: run_dir.to_path_buf(),
                detail: format!(
                    "search.toml no longer matches the settings {} was made with",
                    path.display()
                ),
            });
        }
        last = Some(saved);
    }
    Ok(last)
}

/// FNV-1a of the settings in TOML, `generations` left out.
fn fingerprint(config: &SearchConfig) -> String {
    let mut comparable = config.clone();
    comparable.generations = 0;
    let text = toml::to_string(&comparable).unwrap_or_default();
    format!("{:016x}", stable_hash(&text))
}

fn generation_path(run_dir: &Path, generation: usize) -> PathBuf {
    run_dir.join(format!("generations/{generation:04}.json"))
}

fn record_generation(
    config: &SearchConfig,
    run_dir: &Path,
    generation: usize,
    population: &[Genome],
    trials: &HashMap<String, Trial>,
    elapsed: f64,
) -> Result<Generation, SearchError> {
    let members: Vec<Member> = population
        .iter()
        .map(|genome| Member {
            genome: genome.to_string(),
            fitness: trials[&genome.to_string()].fitness,
        })
        .collect();
    let best = members
        .iter()
        .fold(
            &members[0],
            |best, m| if m.fitness > best.fitness { m } else { best },
        )
        .clone();
    let saved = Generation {
        format_version: FORMAT_VERSION,
        generation,
        mean_fitness: members.iter().map(|m| m.fitness).sum::<f64>() / members.len() as f64,
        best,
        population: members,
        next_rng: RngState {
            seed: config.seed,
            stream: vec![streams::BREEDING, generation as u64],
        },
        elapsed_seconds: elapsed,
        config_fingerprint: fingerprint(config),
    };
    let json =
        serde_json::to_vec_pretty(&saved).map_err(|error| SearchError::Io(error.to_string()))?;
    let path = generation_path(run_dir, generation);
    write_bytes_atomically(&path, &json).map_err(|error| io(&path, error))?;
    Ok(saved)
}

fn report_trial(
    config: &SearchConfig,
    run_dir: &Path,
    trial: &Trial,
    generation: usize,
    done: usize,
    total: usize,
) {
    let outcome = match &trial.failure {
        Some(reason) => format!("fitness 0 ({reason})"),
        None => format!(
            "fitness {:.5}  loss {:.3}  cost {:.3}",
            trial.fitness,
            trial.loss.unwrap_or(f64::NAN),
            trial.cost
        ),
    };
    let line = format!(
        "generation {}/{}  candidate {done}/{total}  {}  {outcome}  {:.1} s",
        generation + 1,
        config.generations,
        trial.genome,
        trial.seconds
    );
    if trial.failure.is_some() {
        warn!("{line}");
    } else {
        info!("{line}");
    }
    log(run_dir, &line);
}

fn report_generation(config: &SearchConfig, run_dir: &Path, saved: &Generation, elapsed: f64) {
    let done = saved.generation + 1;
    let remaining = config.generations - done;
    let eta = elapsed / done as f64 * remaining as f64;
    let line = format!(
        "generation {done}/{} done: best {:.5} ({}), mean {:.5}, elapsed {}, ETA {}",
        config.generations,
        saved.best.fitness,
        saved.best.genome,
        saved.mean_fitness,
        clock(elapsed),
        clock(eta)
    );
    info!("{line}");
    log(run_dir, &line);
}

fn clock(seconds: f64) -> String {
    let seconds = seconds.round() as u64;
    format!("{}m{:02}s", seconds / 60, seconds % 60)
}

/// Trains the best genome (and the original, when asked) on the full
/// training set as ordinary run folders, resuming them after a kill.
fn finish(
    config: &SearchConfig,
    run_dir: &Path,
    trials: &HashMap<String, Trial>,
    train_count: usize,
) -> Result<SearchOutcome, SearchError> {
    let last = last_generation(run_dir, config)?.expect("every generation was recorded");
    let best = trials[&last.best.genome].clone();
    if best.fitness <= 0.0 {
        return Err(SearchError::Config(format!(
            "every candidate failed (last reason: {}); no model to train. A lower --lr or --lambda-l1 may help",
            best.failure.as_deref().unwrap_or("unknown")
        )));
    }
    let best_genome: Genome = best.genome.parse().expect("trial genomes parse");
    info!(
        "final training of {} on all {train_count} training pairs",
        best.genome
    );
    let (best_run, best_val_l1) = final_training(config, run_dir, "best", best_genome.clone())?;
    let original_run = if config.compare_original {
        info!("final training of the pix2pix U-Net with the same budget");
        Some(final_training(
            config,
            run_dir,
            "original",
            Genome::pix2pix(config.size.depth()),
        )?)
    } else {
        None
    };

    let channels = crate::plan::ImageChannels {
        input: config.in_channels,
        output: config.out_channels,
    };
    let cost = |genome: &Genome| crate::cost::Cost::of_genome(genome, config.size, channels);
    log(
        run_dir,
        &format!("finished: best {} fitness {:.5}", best.genome, best.fitness),
    );
    Ok(SearchOutcome {
        best_cost: cost(&best_genome),
        original: cost(&Genome::pix2pix(config.size.depth())),
        best,
        best_run,
        best_val_l1,
        original_run,
        evaluations: trials.len(),
        failures: trials.values().filter(|t| t.failure.is_some()).count(),
    })
}

fn final_training(
    config: &SearchConfig,
    run_dir: &Path,
    name: &str,
    genome: Genome,
) -> Result<(PathBuf, Option<f64>), SearchError> {
    let folder = run_dir.join("final").join(name);
    let train_config = config.train_config(genome, config.final_epochs, config.final_epochs_decay);
    let state = RunState::load(&folder).ok();
    if !state.as_ref().is_some_and(|s| s.finished) {
        let resume = state.is_some();
        crate::train::train(&train_config, &folder, resume)?;
    }
    let state = RunState::load(&folder).map_err(SearchError::Io)?;
    let val_l1 = state
        .history
        .last()
        .and_then(|record| record.validation)
        .map(|v| v.l1);
    Ok((folder, val_l1))
}

fn log(run_dir: &Path, line: &str) {
    crate::io::log_line(&run_dir.join("search.log"), line);
}

fn io(path: &Path, error: std::io::Error) -> SearchError {
    SearchError::Io(format!("{}: {error}", path.display()))
}
