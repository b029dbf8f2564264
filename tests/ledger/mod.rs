//! Ledger tests: numbering, concurrency across processes, tampering, hall files, replay, reports.

mod closing;
mod concurrency;
mod connections;
mod docs;
mod forms;
mod hall_file;
mod hardening;
mod history;
mod layers;
mod lifecycle;
mod notify;
mod office;
mod postgres;
mod privacy;
mod remote_office;
mod report;
mod restore;
mod served;
mod status_page;
mod tamper;
mod tls;
mod voice;
