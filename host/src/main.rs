//! meshdesk-host: the agent (see issue: host).

fn main() {
    eprintln!("meshdesk-host: not built yet");
    std::process::exit(2);
}
