//! The server secret: from configuration, or generated once and kept in
//! the data directory with owner-only permissions.

use std::io::Write;
use std::path::Path;

/// File name of the generated secret inside the data directory.
pub const SECRET_FILE: &str = "secret";

/// Reads `dir/secret`, creating it (64 random hex characters, mode 0600)
/// when missing. Returns the secret and whether it was just created.
pub fn load_or_create(dir: &Path) -> Result<(Vec<u8>, bool), String> {
    let path = dir.join(SECRET_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let text = text.trim();
            if text.len() < 32 {
                return Err(format!("{} holds fewer than 32 bytes", path.display()));
            }
            return Ok((text.as_bytes().to_vec(), false));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let bytes: [u8; 32] = rand::random();
    let text: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(&path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok((text.into_bytes(), true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_generated_once_with_owner_only_permissions_and_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let (first, created) = load_or_create(&dir.path().join("data")).unwrap();
        assert!(created);
        assert_eq!(first.len(), 64);
        let (again, created) = load_or_create(&dir.path().join("data")).unwrap();
        assert!(!created);
        assert_eq!(first, again);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("data/secret"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
