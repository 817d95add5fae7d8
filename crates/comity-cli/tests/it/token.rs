//! The user API's token file: a blank, short or missing `api.token` keeps `comity node serve`
//! from starting, with a message that names the command making a new one.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::cli::{PASSPHRASE, federation, ok, serve};

/// Runs `comity node serve` and returns its stderr once it exits; a node that starts anyway is
/// stopped and fails the test.
fn serve_refused(dir: &str) -> String {
    let err = tempfile::NamedTempFile::new().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_comity"))
        .args(["node", "serve", "--dir", dir])
        .env("COMITY_PASSPHRASE", PASSPHRASE)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err.reopen().unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the node started: {}",
                std::fs::read_to_string(err.path()).unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let text = std::fs::read_to_string(err.path()).unwrap();
    assert!(!status.success(), "{text}");
    text
}

#[test]
fn a_blank_short_or_missing_token_refuses_start_and_names_the_fix() {
    let base = tempfile::tempdir().unwrap();
    let nodes = federation(base.path(), &[("dz-247", "DZ")]);
    let node = &nodes[0];
    let dir = node.dir.to_str().unwrap();
    let token = node.dir.join("api.token");
    for (what, content) in [
        ("blank (echo > api.token)", "\n"),
        ("spaces only", "    \n"),
        ("short", "0123456789abcdef0123456789abcde\n"),
    ] {
        std::fs::write(&token, content).unwrap();
        let err = serve_refused(dir);
        assert!(
            err.contains("api.token") && err.contains("comity node token --dir"),
            "{what}: {err}"
        );
    }
    std::fs::remove_file(&token).unwrap();
    let err = serve_refused(dir);
    assert!(err.contains("comity node token --dir"), "missing: {err}");

    let out = ok(&["node", "token", "--dir", dir]);
    assert!(out.contains("api.token"), "{out}");
    let fresh = std::fs::read_to_string(&token).unwrap();
    assert_eq!(fresh.trim().len(), 64, "{fresh:?}");
    assert!(fresh.trim().bytes().all(|b| b.is_ascii_hexdigit()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&token).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the token is readable by its owner only");
    }
    let again = ok(&["node", "token", "--dir", dir]);
    assert!(again.contains("api.token"));
    assert_ne!(
        std::fs::read_to_string(&token).unwrap(),
        fresh,
        "each run makes a new token"
    );

    comity_node::install_default_provider();
    let _served = serve(node);
    let token = std::fs::read_to_string(&token).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = reqwest::Client::new();
        let url = format!("{}/api/v1/node", node.api);
        let anonymous = client.get(&url).send().await.unwrap();
        assert_eq!(anonymous.status().as_u16(), 401);
        let blank = client.get(&url).bearer_auth("").send().await.unwrap();
        assert_eq!(blank.status().as_u16(), 401);
        let good = client
            .get(&url)
            .bearer_auth(token.trim())
            .send()
            .await
            .unwrap();
        assert_eq!(good.status().as_u16(), 200);
    });
}
