//! The PostgreSQL directory's test server: `KINSEAL_POSTGRES_URL` names a
//! database (`.ci/postgres` starts a throwaway cluster and sets it). Each
//! test gets a schema of its own, dropped and made afresh, so tests run in
//! parallel without seeing each other's rows. Without the variable a test
//! says it was skipped and passes, unless `KINSEAL_REQUIRE_POSTGRES=1`
//! (set by `.ci/postgres`), which makes a missing server a failure.

#![cfg(feature = "postgres")]

use kinseal::server::PostgresDirectory;

/// The server's connection parameters, or `None` (after saying why) when
/// the tests are to be skipped.
pub(crate) fn url(test: &str) -> Option<String> {
    match std::env::var("KINSEAL_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("KINSEAL_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "{test}: KINSEAL_REQUIRE_POSTGRES=1 but KINSEAL_POSTGRES_URL is not set"
            );
            skipped(
                test,
                "KINSEAL_POSTGRES_URL is not set (bash .ci/postgres starts a server)",
            );
            None
        }
    }
}

/// Says that `test` was skipped and why: on stderr past the test
/// harness's capture (which hides a passing test's output), once per
/// test binary, and for each test in its captured output.
pub(crate) fn skipped(test: &str, why: &str) {
    use std::io::Write;
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = writeln!(
            std::io::stderr().lock(),
            "PostgreSQL directory tests skipped: {why}"
        );
    });
    eprintln!("{test}: skipped: {why}");
}

/// `url` with an extra libpq parameter, in the URL's own form.
pub(crate) fn with_param(url: &str, key: &str, value: &str) -> String {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let sep = if url.contains('?') { '&' } else { '?' };
        let value = value
            .replace('%', "%25")
            .replace('=', "%3D")
            .replace(' ', "%20");
        format!("{url}{sep}{key}={value}")
    } else {
        format!("{url} {key}='{value}'")
    }
}

/// A schema name for `test` in `module` (a `module_path!()`), valid and
/// unique across the suite.
fn schema_name(module: &str, test: &str) -> String {
    let suite = module.split("::").nth(1).unwrap_or("t");
    let mut name = format!("k_{suite}_{test}").to_lowercase();
    name.retain(|c| c.is_ascii_alphanumeric() || c == '_');
    name.truncate(63);
    name
}

/// Connection parameters for a fresh, empty schema of its own for `test`,
/// or `None` when skipped.
pub(crate) fn fresh_schema(module: &str, test: &str) -> Option<String> {
    let url = url(test)?;
    let schema = schema_name(module, test);
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    admin
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema};"
        ))
        .unwrap();
    Some(with_param(
        &url,
        "options",
        &format!("-csearch_path={schema}"),
    ))
}

/// A directory in a fresh schema of its own, or `None` when skipped.
pub(crate) fn directory(module: &str, test: &str) -> Option<PostgresDirectory> {
    let params = fresh_schema(module, test)?;
    Some(PostgresDirectory::connect(&params).unwrap())
}
