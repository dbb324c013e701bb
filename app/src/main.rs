//! `camera-service`: thin main; everything is in the library's CLI and composition root.

fn main() -> std::process::ExitCode {
    app::cli::main()
}
