//! The build keeps one TLS stack: rustls. OpenSSL and native-tls never enter the lockfile's
//! dependency graph of the workspace (deny.toml says the same to `cargo deny`).

#[test]
fn no_openssl_or_native_tls_is_compiled() {
    let output = std::process::Command::new(env!("CARGO"))
        .args([
            "tree",
            "--workspace",
            "--edges",
            "normal,build",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .expect("run cargo tree");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let tree = String::from_utf8_lossy(&output.stdout);
    for banned in ["openssl ", "openssl-sys ", "native-tls ", "hyper-tls "] {
        assert!(
            !tree.lines().any(|l| l.starts_with(banned)),
            "{banned}is in the dependency graph"
        );
    }
    assert!(
        tree.lines().any(|l| l.starts_with("rustls ")),
        "rustls provides TLS"
    );
}
