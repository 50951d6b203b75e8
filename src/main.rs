//! The `unet-nas` command line: a thin layer over the `unet_nas` library.

mod cli;

fn main() -> std::process::ExitCode {
    unet_nas::memory::tune_allocator();
    cli::main()
}
