//! The report's plots, drawn with plotters into SVG strings.

use plotters::prelude::*;

use crate::search::{Generation, Trial};

/// Plot size in SVG pixels (the page scales it to its column).
const SIZE: (u32, u32) = (900, 440);

/// Colour of the best genome and the Pareto front.
const ACCENT: RGBColor = RGBColor(214, 39, 40);
/// Colour of ordinary points and the mean.
const MUTED: RGBColor = RGBColor(31, 119, 180);
/// Colour of the original U-Net.
const ORIGINAL: RGBColor = RGBColor(44, 160, 44);

/// Turns a plotters error into a message.
fn failed(error: impl std::fmt::Display) -> String {
    format!("drawing failed: {error}")
}

/// Best and mean fitness per generation.
pub fn fitness_chart(generations: &[Generation]) -> Result<String, String> {
    let best: Vec<(f64, f64)> = generations
        .iter()
        .map(|g| (g.generation as f64, g.best.fitness))
        .collect();
    let mean: Vec<(f64, f64)> = generations
        .iter()
        .map(|g| (g.generation as f64, g.mean_fitness))
        .collect();
    // Zoom on the values rather than starting at 0: late generations often
    // differ in the third digit.
    let (low, high) = bounds(best.iter().chain(&mean).map(|p| p.1));
    let pad = ((high - low) * 0.1).max(high.abs() * 0.01).max(1e-9);
    let (bottom, top) = ((low - pad).max(0.0), high + pad);
    let last = generations.last().map_or(1, |g| g.generation.max(1)) as f64;

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(failed)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("Fitness per generation", ("sans-serif", 20))
            .margin(14)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..last, bottom..top)
            .map_err(failed)?;
        chart
            .configure_mesh()
            .x_desc("generation")
            .y_desc("fitness")
            .x_labels(generations.len().clamp(2, 12))
            .x_label_formatter(&|v| format!("{v:.0}"))
            .draw()
            .map_err(failed)?;
        chart
            .draw_series(LineSeries::new(best.clone(), ACCENT.stroke_width(2)))
            .map_err(failed)?
            .label("best")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], ACCENT.stroke_width(2)));
        chart
            .draw_series(best.iter().map(|&p| Circle::new(p, 3, ACCENT.filled())))
            .map_err(failed)?;
        chart
            .draw_series(LineSeries::new(mean.clone(), MUTED.stroke_width(2)))
            .map_err(failed)?
            .label("population mean")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], MUTED.stroke_width(2)));
        chart
            .draw_series(mean.iter().map(|&p| Circle::new(p, 3, MUTED.filled())))
            .map_err(failed)?;
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(failed)?;
        root.present().map_err(failed)?;
    }
    Ok(svg)
}

/// A candidate on the cost-quality plane.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Paper FLOPs per image.
    pub flops: f64,
    /// Validation loss.
    pub loss: f64,
}

/// The candidates no other beats on both paper FLOPs and validation loss,
/// by increasing FLOPs (ties keep the lower loss).
pub fn pareto_front(points: &[Point]) -> Vec<Point> {
    let mut sorted = points.to_vec();
    sorted.sort_by(|a, b| a.flops.total_cmp(&b.flops).then(a.loss.total_cmp(&b.loss)));
    let mut front: Vec<Point> = Vec::new();
    for point in sorted {
        if front.last().is_none_or(|last| point.loss < last.loss) {
            front.push(point);
        }
    }
    front
}

/// Every successful candidate as paper FLOPs (log scale) against its
/// validation loss, the Pareto front joined by a line, the best genome and
/// the original marked.
pub fn pareto_chart(trials: &[Trial], best: &str, original: &str) -> Result<String, String> {
    let scored: Vec<(&Trial, Point)> = trials
        .iter()
        .filter_map(|trial| {
            let loss = trial.loss.filter(|loss| loss.is_finite())?;
            Some((
                trial,
                Point {
                    flops: trial.paper_flops as f64,
                    loss,
                },
            ))
        })
        .collect();
    if scored.is_empty() {
        return Err("no candidate finished with a finite validation loss".into());
    }
    let points: Vec<Point> = scored.iter().map(|(_, p)| *p).collect();
    let front = pareto_front(&points);
    let (min_flops, max_flops) = bounds(points.iter().map(|p| p.flops));
    let (min_loss, max_loss) = bounds(points.iter().map(|p| p.loss));
    let pad = ((max_loss - min_loss) * 0.08)
        .max(max_loss.abs() * 1e-3)
        .max(1e-6);
    // The x axis is log10 of the FLOPs on a linear axis, labelled in FLOPs:
    // plotters' log axis only labels whole decades, and a search often
    // spans less than one.
    let (low, high) = (min_flops.log10(), max_flops.log10());
    let margin = ((high - low) * 0.06).max(0.02);

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(failed)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "Cost against quality of every candidate",
                ("sans-serif", 20),
            )
            .margin(14)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(
                (low - margin)..(high + margin),
                (min_loss - pad)..(max_loss + pad),
            )
            .map_err(failed)?;
        chart
            .configure_mesh()
            .x_desc("paper FLOPs per image (log scale)")
            .y_desc("validation loss")
            .x_label_formatter(&|v| short_number(10f64.powf(*v)))
            .draw()
            .map_err(failed)?;
        chart
            .draw_series(
                points
                    .iter()
                    .map(|p| Circle::new((p.flops.log10(), p.loss), 4, MUTED.mix(0.55).filled())),
            )
            .map_err(failed)?
            .label("candidate")
            .legend(|(x, y)| Circle::new((x + 9, y), 4, MUTED.filled()));
        let front_line: Vec<(f64, f64)> = front.iter().map(|p| (p.flops.log10(), p.loss)).collect();
        chart
            .draw_series(LineSeries::new(front_line.clone(), ACCENT.stroke_width(2)))
            .map_err(failed)?
            .label("Pareto front")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], ACCENT.stroke_width(2)));
        chart
            .draw_series(
                front_line
                    .iter()
                    .map(|&p| Circle::new(p, 5, ACCENT.stroke_width(2))),
            )
            .map_err(failed)?;
        for (genome, color, label) in [(best, ACCENT, "best"), (original, ORIGINAL, "original")] {
            if let Some((_, p)) = scored.iter().find(|(trial, _)| trial.genome == genome) {
                chart
                    .draw_series(std::iter::once(TriangleMarker::new(
                        (p.flops.log10(), p.loss),
                        9,
                        color.filled(),
                    )))
                    .map_err(failed)?
                    .label(label)
                    .legend(move |(x, y)| TriangleMarker::new((x + 9, y), 6, color.filled()));
            }
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(failed)?;
        root.present().map_err(failed)?;
    }
    Ok(svg)
}

fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    })
}

/// `1.2G`, `350M`, `12k`.
pub fn short_number(value: f64) -> String {
    let (scaled, suffix) = match value.abs() {
        v if v >= 1e12 => (value / 1e12, "T"),
        v if v >= 1e9 => (value / 1e9, "G"),
        v if v >= 1e6 => (value / 1e6, "M"),
        v if v >= 1e3 => (value / 1e3, "k"),
        _ => (value, ""),
    };
    let digits = if scaled.abs() >= 100.0 { 0 } else { 1 };
    format!("{scaled:.digits$}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(flops: f64, loss: f64) -> Point {
        Point { flops, loss }
    }

    #[test]
    fn the_front_keeps_exactly_the_undominated_points() {
        let points = [
            p(10.0, 5.0),
            p(20.0, 4.0),
            p(20.0, 6.0),
            p(30.0, 4.5),
            p(40.0, 1.0),
            p(5.0, 9.0),
        ];
        let front = pareto_front(&points);
        assert_eq!(
            front,
            vec![p(5.0, 9.0), p(10.0, 5.0), p(20.0, 4.0), p(40.0, 1.0)]
        );
        for point in &points {
            let dominated = points
                .iter()
                .any(|q| q.flops <= point.flops && q.loss < point.loss);
            assert_eq!(!dominated, front.contains(point), "{point:?}");
        }
    }

    #[test]
    fn numbers_are_shortened_with_their_scale() {
        assert_eq!(short_number(18_146_500_608.0), "18.1G");
        assert_eq!(short_number(350_000_000.0), "350M");
        assert_eq!(short_number(999.0), "999");
    }
}
