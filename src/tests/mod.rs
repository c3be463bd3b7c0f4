//! The library's pure suites: filters, PATCH, validation, schemas as data, and the layering
//! check. Unit tests of the library, so that they link no binary of their own.

mod filter_fuzz;
mod filter_suite;
mod layers;
mod patch_fuzz;
mod patch_suite;
mod schema_as_data;
mod validation_suite;

use proptest::test_runner::{Config, FileFailurePersistence};

/// Cases per property: `PROPTEST_CASES`, or `default` (a short run). A failure's seed is kept in
/// `<suite>.proptest-regressions` beside the suite, and every later run tries it first.
fn proptest_config(default: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(default);
    Config {
        cases,
        // Shrinking a long run's failure can take long; a few thousand steps are plenty.
        max_shrink_iters: 4096,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..Config::default()
    }
}
