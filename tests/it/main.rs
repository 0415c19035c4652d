//! The integration tests: one binary, so that an edit in `src/` links one test executable,
//! not ten. Each module is one area; `common` holds the moto harness and the fault proxy.

mod common;

mod access_key;
mod architecture;
mod bad_input;
mod cli_help;
mod clusters_and_tiers;
mod faults;
mod guardrails;
mod inputs_in_the_field;
mod least_privilege;
mod localstack;
mod reliability;
mod reruns;
mod role_cloudformation;
mod role_iam;
mod rounds;
mod saved_plans;
mod sets;
mod verify_teardown;
mod wizard_pty;
