//! Where kustomization trees are read from: the disk, or the trees embedded in the binary.

use std::collections::{HashMap, HashSet};
use std::io;
use std::path::{Component, Path, PathBuf};

/// The few file operations the loader needs. Paths given to it are already normalized.
pub trait Fs: Sync {
    fn read_to_string(&self, path: &Path) -> io::Result<String>;
    /// [`Fs::read_to_string`] of a file [`Fs::stat`] found, its size known: the disk reads it
    /// into a buffer of that size without asking the size again (a system call per file).
    fn read_stated(&self, path: &Path, _stat: Stat) -> io::Result<String> {
        self.read_to_string(path)
    }
    fn is_dir(&self, path: &Path) -> bool;
    fn is_file(&self, path: &Path) -> bool;
    /// The path with symlinks resolved where the medium has them, for root checks and cycles.
    fn canonical(&self, path: &Path) -> PathBuf {
        normalize(path)
    }
    /// Whether `path` is itself a symlink (only the disk has them).
    fn is_symlink(&self, _path: &Path) -> bool {
        false
    }
    /// What `path` is, with one system call where the medium has them (a file system call per
    /// resource file is a good part of a large build).
    fn stat(&self, path: &Path) -> Stat {
        let kind = if self.is_dir(path) {
            Kind::Dir
        } else if self.is_file(path) {
            Kind::File
        } else {
            Kind::Missing
        };
        Stat { kind, symlink: kind != Kind::Missing && self.is_symlink(path), len: 0 }
    }
}

/// What a path names, symlinks followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    /// Nothing, or something neither a file nor a directory.
    Missing,
}

/// [`Fs::stat`]'s answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    pub kind: Kind,
    /// The path itself is a symlink (`kind` is what it leads to).
    pub symlink: bool,
    /// The size in bytes where the medium tells it with the kind (0 otherwise): a capacity hint.
    pub len: u64,
}

/// The real file system.
pub struct DiskFs;

impl Fs for DiskFs {
    fn read_to_string(&self, path: &Path) -> io::Result<String> {
        std::fs::read_to_string(path)
    }
    fn is_dir(&self, path: &Path) -> bool {
        path.is_dir()
    }
    fn is_file(&self, path: &Path) -> bool {
        path.is_file()
    }
    fn canonical(&self, path: &Path) -> PathBuf {
        std::fs::canonicalize(path).unwrap_or_else(|_| normalize(path))
    }
    fn is_symlink(&self, path: &Path) -> bool {
        path.symlink_metadata().is_ok_and(|m| m.file_type().is_symlink())
    }
    fn stat(&self, path: &Path) -> Stat {
        let stat = |m: std::io::Result<std::fs::Metadata>, symlink| match m {
            Ok(m) if m.is_file() => Stat { kind: Kind::File, symlink, len: m.len() },
            Ok(m) if m.is_dir() => Stat { kind: Kind::Dir, symlink, len: 0 },
            _ => Stat { kind: Kind::Missing, symlink, len: 0 },
        };
        match path.symlink_metadata() {
            Ok(m) if m.file_type().is_symlink() => stat(path.metadata(), true),
            other => stat(other, false),
        }
    }
    fn read_stated(&self, path: &Path, stat: Stat) -> io::Result<String> {
        use std::io::Read;
        // Read through `take`, which asks no size (`File::read_to_string` would, again), and stops
        // one byte past the YAML reader's limit: a larger file is refused, not held in memory.
        let limit = crate::yaml::MAX_INPUT_BYTES as u64 + 1;
        let mut bytes = Vec::with_capacity(stat.len.min(limit) as usize);
        std::fs::File::open(path)?.take(limit).read_to_end(&mut bytes)?;
        String::from_utf8(bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }
}

/// Files held in memory: the built-in base/overlays, and test trees. Every file of a build is
/// looked up here first (see [`Layered`]), so lookups are hashed rather than compared path by
/// path, and directories are known from the files' ancestors.
#[derive(Debug, Clone, Default)]
pub struct MemFs {
    files: HashMap<PathBuf, String>,
    dirs: HashSet<PathBuf>,
}

impl MemFs {
    pub fn new() -> MemFs {
        MemFs::default()
    }

    pub fn insert(&mut self, path: impl AsRef<Path>, contents: impl Into<String>) {
        let path = normalize(path.as_ref());
        self.dirs.extend(path.ancestors().skip(1).map(Path::to_path_buf));
        self.files.insert(path, contents.into());
    }

    /// Every file below `dir`, with paths relative to `dir`, in path order.
    pub fn files_under<'a>(&'a self, dir: &'a Path) -> impl Iterator<Item = (&'a Path, &'a str)> + 'a {
        let mut files: Vec<(&Path, &str)> =
            self.files.iter().filter_map(move |(p, c)| p.strip_prefix(dir).ok().map(|rel| (rel, c.as_str()))).collect();
        files.sort_unstable_by(|a, b| a.0.cmp(b.0));
        files.into_iter()
    }

    fn get(&self, path: &Path) -> Option<&String> {
        match is_normal(path) {
            true => self.files.get(path),
            false => self.files.get(&normalize(path)),
        }
    }
}

impl Fs for MemFs {
    fn read_to_string(&self, path: &Path) -> io::Result<String> {
        self.get(path).cloned().ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such file"))
    }
    fn is_dir(&self, path: &Path) -> bool {
        match is_normal(path) {
            true => self.dirs.contains(path),
            false => self.dirs.contains(&normalize(path)),
        }
    }
    fn is_file(&self, path: &Path) -> bool {
        self.get(path).is_some()
    }
}

/// Whether [`normalize`] would give `path` back unchanged: no `.` or `..`, no doubled or
/// trailing `/`.
fn is_normal(path: &Path) -> bool {
    let b = path.as_os_str().as_encoded_bytes();
    !b.is_empty()
        && !b.ends_with(b"/")
        && !b.windows(2).any(|w| w == b"//")
        && b.split(|&c| c == b'/').skip(1).all(|part| part != b"." && part != b"..")
        && !b.starts_with(b"./")
        && !b.starts_with(b"../")
        && b != b"."
        && b != b".."
}

/// Lexical normalization: removes `.` and folds `dir/..`, without touching the disk.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.components().next_back() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir) => {}
                _ => out.push(".."),
            },
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_stated_reads_the_whole_file_whatever_the_size_hint() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("f");
        std::fs::write(&path, "kind: A\n".repeat(5000)).unwrap();
        let stat = DiskFs.stat(&path);
        assert_eq!(stat.len, 40_000);
        for len in [0, 7, 40_000, 1 << 40] {
            assert_eq!(DiskFs.read_stated(&path, Stat { len, ..stat }).unwrap().len(), 40_000, "hint {len}");
        }
        std::fs::write(&path, b"a: \xff\n").unwrap();
        let err = DiskFs.read_stated(&path, DiskFs.stat(&path)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn normalizes_lexically() {
        assert_eq!(normalize(Path::new("overlays/training/../../base")), PathBuf::from("base"));
        assert_eq!(normalize(Path::new("./a/./b")), PathBuf::from("a/b"));
        assert_eq!(normalize(Path::new("../../x")), PathBuf::from("../../x"));
    }

    #[test]
    fn disk_stat_agrees_with_is_file_is_dir_and_is_symlink() {
        let tmp = tempfile::tempdir().unwrap();
        let p = |n: &str| tmp.path().join(n);
        std::fs::write(p("file"), "x").unwrap();
        std::fs::create_dir(p("dir")).unwrap();
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(p("file"), p("to-file")).unwrap();
            std::os::unix::fs::symlink(p("dir"), p("to-dir")).unwrap();
            std::os::unix::fs::symlink(p("nowhere"), p("dangling")).unwrap();
        }
        for name in ["file", "dir", "to-file", "to-dir", "dangling", "missing"] {
            let path = p(name);
            let stat = DiskFs.stat(&path);
            let expected = if DiskFs.is_dir(&path) {
                Kind::Dir
            } else if DiskFs.is_file(&path) {
                Kind::File
            } else {
                Kind::Missing
            };
            assert_eq!(stat.kind, expected, "{name}");
            assert_eq!(stat.symlink, DiskFs.is_symlink(&path), "{name}");
        }
        let mut mem = MemFs::new();
        mem.insert("/gen/kustomization.yaml", "resources: []");
        let layered = Layered { top: mem, under: &DiskFs };
        assert_eq!(layered.stat(Path::new("/gen")).kind, Kind::Dir);
        assert_eq!(layered.stat(Path::new("/gen/kustomization.yaml")).kind, Kind::File);
        assert_eq!(layered.stat(&p("to-file")), Stat { kind: Kind::File, symlink: cfg!(unix), len: 1 });
    }

    #[test]
    fn memfs_knows_directories() {
        let mut fs = MemFs::new();
        fs.insert("base/kustomization.yaml", "resources: []");
        assert!(fs.is_dir(Path::new("base")));
        assert!(fs.is_file(Path::new("base/kustomization.yaml")));
        assert!(!fs.is_dir(Path::new("bas")));
    }
}

/// Generated files over another file system: the values and release layers live in memory and
/// refer to the user's own directories or to the built-in trees below.
pub struct Layered<'a> {
    pub top: MemFs,
    pub under: &'a dyn Fs,
}

impl Fs for Layered<'_> {
    fn read_to_string(&self, path: &Path) -> io::Result<String> {
        if self.top.is_file(path) {
            self.top.read_to_string(path)
        } else {
            self.under.read_to_string(path)
        }
    }
    fn is_dir(&self, path: &Path) -> bool {
        self.top.is_dir(path) || self.under.is_dir(path)
    }
    fn is_file(&self, path: &Path) -> bool {
        self.top.is_file(path) || self.under.is_file(path)
    }
    fn is_symlink(&self, path: &Path) -> bool {
        !self.top.is_file(path) && !self.top.is_dir(path) && self.under.is_symlink(path)
    }
    fn read_stated(&self, path: &Path, stat: Stat) -> io::Result<String> {
        match self.top.is_file(path) {
            true => self.top.read_to_string(path),
            false => self.under.read_stated(path, stat),
        }
    }
    fn stat(&self, path: &Path) -> Stat {
        match self.top.stat(path) {
            Stat { kind: Kind::Missing, .. } => self.under.stat(path),
            found => found,
        }
    }
    fn canonical(&self, path: &Path) -> PathBuf {
        if self.top.is_file(path) || self.top.is_dir(path) {
            normalize(path)
        } else {
            self.under.canonical(path)
        }
    }
}
