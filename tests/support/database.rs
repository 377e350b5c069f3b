//! A fresh database for each test, on the backend its test binary runs on. Binaries whose name
//! ends in `_postgres` (tests/api_postgres.rs, tests/crash_postgres.rs: the same suites, the
//! same test bodies) run on PostgreSQL; the others on SQLite.
//!
//! SQLite: a file in a temporary folder. PostgreSQL: a new database on the server that
//! `CHATROOM_TEST_POSTGRES` names (a URL of any database there, as a role that may create
//! databases; default `postgres://postgres:postgres@localhost:5432/postgres?sslmode=disable`), copied from a
//! template migrated once per test binary, and dropped when the test ends. Without a server
//! there, PostgreSQL's tests are skipped with one line saying how to get one; under CI they
//! fail instead.

use std::sync::OnceLock;

use chatroom::db::{Backend, DbConnection};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use super::programs;

/// The cookie key a server process gets on PostgreSQL, which will not start without one.
pub const TEST_SECRET: &str = "a test secret, thirty-two bytes or more";

/// Gives a server process on `url` what its backend needs in the environment: on PostgreSQL
/// the key; on SQLite none, so that the server keeps its own key file beside the database, as
/// a restart must find it again.
pub fn key_env(command: &mut std::process::Command, url: &str) {
    match chatroom::db::Backend::of(url) {
        Backend::Postgres => command.env("CHATROOM_SECRET", TEST_SECRET),
        Backend::Sqlite => command.env_remove("CHATROOM_SECRET"),
    };
}

/// The backend of this test binary.
pub fn backend() -> Backend {
    if env!("CARGO_CRATE_NAME").ends_with("_postgres") {
        Backend::Postgres
    } else {
        Backend::Sqlite
    }
}

/// A database that lives as long as this value.
pub struct TestDatabase {
    /// What `--database` takes: a path or a URL.
    pub url: String,
    place: Place,
}

enum Place {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { name: String },
}

impl TestDatabase {
    /// A new, empty database on this binary's backend (migrated on PostgreSQL, where it is a
    /// copy of the template; on SQLite the server creates it, as `cargo run` does). `None`
    /// when that backend is not at hand: the test is then skipped, except under CI.
    pub fn fresh() -> Option<Self> {
        match backend() {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("a temporary folder");
                let url = dir
                    .path()
                    .join("chat.db")
                    .to_str()
                    .expect("UTF-8")
                    .to_owned();
                Some(Self {
                    url,
                    place: Place::Sqlite(dir),
                })
            }
            Backend::Postgres => {
                let server = postgres()?;
                let name = server.new_database();
                Some(Self {
                    url: chatroom::db::on_database(&server.url, &name),
                    place: Place::Postgres { name },
                })
            }
        }
    }

    /// A connection of our own, for checking what the app stored.
    pub fn connect(&self) -> DbConnection {
        DbConnection::open(&self.url).expect("the test database opens")
    }

    /// PostgreSQL only: cuts every connection to this database and refuses new ones
    /// (`reachable` false), as when the database server is gone; or lets them in again.
    pub fn set_reachable(&self, reachable: bool) {
        let (Place::Postgres { name }, Some(server)) =
            (&self.place, SERVER.get().and_then(Option::as_ref))
        else {
            panic!("only a PostgreSQL database can be cut off");
        };
        let mut admin = DbConnection::open(&server.url).expect("the admin connection");
        let mut sql = format!("ALTER DATABASE {name} ALLOW_CONNECTIONS {reachable};");
        if !reachable {
            sql.push_str(&format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}';"
            ));
        }
        diesel::connection::SimpleConnection::batch_execute(&mut admin, &sql)
            .expect("connections cut or allowed");
    }

    /// PostgreSQL only: makes this database refuse writes (`default_transaction_read_only`,
    /// as a standby or a database set read-only does), or take them again, and ends every
    /// connection to it, so that the server's next ones are made under the new rule.
    pub fn set_read_only(&self, read_only: bool) {
        let (Place::Postgres { name }, Some(server)) =
            (&self.place, SERVER.get().and_then(Option::as_ref))
        else {
            panic!("only a PostgreSQL database can be made read-only");
        };
        let mut admin = DbConnection::open(&server.url).expect("the admin connection");
        let sql = format!(
            "ALTER DATABASE {name} SET default_transaction_read_only = {read_only}; \
             SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}';"
        );
        diesel::connection::SimpleConnection::batch_execute(&mut admin, &sql)
            .expect("the database made read-only or writable");
    }

    /// The SQLite file's path (tests of SQLite's own files use it).
    pub fn sqlite_path(&self) -> Option<&std::path::Path> {
        match &self.place {
            Place::Sqlite(_) => Some(std::path::Path::new(&self.url)),
            Place::Postgres { .. } => None,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Place::Postgres { name } = &self.place
            && let Some(server) = SERVER.get().and_then(Option::as_ref)
        {
            server.drop_database(name);
        }
    }
}

/// The PostgreSQL server the tests use, and this binary's migrated template on it.
struct Postgres {
    /// The URL tests were given (its database is only used to create and drop others).
    url: String,
    template: String,
}

static SERVER: OnceLock<Option<Postgres>> = OnceLock::new();

fn postgres() -> Option<&'static Postgres> {
    SERVER.get_or_init(Postgres::connect).as_ref().or_else(|| {
        programs::skip_without_postgres(&chatroom::db::shown(&chatroom::db::test_postgres()));
        None
    })
}

impl Postgres {
    fn connect() -> Option<Self> {
        let url = chatroom::db::test_postgres();
        let mut admin = DbConnection::open(&url).ok()?;
        let pid = std::process::id();
        forget_dead_binaries(&mut admin);
        let template = format!("chatroom_test_{pid}_template");
        admin
            .batch_execute(&format!("CREATE DATABASE {template}"))
            .expect("a template database");
        chatroom::models::initialize(&chatroom::db::on_database(&url, &template))
            .expect("the template migrates");
        Some(Self { url, template })
    }

    fn admin(&self) -> DbConnection {
        DbConnection::open(&self.url).expect("the PostgreSQL server answers")
    }

    fn new_database(&self) -> String {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "chatroom_test_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        // A template may be copied by one CREATE DATABASE at a time ("source database is
        // being accessed by other users"): tests that start together take turns.
        static COPYING: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _turn = COPYING.lock().unwrap_or_else(|e| e.into_inner());
        self.admin()
            .batch_execute(&format!(
                "CREATE DATABASE {name} TEMPLATE {}",
                self.template
            ))
            .expect("a new test database");
        name
    }

    fn drop_database(&self, name: &str) {
        if let Ok(mut admin) = DbConnection::open(&self.url) {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

/// Drops the databases of test binaries that are no longer running (killed, or ended before
/// their template could go): each name carries its binary's process id.
fn forget_dead_binaries(admin: &mut DbConnection) {
    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        datname: String,
    }
    let names: Vec<Name> = diesel::sql_query(
        "SELECT datname FROM pg_database WHERE datname LIKE 'chatroom\\_test\\_%'",
    )
    .load(admin)
    .unwrap_or_default();
    for Name { datname } in names {
        let pid = datname.split('_').nth(2).unwrap_or_default();
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {datname} WITH (FORCE)"));
        }
    }
}
