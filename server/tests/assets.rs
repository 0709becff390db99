//! One file to deploy: the `switchboard` binary copied alone into an empty
//! directory (no `target/site` beside it, started there) serves the Portal's
//! wasm, JavaScript and CSS from memory with the right types and caching;
//! `SWITCHBOARD_SITE_ROOT` still switches to files on disk. Loopback only;
//! every wait is bounded.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, ETAG, IF_NONE_MATCH,
};

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The binary `cargo test` built, copied into `dir`: nothing else of the
/// workspace is reachable from there.
fn copy_binary(dir: &Path) -> std::path::PathBuf {
    assert!(
        !env!("SWITCHBOARD_EMBEDDED_SITE").is_empty(),
        "the switchboard binary was compiled without the Portal's files: build them first \
         (`cargo leptos build --frontend-only`, as scripts/test.sh does), then run the tests"
    );
    let bin = dir.join("switchboard");
    std::fs::copy(env!("CARGO_BIN_EXE_switchboard"), &bin).expect("copy the binary");
    bin
}

/// Starts `bin` in sandbox mode with `dir` as working directory and only the
/// given variables in its environment.
async fn start(bin: &Path, dir: &Path, extra: &[(&str, &str)]) -> Server {
    let port = free_port();
    let spawn = || {
        Command::new(bin)
            .arg("serve")
            .current_dir(dir)
            .env_clear()
            .env("SWITCHBOARD_LISTEN", format!("127.0.0.1:{port}"))
            .env("SWITCHBOARD_META_MODE", "sandbox")
            .env("SWITCHBOARD_LOG_FORMAT", "json")
            .envs(extra.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
    };
    // A process forked by another test while the copy was being written holds
    // its write handle until that process execs: exec then fails with "text
    // file busy" for a moment (ETXTBSY). Retried, boundedly.
    let mut child = None;
    for _ in 0..50 {
        match spawn() {
            Ok(c) => {
                child = Some(c);
                break;
            }
            Err(e) if e.raw_os_error() == Some(26) => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => panic!("start switchboard: {e}"),
        }
    }
    let mut child = child.expect("start switchboard: the copied binary stayed busy");
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    for _ in 0..300 {
        if let Ok(r) = client.get(format!("{base}/readyz")).send().await
            && r.status() == 200
        {
            return Server { child, base };
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("switchboard did not become ready on {base}");
}

/// The value of `attr="…"` on the first tag in `html` that contains `marker`.
fn attribute_of_tag_with(html: &str, marker: &str, attr: &str) -> String {
    let at = html
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker} in the page"));
    let tag_start = html[..at].rfind('<').unwrap();
    let tag = &html[tag_start..tag_start + html[tag_start..].find('>').unwrap()];
    let key = format!("{attr}=\"");
    let from = tag
        .find(&key)
        .unwrap_or_else(|| panic!("no {attr} in {tag}"))
        + key.len();
    tag[from..from + tag[from..].find('"').unwrap()].to_string()
}

fn header(res: &reqwest::Response, name: reqwest::header::HeaderName) -> &str {
    res.headers()
        .get(name)
        .map(|v| v.to_str().unwrap())
        .unwrap_or("")
}

#[tokio::test]
async fn the_binary_alone_serves_the_portal_files_from_memory() {
    let dir = tempfile::tempdir().unwrap();
    let bin = copy_binary(dir.path());
    let app = start(&bin, dir.path(), &[]).await;
    assert!(!dir.path().join("target").exists());
    let http = reqwest::Client::new();

    let page = http
        .get(format!("{}/login", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    // The pages load script and wasm from the versioned directory.
    let js = attribute_of_tag_with(&html, "rel=\"modulepreload\"", "href");
    let wasm = attribute_of_tag_with(&html, "type=\"application/wasm\"", "href");
    assert!(
        js.starts_with("/pkg/") && js.ends_with("/portal.js"),
        "{js}"
    );
    assert!(
        wasm.starts_with("/pkg/") && wasm.ends_with("/portal.wasm"),
        "{wasm}"
    );
    assert_ne!(
        js, "/pkg/portal.js",
        "the script URL carries the build's version"
    );
    let css = attribute_of_tag_with(&html, "rel=\"stylesheet\"", "href");

    for (path, content_type, immutable) in [
        (js.as_str(), "text/javascript; charset=utf-8", true),
        (wasm.as_str(), "application/wasm", true),
        (css.as_str(), "text/css; charset=utf-8", false),
        ("/pkg/portal.js", "text/javascript; charset=utf-8", false),
        ("/robots.txt", "text/plain; charset=utf-8", false),
    ] {
        let res = http
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(header(&res, CONTENT_TYPE), content_type, "{path}");
        assert_eq!(
            header(&res, CONTENT_ENCODING),
            "",
            "{path}: not asked for gzip"
        );
        let cache = header(&res, CACHE_CONTROL).to_string();
        assert_eq!(cache.contains("immutable"), immutable, "{path}: {cache}");
        let etag = header(&res, ETAG).to_string();
        assert!(etag.starts_with('"'), "{path}: {etag}");
        let body = res.bytes().await.unwrap();
        assert!(!body.is_empty(), "{path}");
        if path.ends_with(".wasm") {
            assert_eq!(&body[..4], b"\0asm");
        }
        let again = http
            .get(format!("{}{path}", app.base))
            .header(IF_NONE_MATCH, &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{path}");
    }

    // The script comes gzipped to a browser that accepts it.
    let res = http
        .get(format!("{}{js}", app.base))
        .header(ACCEPT_ENCODING, "gzip, deflate, br")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, CONTENT_ENCODING), "gzip");
    assert_eq!(header(&res, CONTENT_TYPE), "text/javascript; charset=utf-8");
    assert_eq!(&res.bytes().await.unwrap()[..2], b"\x1f\x8b");

    // Anything else is still the Portal's not-found page, not a file.
    let missing = http
        .get(format!("{}/pkg/not-there.js", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert!(header(&missing, CONTENT_TYPE).starts_with("text/html"));
    // The working directory holds the database: it is never served.
    let db = http
        .get(format!("{}/data/switchboard.db", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(db.status(), 404);
}

#[tokio::test]
async fn site_root_setting_reads_the_files_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    let bin = copy_binary(dir.path());
    let site = dir.path().join("dev-site");
    std::fs::create_dir_all(site.join("pkg")).unwrap();
    std::fs::write(site.join("pkg/portal.css"), "body { color: rebeccapurple }").unwrap();
    let app = start(
        &bin,
        dir.path(),
        &[("SWITCHBOARD_SITE_ROOT", site.to_str().unwrap())],
    )
    .await;
    let http = reqwest::Client::new();
    let res = http
        .get(format!("{}/pkg/portal.css", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(header(&res, CONTENT_TYPE).starts_with("text/css"));
    assert_eq!(res.text().await.unwrap(), "body { color: rebeccapurple }");
    // The pages then link the plain, unversioned files.
    let html = http
        .get(format!("{}/login", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        attribute_of_tag_with(&html, "rel=\"modulepreload\"", "href"),
        "/pkg/portal.js"
    );
    // The embedded copy is not used: this site has no script.
    let js = http
        .get(format!("{}/pkg/portal.js", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(js.status(), 404);
}
