//! Timing of one pix2pix training iteration (D step + G step, Adam) and of
//! the generator's forward pass, on the cases `bench/pytorch_reference.py`
//! times in PyTorch.
//!
//! `cargo bench --bench train_step [-- --repeats R --cases train-64-1,...]`
//! prints one JSON object per case (median and minimum milliseconds, peak
//! RSS), the same shape as the PyTorch script's, for BENCHMARKS.md. With
//! `--profile` it also prints each case's time per operation
//! ([`unet_nas::profile`]) as a Markdown table.

use std::time::Instant;

use burn::module::Module;
use burn::tensor::{Device, Distribution, Tensor};
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;

use unet_nas::genome::Genome;
use unet_nas::model::{Generator, GeneratorOptions, Mode, PatchGan, PatchGanConfig};
use unet_nas::plan::{ImageChannels, LayerPlan};
use unet_nas::train::{AdamSettings, GanMode, Objective, Pix2Pix};

struct Options {
    repeats: usize,
    cases: Vec<String>,
    profile: bool,
}

fn main() {
    if std::env::var_os("UNET_NAS_DEFAULT_MALLOC").is_none() {
        unet_nas::memory::tune_allocator();
    }
    let options = parse_options();
    for case in &options.cases {
        let mut parts = case.split('-');
        let (kind, side, batch) = (
            parts.next().unwrap_or_default(),
            parts.next().and_then(|s| s.parse().ok()).unwrap_or(64),
            parts.next().and_then(|s| s.parse().ok()).unwrap_or(1),
        );
        let samples = match kind {
            "train" => training_case(side, batch, options.repeats, options.profile),
            "forward" => forward_case(side, batch, options.repeats, options.profile),
            other => panic!("unknown case kind {other} (expected train or forward)"),
        };
        report(case, &samples);
        if options.profile {
            print_profile(case, &samples);
        }
    }
}

fn parse_options() -> Options {
    let mut options = Options {
        repeats: 5,
        cases: "train-64-1,train-64-4,train-128-1,forward-256-1"
            .split(',')
            .map(String::from)
            .collect(),
        profile: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--profile" => options.profile = true,
            "--repeats" => options.repeats = args.next().and_then(|v| v.parse().ok()).unwrap_or(5),
            "--cases" => {
                options.cases = args
                    .next()
                    .unwrap_or_default()
                    .split(',')
                    .map(String::from)
                    .collect()
            }
            // cargo bench passes --bench; other flags are ignored.
            _ => {}
        }
    }
    options
}

fn pix2pix_generator(side: usize, device: &Device) -> Generator {
    let genome = Genome::pix2pix(side.trailing_zeros() as usize);
    let plan = LayerPlan::decode(&genome, genome.size(), ImageChannels::default());
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    Generator::new(&plan, GeneratorOptions::default(), &mut rng, device)
}

fn training_case(side: usize, batch: usize, repeats: usize, profile: bool) -> Vec<f64> {
    let device = unet_nas::train::compute_device().autodiff();
    let (config, _) = PatchGanConfig::pix2pix(3, 3).fit_to(side);
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let adam = AdamSettings {
        beta1: 0.5,
        beta2: 0.999,
    };
    let mut trainer = Some(Pix2Pix {
        generator: pix2pix_generator(side, &device),
        discriminator: PatchGan::new(&config, &mut rng, &device),
        optimizer_g: adam.build(),
        optimizer_d: adam.build(),
        objective: Objective {
            gan_mode: GanMode::Vanilla,
            lambda_l1: 100.0,
        },
    });
    let shape = [batch, 3, side, side];
    let input = Tensor::<4>::random(shape, Distribution::Uniform(-1.0, 1.0), &device);
    let target = Tensor::<4>::random(shape, Distribution::Uniform(-1.0, 1.0), &device);

    timed(repeats, profile, || {
        let current = trainer.take().expect("trainer is put back every iteration");
        let (next, losses) = current.step(input.clone(), target.clone(), 2e-4, &mut rng);
        assert!(losses.is_finite());
        trainer = Some(next);
    })
}

fn forward_case(side: usize, batch: usize, repeats: usize, profile: bool) -> Vec<f64> {
    let device = unet_nas::train::compute_device();
    let generator = pix2pix_generator(side, &device).valid();
    let input = Tensor::<4>::random(
        [batch, 3, side, side],
        Distribution::Uniform(-1.0, 1.0),
        &device,
    );

    timed(repeats, profile, || {
        let output = generator.forward(input.clone(), &mut Mode::Eval);
        // Reading one value waits for the computation to finish.
        let _ = output.slice([0..1, 0..1, 0..1, 0..1]).into_scalar::<f32>();
    })
}

/// Milliseconds of each of `repeats` runs of `work` after two warm-ups,
/// with the operation profile counting the timed runs alone.
fn timed(repeats: usize, profile: bool, mut work: impl FnMut()) -> Vec<f64> {
    for _ in 0..2 {
        work();
    }
    unet_nas::profile::enable(profile);
    (0..repeats)
        .map(|_| {
            let started = Instant::now();
            work();
            started.elapsed().as_secs_f64() * 1000.0
        })
        .collect()
}

fn report(case: &str, samples: &[f64]) {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let median = if sorted.len() % 2 == 1 {
        sorted[sorted.len() / 2]
    } else {
        (sorted[sorted.len() / 2 - 1] + sorted[sorted.len() / 2]) / 2.0
    };
    let json = serde_json::json!({
        "framework": format!("unet-nas (burn {})", backend_name()),
        "case": case,
        "threads": std::thread::available_parallelism().map(usize::from).unwrap_or(1),
        "median_ms": median,
        "min_ms": sorted[0],
        "samples_ms": samples.iter().map(|s| (s * 100.0).round() / 100.0).collect::<Vec<_>>(),
        "peak_rss_mb": peak_rss_mb(),
    });
    println!("{json}");
}

/// The backend the cases ran on: `flex`, or what `BURN_DEVICE` chose in
/// a build with other backends.
fn backend_name() -> String {
    let device = format!("{:?}", unet_nas::train::compute_device());
    if device.contains("Flex") {
        "flex".to_string()
    } else if device.contains("LibTorch") {
        "tch, LibTorch".to_string()
    } else {
        device
    }
}

/// The profile of the timed runs as a Markdown table: milliseconds per
/// iteration and share of the iteration for each operation, convolution
/// gradients inside the backward passes, and what no phase covers.
fn print_profile(case: &str, samples: &[f64]) {
    use unet_nas::profile::{Phase, totals};

    let totals = totals();
    unet_nas::profile::enable(false);
    let runs = samples.len().max(1) as f64;
    let iteration: f64 = samples.iter().sum::<f64>() / runs;
    let per_run = |seconds: f64| seconds * 1000.0 / runs;
    let row = |label: &str, ms: f64| {
        println!("| {label} | {ms:.1} | {:.1}% |", 100.0 * ms / iteration);
    };

    println!("\n{case}: {iteration:.1} ms per run (mean of {runs})\n");
    println!("| operation | ms per run | share |\n|---|---:|---:|");
    let mut covered = 0.0;
    let mut gradients = 0.0;
    for total in &totals {
        let ms = per_run(total.seconds);
        if total.phase.inside_backward() {
            gradients += ms;
        } else {
            covered += ms;
        }
        if total.calls > 0 {
            row(total.phase.label(), ms);
        }
    }
    let backward = totals
        .iter()
        .find(|total| total.phase == Phase::Backward)
        .map_or(0.0, |total| per_run(total.seconds));
    if backward > 0.0 {
        row(
            "backward passes less convolution gradients",
            backward - gradients,
        );
    }
    row(
        "everything else (graph, copies, allocation, reads)",
        iteration - covered,
    );
    println!();
}

/// Peak resident memory of this process so far, from /proc (Linux).
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kilobytes: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kilobytes / 1024.0)
}
