//! Kiosk tests: the Slint testing backend drives the real screens (elements found by
//! accessible label), a fake network printer on 127.0.0.1 receives real tickets, and the
//! ledger is checked for what the visitor did.

mod support;

mod booking;
mod flow;
mod layout;
mod locked;
mod printing;
mod render;
mod served;
mod translations;
mod voice;
