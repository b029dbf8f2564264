//! The one integration-test binary: modules by job, shared helpers in `support`.

mod cluster;
mod support;

mod conformance;
mod ledger;
