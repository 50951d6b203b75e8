//! Data folders in every layout pix2pix users have, opened by the library.

use std::path::Path;

use image::{GenericImageView, Luma, Rgb, RgbImage};

use unet_nas::data::synthetic::SynthSettings;
use unet_nas::data::{DataSource, Direction, OpenSettings, PairSet, Split};
use unet_nas::plan::ImageChannels;

fn settings(direction: Direction, channels: ImageChannels) -> OpenSettings {
    OpenSettings {
        direction,
        channels,
        cache_bytes: 1 << 30,
        synth: SynthSettings::default(),
    }
}

fn solid(path: &Path, width: u32, height: u32, color: [u8; 3]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    RgbImage::from_pixel(width, height, Rgb(color))
        .save(path)
        .unwrap();
}

#[test]
fn separate_a_and_b_folders_pair_by_name() {
    let temp = tempfile::tempdir().unwrap();
    let root = temp.path();
    solid(&root.join("A/one.png"), 16, 16, [255, 0, 0]);
    solid(&root.join("B/one.png"), 16, 16, [0, 0, 255]);
    solid(&root.join("A/lonely.png"), 16, 16, [0, 0, 0]);
    solid(&root.join("A/mismatch.png"), 16, 16, [0, 0, 0]);
    solid(&root.join("B/mismatch.png"), 20, 16, [0, 0, 0]);
    let source = DataSource::Folder(root.to_path_buf());

    let set = PairSet::open(
        &source,
        Split::Train,
        &settings(Direction::BtoA, ImageChannels::default()),
    )
    .unwrap();

    assert_eq!(set.len(), 1);
    let pair = set.get(0).unwrap();
    assert_eq!(
        pair.input.to_rgb8().get_pixel(0, 0).0,
        [0, 0, 255],
        "BtoA reads B"
    );
    let reasons: Vec<&str> = set.skipped().iter().map(|s| s.reason.as_str()).collect();
    assert!(
        reasons.iter().any(|r| r.contains("no B image")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("A is 16x16 but B is 20x16")),
        "{reasons:?}"
    );
    assert!(!PairSet::has_split(&source, Split::Test).unwrap());
}

#[test]
fn separate_folders_with_splits() {
    let temp = tempfile::tempdir().unwrap();
    let root = temp.path();
    for split in ["train", "test"] {
        solid(&root.join(format!("A/{split}/x.png")), 16, 16, [1, 1, 1]);
        solid(&root.join(format!("B/{split}/x.png")), 16, 16, [2, 2, 2]);
    }
    let source = DataSource::Folder(root.to_path_buf());
    let open = |split| {
        PairSet::open(
            &source,
            split,
            &settings(Direction::AtoB, ImageChannels::default()),
        )
    };

    assert_eq!(open(Split::Test).unwrap().len(), 1);
    assert!(
        open(Split::Val)
            .unwrap_err()
            .to_string()
            .contains("has no val split")
    );
}

#[test]
fn grayscale_models_get_one_channel_images() {
    let temp = tempfile::tempdir().unwrap();
    let train = temp.path().join("train");
    std::fs::create_dir_all(&train).unwrap();
    RgbImage::from_pixel(32, 16, Rgb([200, 100, 50]))
        .save(train.join("p.png"))
        .unwrap();
    image::GrayImage::from_pixel(32, 16, Luma([7]))
        .save(train.join("q.png"))
        .unwrap();
    let source = DataSource::Folder(temp.path().to_path_buf());
    let channels = ImageChannels {
        input: 1,
        output: 3,
    };

    let set = PairSet::open(&source, Split::Train, &settings(Direction::AtoB, channels)).unwrap();

    assert_eq!(set.len(), 2);
    let pair = set.get(0).unwrap();
    assert_eq!(pair.input.color().channel_count(), 1);
    assert_eq!(pair.target.color().channel_count(), 3);
    assert_eq!(pair.input.dimensions(), (16, 16));
    assert_eq!(
        set.conversions(),
        2,
        "RGB input to gray, gray target to RGB"
    );
}

#[test]
fn a_folder_without_a_known_layout_is_named() {
    let temp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(temp.path().join("images")).unwrap();
    let source = DataSource::Folder(temp.path().to_path_buf());

    let error = PairSet::has_split(&source, Split::Train).unwrap_err();

    assert!(
        error.to_string().contains("holds neither train/"),
        "{error}"
    );
}
