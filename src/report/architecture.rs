//! Drawings of a generator in the manner of the paper's Figure 5: one box
//! per layer, encoder then decoder from left to right, box height growing
//! with the layer's output width, channels written under each box, and
//! each kept skip connection as an arc from an encoder layer to the decoder
//! layer that reads it (removed skips as faint dashed arcs).

use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::plan::{Layer, LayerPlan};

/// Horizontal room per layer box.
const SLOT: i32 = 76;
/// Width of a layer box.
const BOX_WIDTH: i32 = 40;
/// Room above the boxes per skip arc level.
const ARC_STEP: i32 = 16;

const ENCODER: RGBColor = RGBColor(174, 199, 232);
const DECODER: RGBColor = RGBColor(255, 187, 120);
const SKIP: RGBColor = RGBColor(214, 39, 40);
const REMOVED: RGBColor = RGBColor(170, 170, 170);

fn failed(error: impl std::fmt::Display) -> String {
    format!("drawing failed: {error}")
}

/// Box height for a layer producing `channels` channels.
fn box_height(channels: u32) -> i32 {
    16 + (10.0 * f64::from(channels.max(1)).log2()).round() as i32
}

/// One drawn box: its layer and its place.
struct Placed<'a> {
    layer: &'a Layer,
    centre: i32,
    top: i32,
}

/// Draws the generator of `plan` as an SVG string.
pub fn architecture_svg(plan: &LayerPlan) -> Result<String, String> {
    let depth = plan.encoder().len() as i32;
    let boxes = 2 * depth;
    let tallest = plan
        .layers()
        .map(|layer| box_height(layer.out_channels))
        .max()
        .unwrap_or(40);
    let arcs_room = ARC_STEP * depth + 24;
    let width = (SLOT * boxes + 40).max(480);
    let baseline = arcs_room + tallest + 20;
    let height = baseline + 58;

    // Execution order: encoder outermost first, then decoder innermost first.
    let order: Vec<&Layer> = plan.encoder().iter().chain(plan.decoder()).collect();
    let placed: Vec<Placed> = order
        .iter()
        .enumerate()
        .map(|(slot, layer)| Placed {
            layer,
            centre: 20 + SLOT * slot as i32 + SLOT / 2,
            top: baseline - box_height(layer.out_channels),
        })
        .collect();

    let mut svg = String::new();
    {
        let root =
            SVGBackend::with_string(&mut svg, (width as u32, height as u32)).into_drawing_area();
        root.fill(&WHITE).map_err(failed)?;
        let small = ("sans-serif", 12)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Center, VPos::Top));
        let tiny = ("sans-serif", 10)
            .into_font()
            .color(&RGBColor(90, 90, 90))
            .pos(Pos::new(HPos::Center, VPos::Top));

        for pair in placed.windows(2) {
            let y = baseline - 8;
            root.draw(&PathElement::new(
                vec![
                    (pair[0].centre + BOX_WIDTH / 2, y),
                    (pair[1].centre - BOX_WIDTH / 2, y),
                ],
                BLACK.stroke_width(1),
            ))
            .map_err(failed)?;
        }
        for arc in skip_arcs(plan, &placed) {
            draw_arc(&root, &arc)?;
        }
        for place in &placed {
            let encoder = matches!(place.layer.side, crate::plan::Side::Encoder);
            let fill = if encoder { ENCODER } else { DECODER };
            let corners = [
                (place.centre - BOX_WIDTH / 2, place.top),
                (place.centre + BOX_WIDTH / 2, baseline),
            ];
            root.draw(&Rectangle::new(corners, fill.filled()))
                .map_err(failed)?;
            root.draw(&Rectangle::new(corners, BLACK.stroke_width(1)))
                .map_err(failed)?;
            let name = format!("{}{}", if encoder { "E" } else { "D" }, place.layer.index);
            root.draw(&Text::new(
                name,
                (place.centre, place.top + 4),
                small.clone(),
            ))
            .map_err(failed)?;
            let channels = format!("{}→{}", place.layer.in_channels, place.layer.out_channels);
            root.draw(&Text::new(
                channels,
                (place.centre, baseline + 6),
                small.clone(),
            ))
            .map_err(failed)?;
            let resolution = format!("{}px", place.layer.out_resolution);
            root.draw(&Text::new(
                resolution,
                (place.centre, baseline + 24),
                tiny.clone(),
            ))
            .map_err(failed)?;
        }
        let legend = format!(
            "{} of {} skips kept · box height ~ log2(output channels) · labels: input→output channels, output side",
            plan.decoder()
                .iter()
                .filter(|l| l.skip_channels > 0)
                .count(),
            depth - 1
        );
        root.draw(&Text::new(legend, (width / 2, baseline + 40), tiny))
            .map_err(failed)?;
        root.present().map_err(failed)?;
    }
    Ok(svg)
}

/// A skip arc between two box tops.
struct Arc {
    from: (i32, i32),
    to: (i32, i32),
    apex: i32,
    kept: bool,
}

/// One arc per mirrored pair that can have a skip: from encoder `i` to the
/// decoder layer `i` that concatenates its output (the innermost pair has
/// none).
fn skip_arcs(plan: &LayerPlan, placed: &[Placed]) -> Vec<Arc> {
    let depth = plan.encoder().len();
    let highest = placed.iter().map(|p| p.top).min().unwrap_or(0);
    (0..depth.saturating_sub(1))
        .filter_map(|i| {
            let encoder = placed
                .iter()
                .find(|p| p.layer.index == i && p.layer.side == crate::plan::Side::Encoder)?;
            let decoder = placed
                .iter()
                .find(|p| p.layer.index == i && p.layer.side == crate::plan::Side::Decoder)?;
            Some(Arc {
                from: (encoder.centre + 6, encoder.top),
                to: (decoder.centre - 6, decoder.top),
                apex: highest - 14 - ARC_STEP * (depth - 2 - i) as i32,
                kept: decoder.layer.skip_channels > 0,
            })
        })
        .collect()
}

/// A quadratic Bézier from `from` to `to` whose middle reaches `apex`.
fn draw_arc<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    arc: &Arc,
) -> Result<(), String> {
    let control = (
        f64::from(arc.from.0 + arc.to.0) / 2.0,
        // The curve's midpoint is halfway between the ends' mean and the
        // control point, so aim the control twice as far.
        2.0 * f64::from(arc.apex) - f64::from(arc.from.1 + arc.to.1) / 2.0,
    );
    let points: Vec<(i32, i32)> = (0..=48)
        .map(|step| {
            let t = f64::from(step) / 48.0;
            let along = |a: i32, c: f64, b: i32| {
                (1.0 - t).powi(2) * f64::from(a) + 2.0 * t * (1.0 - t) * c + t * t * f64::from(b)
            };
            (
                along(arc.from.0, control.0, arc.to.0).round() as i32,
                along(arc.from.1, control.1, arc.to.1).round() as i32,
            )
        })
        .collect();
    if arc.kept {
        root.draw(&PathElement::new(points, SKIP.stroke_width(2)))
            .map_err(failed)
    } else {
        root.draw(&DashedPathElement::new(
            points,
            4,
            4,
            REMOVED.stroke_width(1),
        ))
        .map_err(failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::genome::{Genome, ImageSize};
    use crate::plan::ImageChannels;

    #[test]
    fn every_layer_is_drawn_and_only_kept_skips_are_solid() {
        let genome: Genome = "16-32-64-64:101".parse().unwrap();
        let plan = LayerPlan::decode(
            &genome,
            ImageSize::new(16).unwrap(),
            ImageChannels::default(),
        );
        let svg = architecture_svg(&plan).unwrap();
        let texts: Vec<&str> = svg
            .split("<text")
            .skip(1)
            .map(|text| {
                text.split('>')
                    .nth(1)
                    .unwrap_or("")
                    .trim_end_matches("</text")
                    .trim()
            })
            .collect();
        for name in ["E0", "E1", "E2", "E3", "D0", "D1", "D2", "D3"] {
            assert!(texts.contains(&name), "{name} missing from {texts:?}");
        }
        assert!(texts.contains(&"3→16"), "first encoder layer's channels");
        assert!(
            texts.contains(&"128→32"),
            "D2 reads D3's 64 channels and E2's 64"
        );
        assert!(
            texts.contains(&"32→16"),
            "D1 reads only D2's 32: its skip is removed"
        );
        assert!(svg.contains("2 of 3 skips kept"));
        let solid = svg.matches("stroke=\"#D62728\"").count();
        assert_eq!(solid, 2, "one solid path per kept skip");
    }
}
