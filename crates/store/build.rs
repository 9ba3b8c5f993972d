//! The migrations are embedded at compile time (`sqlx::migrate!`), which
//! cargo does not see: without this, a migration added or edited alone would
//! leave the built store without it.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
