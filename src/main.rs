fn main() -> std::process::ExitCode {
    postcall::cli::main()
}
