//! Output paths are checked before any work starts: a run, a sweep or a hunt that would only
//! find at its end that its chart has the wrong extension or its folder does not exist wastes
//! the user's time. The checks write nothing that stays: a probe file is created and removed.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

/// The file `path` of `flag` can be written: its folder exists and takes a new file, or the
/// file exists, is not a folder, and opens for writing. Nothing is truncated.
pub(super) fn check_file(flag: &str, path: &Path) -> Result<(), String> {
    let shown = path.display();
    if path.is_dir() {
        return Err(format!("{flag} {shown}: is a folder, not a file"));
    }
    if path.exists() {
        return OpenOptions::new()
            .append(true)
            .open(path)
            .map(|_| ())
            .map_err(|e| format!("{flag} {shown}: cannot be written: {e}"));
    }
    let folder = folder_of(path);
    if !folder.is_dir() {
        return Err(format!(
            "{flag} {shown}: the folder `{}` does not exist",
            folder.display()
        ));
    }
    probe(&folder).map_err(|e| format!("{flag} {shown}: cannot be written: {e}"))
}

/// The folder `dir` of `flag` exists and takes a new file, or can be made: its nearest
/// existing ancestor is a folder that takes one. The folder itself is made later, by whoever
/// writes into it.
pub(super) fn check_dir(flag: &str, dir: &Path) -> Result<(), String> {
    let shown = dir.display();
    let mut existing: PathBuf = dir.to_path_buf();
    // Bounded by the path's components.
    while !existing.exists() {
        existing = folder_of(&existing);
    }
    if !existing.is_dir() {
        return Err(format!(
            "{flag} {shown}: `{}` is a file, not a folder",
            existing.display()
        ));
    }
    probe(&existing).map_err(|e| format!("{flag} {shown}: cannot be written: {e}"))
}

/// `--report DIR`, if given: [`check_dir`].
pub(super) fn check_report_dir(dir: Option<&Path>) -> Result<(), String> {
    dir.map_or(Ok(()), |d| check_dir("--report", d))
}

/// A chart's file: `.svg` or `.png`, and [`check_file`].
pub(super) fn check_chart(flag: &str, path: &Path) -> Result<(), String> {
    let extension = path
        .extension()
        .and_then(|x| x.to_str())
        .map(str::to_ascii_lowercase);
    if !matches!(extension.as_deref(), Some("svg" | "png")) {
        return Err(format!(
            "{flag} {}: the file name must end in .svg or .png",
            path.display()
        ));
    }
    check_file(flag, path)
}

/// The folder a file path is in; `.` for a bare name.
fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Creates a new file in `folder` and removes it.
fn probe(folder: &Path) -> std::io::Result<()> {
    let probe = folder.join(format!(".raftsim-write-probe-{}", std::process::id()));
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)?;
    std::fs::remove_file(&probe)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("raftsim-outputs-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_file_needs_an_existing_folder_and_is_never_a_folder() {
        let dir = temp_dir("file");
        assert_eq!(check_file("--trace", &dir.join("t.jsonl")), Ok(()));
        let e = check_file("--trace", &dir.join("missing/t.jsonl")).unwrap_err();
        assert!(e.ends_with("/missing` does not exist"), "{e}");
        let e = check_file("--trace", &dir).unwrap_err();
        assert!(e.ends_with("is a folder, not a file"), "{e}");
        let existing = dir.join("kept.txt");
        std::fs::write(&existing, "kept").unwrap();
        assert_eq!(check_file("-o", &existing), Ok(()));
        assert_eq!(
            std::fs::read_to_string(&existing).unwrap(),
            "kept",
            "not truncated"
        );
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            1,
            "no probe file is left behind"
        );
    }

    #[test]
    fn a_folder_may_be_made_below_an_existing_one_but_not_below_a_file() {
        let dir = temp_dir("dir");
        assert_eq!(check_dir("--report", &dir.join("a/b/c")), Ok(()));
        assert!(!dir.join("a").exists(), "the check makes nothing");
        let file = dir.join("plain");
        std::fs::write(&file, "").unwrap();
        let e = check_dir("--report", &file.join("sub")).unwrap_err();
        assert!(e.ends_with("plain` is a file, not a folder"), "{e}");
    }

    #[test]
    fn a_chart_is_svg_or_png() {
        let dir = temp_dir("chart");
        assert_eq!(check_chart("--chart", &dir.join("t.SVG")), Ok(()));
        assert_eq!(check_chart("--chart", &dir.join("t.png")), Ok(()));
        let e = check_chart("--chart", &dir.join("t.gif")).unwrap_err();
        assert!(e.ends_with("the file name must end in .svg or .png"), "{e}");
    }
}
