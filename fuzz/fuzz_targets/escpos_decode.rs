//! The ESC/POS decoder the simulator and tests read printers' bytes with: any bytes decode
//! without a panic, and bytes fed in pieces (as a socket delivers them) decode the same.
#![no_main]

use bangban_printer::decode::{decode, Decoder};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&cut, bytes)) = data.split_first() else { return };
    let whole = decode(bytes);
    let mut dec = Decoder::default();
    let mut requests = Vec::new();
    let step = (cut as usize % 7) + 1;
    for chunk in bytes.chunks(step) {
        requests.extend(dec.feed(chunk));
    }
    let pieces = dec.finish();
    assert_eq!(pieces.text(), whole.text());
    assert_eq!(pieces.cuts(), whole.cuts());
    assert_eq!(pieces.qr_codes(), whole.qr_codes());
    assert_eq!(requests, whole.status_requests);
});
