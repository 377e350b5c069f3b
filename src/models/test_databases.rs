//! Fresh databases for the models' unit tests, on each backend there is.

use super::initialize;
use crate::db::DbConnection;

/// A fresh, migrated database on each backend for a model's unit tests, each living as long as
/// its guard: SQLite in a temporary folder, and a new PostgreSQL database (dropped by the
/// guard) on the server `CHATROOM_TEST_POSTGRES` names, by default the one the integration
/// tests use (tests/support/database.rs). Without that server the PostgreSQL one is left out,
/// except under CI, where that fails.
pub(crate) fn test_databases() -> Vec<(TestDatabase, DbConnection)> {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("chat.db");
    let path = path.to_str().expect("a UTF-8 path");
    initialize(path).expect("a new database");
    let conn = DbConnection::open(path).expect("the database opens");
    let mut databases = vec![(TestDatabase::Sqlite(dir), conn)];
    databases.extend(postgres_test_database());
    databases
}

fn postgres_test_database() -> Option<(TestDatabase, DbConnection)> {
    use diesel::connection::SimpleConnection;

    let admin_url = crate::db::test_postgres();
    let name = format!("chatroom_unit_{:016x}", rand::random::<u64>());
    let mut admin = match DbConnection::open(&admin_url) {
        Ok(admin) => admin,
        Err(err) if std::env::var_os("CI").is_some() => {
            panic!("CI is set and there is no PostgreSQL server at {admin_url}: {err}")
        }
        Err(_) => return None,
    };
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("a new PostgreSQL database");
    let url = crate::db::on_database(&admin_url, &name);
    initialize(&url).expect("the new database migrates");
    let conn = DbConnection::open(&url).expect("the database opens");
    Some((TestDatabase::Postgres { admin_url, name }, conn))
}

pub(crate) enum TestDatabase {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        use diesel::connection::SimpleConnection;

        if let Self::Postgres { admin_url, name } = self
            && let Ok(mut admin) = DbConnection::open(admin_url)
        {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}
