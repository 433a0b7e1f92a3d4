//! Rebuild when a migration is added: `sqlx::migrate!` embeds the
//! migrations directory at compile time but does not watch it.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
