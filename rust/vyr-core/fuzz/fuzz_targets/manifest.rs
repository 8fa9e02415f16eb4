//! Arbitrary bytes into the manifest parser: it must never panic, and whatever it accepts must
//! be the canonical spelling of itself (the bytes that get signed are the only ones accepted).
#![no_main]

use libfuzzer_sys::fuzz_target;
use vyr_core::manifest::Manifest;

fuzz_target!(|data: &[u8]| {
    let Ok(manifest) = Manifest::from_canonical_bytes(data) else { return };
    assert_eq!(manifest.to_canonical_bytes(), data, "accepted a non-canonical spelling");
    let again = Manifest::from_canonical_bytes(data).expect("accepted once, refused the second time");
    assert_eq!(again, manifest);
    // Anything valid JSON-wise that differs from the canonical bytes must be refused.
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        let pretty = serde_json::to_vec_pretty(&value).expect("a parsed value serialises");
        if pretty != data {
            assert!(Manifest::from_canonical_bytes(&pretty).is_err(), "accepted a pretty-printed manifest");
        }
    }
});
