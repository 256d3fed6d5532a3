//! The `tgtrack` binary; everything lives in the library (see `cli`).

fn main() -> std::process::ExitCode {
    tgtrack::cli::main()
}
