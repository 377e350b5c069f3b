//! `chatroom backup`: a consistent copy of a SQLite database, taken while servers write to it.

use std::fmt;
use std::fs::{self, DirBuilder, File, Permissions};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail, ensure};
use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};
use rand::distr::{Alphanumeric, SampleString};

use super::{Backend, DbConnection, shown};

/// What `backup` wrote.
#[derive(Debug)]
pub struct BackupReport {
    pub database: String,
    pub file: PathBuf,
    pub bytes: u64,
}

impl fmt::Display for BackupReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "wrote {}: a copy of database {} ({} KiB)",
            self.file.display(),
            self.database,
            self.bytes.div_ceil(1024)
        )
    }
}

/// Writes a consistent copy of the SQLite database at `url` to `file`, while servers may be
/// writing to it: `VACUUM INTO` reads one snapshot. The copy is made in a folder of its own
/// beside `file` that only its owner may enter, checked (a non-empty database that passes
/// SQLite's integrity check), made readable by its owner only, like the database, and only
/// then put in place; the folder goes on every path out, so a failed backup leaves nothing
/// behind and an existing `file` untouched. An existing `file` is replaced only when
/// `overwrite` says so. PostgreSQL has its own tool for this: pg_dump.
pub fn backup(url: &str, file: &Path, overwrite: bool) -> anyhow::Result<BackupReport> {
    let database = shown(url);
    ensure!(
        Backend::of(url) == Backend::Sqlite,
        "chatroom backup copies SQLite databases; for PostgreSQL use pg_dump (README: \
         Running on PostgreSQL, Backups)"
    );
    ensure!(
        Path::new(url).is_file(),
        "there is no database at {database}"
    );
    let target = plain_path(file)?;
    ensure!(
        overwrite || !file.exists(),
        "{} exists; add --force to replace it",
        file.display()
    );
    let workspace = Workspace::beside(&target)?;
    let copy = workspace.0.join("copy.db");
    copy_into(url, &database, &copy)?;
    check(&copy).with_context(|| {
        format!("the copy of database {database} is unsound, so nothing was written")
    })?;
    fs::set_permissions(&copy, Permissions::from_mode(0o600))?;
    File::open(&copy)?.sync_all()?;
    let bytes = fs::metadata(&copy)?.len();
    // Unlike a rename, a link never replaces a file that appeared meanwhile; where the file
    // system has no links (FAT, some network shares), the check above has to do.
    let linked = if overwrite {
        None
    } else {
        Some(fs::hard_link(&copy, &target))
    };
    match linked {
        Some(Ok(())) => {}
        Some(Err(err)) if err.kind() == std::io::ErrorKind::AlreadyExists => {
            bail!("{} exists; add --force to replace it", file.display())
        }
        _ => fs::rename(&copy, &target)
            .with_context(|| format!("cannot write {}", file.display()))?,
    }
    if let Some(folder) = target.parent() {
        File::open(folder)?.sync_all()?;
    }
    Ok(BackupReport {
        database,
        file: file.to_owned(),
        bytes,
    })
}

/// The target as an absolute path, which SQLite can only read as a file's name: a relative
/// one that begins with `file:` it would read as a URI (`file:copy.db?mode=...`) and write
/// elsewhere. Such a target is refused rather than guessed at.
fn plain_path(file: &Path) -> anyhow::Result<PathBuf> {
    let text = file
        .to_str()
        .with_context(|| format!("{} is not valid UTF-8", file.display()))?;
    if text
        .get(..5)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("file:"))
    {
        bail!(
            "{text} would be read by SQLite as a URI, not as a file: give a plain path (./{text} \
             for a file of that name)"
        );
    }
    let name = file
        .file_name()
        .with_context(|| format!("{text} names no file"))?;
    let folder = match file.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder,
        _ => Path::new("."),
    };
    let folder = fs::canonicalize(folder)
        .with_context(|| format!("cannot write into {}", folder.display()))?;
    Ok(folder.join(name))
}

/// A folder beside the target that only its owner may enter, where SQLite writes the copy
/// (and any file of its own): nobody else reads a copy in the making. Removed when dropped.
struct Workspace(PathBuf);

impl Workspace {
    fn beside(target: &Path) -> anyhow::Result<Self> {
        let name = target.file_name().unwrap_or_default().to_string_lossy();
        let tag = Alphanumeric.sample_string(&mut rand::rng(), 12);
        let path = target.with_file_name(format!(".{name}.backup-{tag}"));
        DirBuilder::new()
            .mode(0o700)
            .create(&path)
            .with_context(|| format!("cannot write into {}", path.display()))?;
        Ok(Self(path))
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn copy_into(url: &str, database: &str, copy: &Path) -> anyhow::Result<()> {
    let DbConnection::Sqlite(mut conn) = DbConnection::open(url)
        .map_err(|err| anyhow::anyhow!("cannot open database {database}: {err}"))?
    else {
        unreachable!("a SQLite path opens SQLite");
    };
    let copy = copy
        .to_str()
        .with_context(|| format!("{} is not valid UTF-8", copy.display()))?;
    diesel::sql_query("VACUUM INTO ?")
        .bind::<diesel::sql_types::Text, _>(copy)
        .execute(&mut conn)
        .with_context(|| format!("cannot copy database {database}"))?;
    Ok(())
}

/// That the copy is a database and a sound one: not empty, holding tables, and passing
/// SQLite's integrity check.
fn check(copy: &Path) -> anyhow::Result<()> {
    #[derive(QueryableByName)]
    struct Verdict {
        #[diesel(sql_type = diesel::sql_types::Text)]
        integrity_check: String,
    }
    #[derive(QueryableByName)]
    struct Tables {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        tables: i64,
    }
    ensure!(fs::metadata(copy)?.len() > 0, "it is empty");
    let path = copy.to_str().context("not valid UTF-8")?;
    let mut conn = SqliteConnection::establish(path)?;
    let verdicts: Vec<Verdict> = diesel::sql_query("PRAGMA integrity_check").load(&mut conn)?;
    let verdicts: Vec<String> = verdicts.into_iter().map(|v| v.integrity_check).collect();
    ensure!(
        verdicts == ["ok"],
        "integrity check: {}",
        verdicts.join("; ")
    );
    let tables: Tables =
        diesel::sql_query("SELECT COUNT(*) AS tables FROM sqlite_schema WHERE type = 'table'")
            .get_result(&mut conn)?;
    ensure!(tables.tables > 0, "it holds no tables");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_that_sqlite_would_read_as_a_uri_is_refused() {
        for uri in ["file:copy.db", "FILE:copy.db", "File:/tmp/x.db?mode=rwc"] {
            let err = plain_path(Path::new(uri)).unwrap_err().to_string();
            assert!(
                err.contains("URI") && err.contains(&format!("./{uri}")),
                "{err}"
            );
        }
    }

    #[test]
    fn every_other_target_becomes_an_absolute_path() {
        let here = fs::canonicalize(".").unwrap();
        assert_eq!(
            plain_path(Path::new("./file:copy.db")).unwrap(),
            here.join("file:copy.db")
        );
        assert_eq!(
            plain_path(Path::new("copy.db")).unwrap(),
            here.join("copy.db")
        );
        assert_eq!(
            plain_path(Path::new("/tmp/../tmp/a?b#c")).unwrap(),
            fs::canonicalize("/tmp").unwrap().join("a?b#c")
        );
        assert!(plain_path(Path::new("/no/such/folder/copy.db")).is_err());
        assert!(plain_path(Path::new("/")).is_err());
        assert!(plain_path(Path::new("..")).is_err());
    }

    #[test]
    fn only_a_sound_database_passes_the_check() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.db");
        File::create(&empty).unwrap();
        assert!(check(&empty).is_err());

        let garbage = dir.path().join("garbage.db");
        fs::write(&garbage, vec![b'x'; 8192]).unwrap();
        assert!(check(&garbage).is_err());

        let sound = dir.path().join("sound.db");
        let mut conn = SqliteConnection::establish(sound.to_str().unwrap()).unwrap();
        diesel::sql_query("CREATE TABLE t (x INTEGER)")
            .execute(&mut conn)
            .unwrap();
        drop(conn);
        check(&sound).unwrap();

        let no_tables = dir.path().join("no_tables.db");
        let mut conn = SqliteConnection::establish(no_tables.to_str().unwrap()).unwrap();
        diesel::sql_query("PRAGMA user_version = 1")
            .execute(&mut conn)
            .unwrap();
        drop(conn);
        assert!(check(&no_tables).is_err());
    }

    #[test]
    fn a_failed_backup_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let garbage = dir.path().join("garbage.db");
        fs::write(&garbage, vec![b'x'; 8192]).unwrap();
        let target = dir.path().join("copy.db");
        assert!(backup(garbage.to_str().unwrap(), &target, false).is_err());
        let left: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(left, ["garbage.db"]);
    }
}
