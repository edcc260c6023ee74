//! meshdesk-viewer: the native viewer (see issue: viewer).

fn main() {
    eprintln!("meshdesk-viewer: not built yet");
    std::process::exit(2);
}
