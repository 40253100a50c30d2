//! The `hooksig` command-line tool (placeholder until the CLI issue lands).

fn main() {
    eprintln!("hooksig: the command-line tool is not built yet");
    std::process::exit(2);
}
