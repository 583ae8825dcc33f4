//! `wxfarm-loadgen` binary: see the library crate for everything.

fn main() {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(wxfarm_loadgen::cli::EXIT_FAILURE);
        }
    };
    let code = runtime.block_on(wxfarm_loadgen::cli::main());
    std::process::exit(code);
}
