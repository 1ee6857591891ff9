//! Writing state files: atomically, and private keys readable by the owner only.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A state file could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct FileError {
    /// The file at fault.
    pub path: PathBuf,
    /// What the operating system said.
    #[source]
    pub source: std::io::Error,
}

/// Who may read a file written with [`write_atomic`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Readable by anyone (certificates, public keys, the target profile).
    Public,
    /// Readable by the owner only (private keys, secrets).
    Private,
}

/// Writes `contents` to `path` through a temporary file and a rename, so a crash
/// never leaves half a key behind, then syncs it.
pub fn write_atomic(path: &Path, contents: &[u8], access: Access) -> Result<(), FileError> {
    let err = |source| FileError { path: path.to_owned(), source };
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(err)?;
    let tmp = path.with_extension("tmp");
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if access == Access::Private { 0o600 } else { 0o644 });
    }
    let mut file = options.open(&tmp).map_err(err)?;
    file.write_all(contents).map_err(err)?;
    file.sync_all().map_err(err)?;
    fs::rename(&tmp, path).map_err(err)
}

/// Reads a UTF-8 file, `None` if it does not exist.
pub fn read_optional(path: &Path) -> Result<Option<String>, FileError> {
    match fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(FileError { path: path.to_owned(), source }),
    }
}
