//! Content-addressed file storage: a file is kept once under its SHA-256, as sent (originals are
//! never modified), under the name `ab/abcdef…`; its thumbnail sits beside it as `…​.thumb.jpg`.
//! Two places can hold them: a local directory (the default) or an S3-compatible bucket
//! ([`super::s3`]: MinIO, Ceph, AWS S3 …).

use super::objects::{object_name, Variant};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Where files are kept.
#[derive(Debug, Clone)]
pub enum Blobs {
    Local(LocalBlobs),
    S3(super::s3::Bucket),
}

impl Blobs {
    /// Stores `bytes` under `sha256` unless a file is there already (the first one stays).
    pub fn put(&self, sha256: &str, variant: Variant, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            Self::Local(local) => local.put(sha256, variant, bytes).map(drop),
            Self::S3(bucket) => bucket.put(sha256, variant, bytes),
        }
    }

    pub fn get(&self, sha256: &str, variant: Variant) -> std::io::Result<Option<Vec<u8>>> {
        match self {
            Self::Local(local) => local.get(sha256, variant),
            Self::S3(bucket) => bucket.get(sha256, variant),
        }
    }

    /// Where the files are, for the start-up log.
    pub fn describe(&self) -> String {
        match self {
            Self::Local(local) => local.root().display().to_string(),
            Self::S3(bucket) => bucket.describe(),
        }
    }
}

/// Files in a local directory. Writing goes to a temporary name first and is renamed into place,
/// so a crash never leaves a half-written file under a real name.
#[derive(Debug, Clone)]
pub struct LocalBlobs {
    root: PathBuf,
}

impl LocalBlobs {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where a blob lives; `None` for anything that is not a SHA-256 in hex.
    pub fn path(&self, sha256: &str, variant: Variant) -> Option<PathBuf> {
        object_name(sha256, variant).map(|name| self.root.join(name))
    }

    /// Stores `bytes` under `sha256` unless it is there already.
    pub fn put(&self, sha256: &str, variant: Variant, bytes: &[u8]) -> std::io::Result<PathBuf> {
        let path = self.path(sha256, variant).ok_or_else(|| std::io::Error::other("not a SHA-256"))?;
        if path.exists() {
            return Ok(path);
        }
        let dir = path.parent().ok_or_else(|| std::io::Error::other("no parent directory"))?;
        std::fs::create_dir_all(dir)?;
        let (temporary, mut file) = tempfile_in(dir)?;
        let written =
            file.write_all(bytes).and_then(|()| file.sync_all()).and_then(|()| std::fs::rename(&temporary, &path));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&temporary);
            return Err(e);
        }
        // The rename itself must survive a power cut: the directory's entry is synced too.
        std::fs::File::open(dir)?.sync_all()?;
        Ok(path)
    }

    /// Removes temporary files (`.upload-*`) that a killed process left behind, once they are
    /// older than `age` (a younger one may be another node's upload in progress). Gives how many.
    pub fn sweep(&self, age: std::time::Duration) -> std::io::Result<usize> {
        let mut removed = 0;
        let Ok(shards) = std::fs::read_dir(&self.root) else { return Ok(0) }; // nothing stored yet
        for shard in shards.flatten().filter(|e| e.file_type().is_ok_and(|t| t.is_dir())) {
            for entry in std::fs::read_dir(shard.path())?.flatten() {
                let stale = entry.file_name().to_string_lossy().starts_with(".upload-")
                    && entry.metadata().and_then(|m| m.modified()).is_ok_and(|t| t.elapsed().unwrap_or_default() > age);
                if stale && std::fs::remove_file(entry.path()).is_ok() {
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }

    pub fn get(&self, sha256: &str, variant: Variant) -> std::io::Result<Option<Vec<u8>>> {
        let Some(path) = self.path(sha256, variant) else { return Ok(None) };
        match std::fs::read(path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// A new file `.upload-<random>` in `dir`.
fn tempfile_in(dir: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    let mut random = [0u8; 8];
    getrandom::getrandom(&mut random).map_err(std::io::Error::other)?;
    let path = dir.join(format!(".upload-{}", hex::encode(random)));
    let file = std::fs::OpenOptions::new().write(true).create_new(true).open(&path)?;
    Ok((path, file))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_are_stored_once_under_their_hash_and_paths_cannot_escape() {
        let root = std::env::temp_dir().join(format!("gw-blobs-{}", std::process::id()));
        let blobs = LocalBlobs::new(&root);
        let sha = "ab".repeat(32);
        let path = blobs.put(&sha, Variant::Original, b"photo").expect("put");
        assert_eq!(path, root.join("ab").join(&sha));
        blobs.put(&sha, Variant::Original, b"other bytes").expect("second put");
        assert_eq!(blobs.get(&sha, Variant::Original).expect("get"), Some(b"photo".to_vec()), "kept as first sent");
        assert_eq!(blobs.get(&"cd".repeat(32), Variant::Thumbnail).expect("get"), None);
        assert_eq!(blobs.path("../../etc/passwd", Variant::Original), None);
        assert_eq!(blobs.path(&"AB".repeat(32), Variant::Original), None);
        let leftovers = std::fs::read_dir(root.join("ab"))
            .expect("dir")
            .filter(|e| e.as_ref().is_ok_and(|e| e.file_name().to_string_lossy().starts_with(".upload-")));
        assert_eq!(leftovers.count(), 0, "no temporary file left behind");
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn a_sweep_removes_old_leftovers_only() {
        let root = std::env::temp_dir().join(format!("gw-sweep-{}", std::process::id()));
        let blobs = LocalBlobs::new(&root);
        let sha = "ab".repeat(32);
        blobs.put(&sha, Variant::Original, b"kept").expect("stored");
        let shard = root.join("ab");
        std::fs::write(shard.join(".upload-dead"), b"half").expect("leftover");
        assert_eq!(blobs.sweep(std::time::Duration::from_secs(3600)).expect("swept"), 0, "young files stay");
        assert_eq!(blobs.sweep(std::time::Duration::ZERO).expect("swept"), 1);
        assert!(!shard.join(".upload-dead").exists());
        assert_eq!(blobs.get(&sha, Variant::Original).expect("read"), Some(b"kept".to_vec()));
        let _ = std::fs::remove_dir_all(&root);
    }
}
