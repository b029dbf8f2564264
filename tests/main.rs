//! The one integration-test binary: modules by job, shared helpers in `support`.

mod support;

mod conformance;
mod ledger;
