//! File writing that survives being killed.
//!
//! Every file a long run writes goes through [`write_atomically`]: the bytes
//! go to a temporary file beside the target, are flushed to disk, and the
//! temporary file is renamed over the target. A kill at any moment leaves
//! either the old file or the new one, never a torn mix.

use std::fs::File;
use std::io::{BufWriter, Seek, Write};
use std::path::{Path, PathBuf};

/// Writes `path` through `write`, atomically.
pub fn write_atomically<F>(path: &Path, write: F) -> std::io::Result<()>
where
    F: FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
{
    let temporary = temporary_path(path);
    let result = (|| {
        let mut writer = BufWriter::new(File::create(&temporary)?);
        write(&mut writer)?;
        writer.flush()?;
        writer.get_ref().sync_all()?;
        Ok(())
    })();
    if let Err(error) = result {
        let _ = std::fs::remove_file(&temporary);
        return Err(error);
    }
    std::fs::rename(&temporary, path)
}

/// Writes `bytes` to `path`, atomically.
pub fn write_bytes_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomically(path, |writer| writer.write_all(bytes))
}

/// Appends one line to a log file, creating it when missing. Log lines are
/// appended rather than rewritten: a kill loses at most the line in flight.
pub fn append_line(path: &Path, line: &str) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    file.seek(std::io::SeekFrom::End(0))?;
    writeln!(file, "{line}")
}

/// Appends `line` to the run log at `path`. A log that cannot be written is
/// reported as a warning rather than stopping the run: losing a log line is
/// better than losing the training behind it.
pub fn log_line(path: &Path, line: &str) {
    if let Err(error) = append_line(path, line) {
        tracing::warn!("could not append to {}: {error}", path.display());
    }
}

/// `dir/.name.tmp-PID` beside `path`: same folder, so the rename is atomic.
fn temporary_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_and_leaves_no_temporary() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("state.json");

        write_bytes_atomically(&path, b"old").unwrap();
        write_bytes_atomically(&path, b"new").unwrap();

        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert_eq!(std::fs::read_dir(folder.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_failed_write_keeps_the_old_file() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("state.json");
        write_bytes_atomically(&path, b"old").unwrap();

        let result = write_atomically(&path, |_| Err(std::io::Error::other("disk full")));

        assert!(result.is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(folder.path()).unwrap().count(), 1);
    }
}
