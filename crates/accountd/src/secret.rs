//! The server secret: from configuration, or generated once and kept in
//! the data directory with owner-only permissions.
//!
//! Instances starting together on one data directory agree on one secret:
//! the secret is written whole to a private temporary file first and then
//! linked to its name, which fails when the name exists (`O_EXCL`
//! semantics, atomic on every POSIX file system); every instance, the
//! winner too, then reads the file under its name. No instance ever reads
//! a half-written secret.

use std::io::Write;
use std::path::Path;

/// File name of the generated secret inside the data directory.
pub const SECRET_FILE: &str = "secret";

/// What [`load_or_create`] found.
#[derive(Debug)]
pub struct Loaded {
    /// The secret's bytes.
    pub bytes: Vec<u8>,
    /// Whether this call created the file.
    pub created: bool,
    /// Whether the file may be read by others than its owner (group or
    /// world permission bits set): the server warns.
    pub readable_by_others: bool,
}

/// Reads `dir/secret`, creating it (64 random hex characters, mode 0600)
/// when missing, atomically (see the module documentation).
pub fn load_or_create(dir: &Path) -> Result<Loaded, String> {
    let path = dir.join(SECRET_FILE);
    let created = match std::fs::symlink_metadata(&path) {
        Ok(_) => false,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(dir, &path)?,
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let text = text.trim();
    if text.len() < 32 {
        return Err(format!("{} holds fewer than 32 bytes", path.display()));
    }
    Ok(Loaded {
        bytes: text.as_bytes().to_vec(),
        created,
        readable_by_others: readable_by_others(&path),
    })
}

/// Writes a fresh secret under `path` unless another process got there
/// first; returns whether this one did.
fn create(dir: &Path, path: &Path) -> Result<bool, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let bytes: [u8; 32] = rand::random();
    let text: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    // A uniquely named file in the same directory (so that the link stays
    // on one file system), created with O_EXCL and mode 0600.
    let tmp = dir.join(format!(".secret-{:032x}", rand::random::<u128>()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let linked = options
        .open(&tmp)
        .and_then(|mut file| {
            file.write_all(text.as_bytes())?;
            file.sync_all()
        })
        .map_err(|e| format!("cannot write {}: {e}", tmp.display()))
        .and_then(|()| match std::fs::hard_link(&tmp, path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(format!("cannot create {}: {e}", path.display())),
        });
    let _ = std::fs::remove_file(&tmp);
    linked
}

#[cfg(unix)]
fn readable_by_others(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o077 != 0)
}

#[cfg(not(unix))]
fn readable_by_others(_: &Path) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_generated_once_with_owner_only_permissions_and_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create(&dir.path().join("data")).unwrap();
        assert!(first.created);
        assert!(!first.readable_by_others);
        assert_eq!(first.bytes.len(), 64);
        let again = load_or_create(&dir.path().join("data")).unwrap();
        assert!(!again.created);
        assert_eq!(first.bytes, again.bytes);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("data/secret"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path().join("data"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from(SECRET_FILE)]);
    }

    #[test]
    fn instances_starting_together_agree_on_one_secret() {
        for _ in 0..20 {
            let dir = tempfile::tempdir().unwrap();
            let data = dir.path().join("data");
            let start = std::sync::Barrier::new(8);
            let loaded: Vec<Loaded> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..8)
                    .map(|_| {
                        s.spawn(|| {
                            start.wait();
                            load_or_create(&data)
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap().unwrap())
                    .collect()
            });
            assert_eq!(loaded.iter().filter(|l| l.created).count(), 1);
            assert!(loaded.iter().all(|l| l.bytes == loaded[0].bytes));
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_secret_file_others_may_read_is_reported() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SECRET_FILE);
        std::fs::write(&path, "x".repeat(40)).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let loaded = load_or_create(dir.path()).unwrap();
        assert!(loaded.readable_by_others);
        assert!(!loaded.created);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(!load_or_create(dir.path()).unwrap().readable_by_others);
    }
}
