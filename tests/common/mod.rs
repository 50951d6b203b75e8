//! Helpers shared by the command-line tests: run the binary, read its
//! output.

#![allow(dead_code)] // Each test file uses a different subset.

use std::process::{Command, Output};

/// Runs `unet-nas` with `args` and waits for it.
pub fn unet_nas(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_unet-nas"))
        .args(args)
        .output()
        .expect("the binary runs")
}

/// Bytes of stdout or stderr as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
