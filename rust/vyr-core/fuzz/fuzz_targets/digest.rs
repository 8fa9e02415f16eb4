//! Arbitrary text into the digest parser: it must never panic, must accept only the one
//! canonical spelling (`sha256:` + 64 lowercase hex), and what it accepts must be safe as a
//! file name (no separators, no dots, nothing but hex after the prefix).
#![no_main]

use libfuzzer_sys::fuzz_target;
use vyr_core::Digest;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(digest) = Digest::parse(text) {
        assert_eq!(digest.to_string(), text, "accepted a non-canonical spelling");
        let hex = digest.hex();
        assert!(hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    }
    // Hashing the input gives a digest that round-trips through its text.
    let of = Digest::of(data);
    assert_eq!(Digest::parse(&of.to_string()).expect("own text parses"), of);
});
