//! UniFFI's bindings generator, built from this crate so that its version
//! is the one the library links (see `generate.sh`).

fn main() {
    uniffi::uniffi_bindgen_main()
}
