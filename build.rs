//! Builds the crate again when a migration changes or is added: `embed_migrations!` reads the
//! migrations directory at compile time, and a proc macro cannot ask cargo to watch it (see
//! diesel_migrations' "Automatic rebuilds").

fn main() {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-changed=Cargo.toml");
}
