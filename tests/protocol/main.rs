//! The pure protocol suites: filters, PATCH, validation and schemas as data, with no AWS in
//! the binary (one link instead of one per suite).

mod filter_fuzz;
mod filter_suite;
mod layers;
mod patch_fuzz;
mod patch_suite;
mod schema_as_data;
mod validation_suite;
