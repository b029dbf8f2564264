//! Compiles the display's .slint files with the English translation bundled.

fn main() {
    // UI tests find elements by accessible label, which needs the compiler's debug info;
    // release builds leave it out.
    let debug = std::env::var("PROFILE").map(|p| p == "debug").unwrap_or(false);
    let config = slint_build::CompilerConfiguration::new()
        .with_bundled_translations("../ui/lang")
        .with_default_translation_context(slint_build::DefaultTranslationContext::None)
        .with_debug_info(debug);
    if let Err(e) = slint_build::compile_with_config("../ui/display.slint", config) {
        eprintln!("cannot compile ui/display.slint: {e}");
        std::process::exit(1);
    }
}
