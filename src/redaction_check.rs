//! The one redaction check, shared by the library's unit tests
//! (`src/hygiene.rs`) and the integration tests (through `#[path]`).

/// Panics if `debug` shows any 4 consecutive bytes of `secret`, as hex
/// (either case) or as a decimal list (as `{:?}` of a byte array or
/// `Vec<u8>` would print them, in either `{:?}` or `{:#?}` layout). Four
/// bytes: a partial leak is a leak; a chance match with the public bytes
/// shown is about 2^-32 per pair of windows.
pub(crate) fn assert_redacted(what: &str, debug: &str, secret: &[u8]) {
    assert!(secret.len() >= 4, "{what}: secret too short to check");
    let squeezed: String = debug.chars().filter(|c| !c.is_whitespace()).collect();
    for w in secret.windows(4) {
        let hex: String = w.iter().map(|b| format!("{b:02x}")).collect();
        let decimal = w
            .iter()
            .map(|b| b.to_string())
            .collect::<Vec<_>>()
            .join(",");
        assert!(
            !squeezed.contains(&hex) && !squeezed.contains(&hex.to_uppercase()),
            "{what}: Debug shows secret bytes {hex} as hex: {debug}"
        );
        assert!(
            !squeezed.contains(&decimal),
            "{what}: Debug shows secret bytes as a decimal list: {debug}"
        );
    }
}
