//! One function per subcommand, grouped by who uses it: the server host's setup, the
//! visitor's side (items, tickets, reprints), the counter, the office, and the host's services.

pub mod counter;
pub mod host;
pub mod office;
pub mod setup;
pub mod visitor;
