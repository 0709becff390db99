//! Embeds the Portal's site (the wasm, JS and CSS cargo-leptos or
//! `scripts/build-portal.sh` writes, plus `public/`) into the `switchboard`
//! binary, so that one file is enough to deploy. Generates
//! `$OUT_DIR/site.rs`, which `src/main.rs` includes; the library and the
//! in-process tests never see it.
//!
//! Which site: a debug build embeds `target/site` (what `cargo leptos build`
//! and the test suite write), a release build `target/release-site` (what the
//! run command writes), so a test build never replaces the files a running
//! release server was built with. When the directory holds no built front end,
//! nothing is embedded and the binary reads the site from disk at run time.

use std::collections::hash_map::DefaultHasher;
use std::fmt::Write as _;
use std::hash::Hasher;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// In a debug build, larger files are embedded uncompressed: gzip in an
/// unoptimised build script would add seconds per front-end change for the
/// 25 MB debug wasm that only loopback browsers download.
const DEBUG_COMPRESS_LIMIT: usize = 2 << 20;

fn main() {
    let workspace = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap())
        .parent()
        .unwrap()
        .to_path_buf();
    let release = std::env::var("PROFILE").as_deref() == Ok("release");
    let site = workspace
        .join("target")
        .join(if release { "release-site" } else { "site" });
    let name = std::env::var("LEPTOS_OUTPUT_NAME").unwrap_or_else(|_| "portal".into());
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=LEPTOS_OUTPUT_NAME");
    // A path that does not exist would make cargo re-run this script (and
    // rebuild the package) on every build; an empty directory is watched
    // cheaply and changes once the front end is written into it.
    if !site.exists() {
        let _ = std::fs::create_dir_all(&site);
    }
    println!("cargo:rerun-if-changed={}", site.display());

    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let has_front = site.join(format!("pkg/{name}.js")).is_file()
        && site.join(format!("pkg/{name}.wasm")).is_file();
    let code = if has_front {
        let mut files = Vec::new();
        collect(&site, &site, &mut files);
        files.sort();
        generate(&files, &site, &out, release)
    } else {
        "pub static SITE: Option<&server::assets::Site> = None;\n".to_string()
    };
    // Tells the test binaries whether the `switchboard` binary carries a site.
    println!(
        "cargo:rustc-env=SWITCHBOARD_EMBEDDED_SITE={}",
        if has_front {
            site.display().to_string()
        } else {
            String::new()
        }
    );
    std::fs::write(out.join("site.rs"), code).unwrap();
}

/// Every file under `dir`, as paths relative to `root` with `/` separators.
fn collect(root: &Path, dir: &Path, files: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, files);
        } else if path.to_string_lossy().ends_with(".d.ts") {
            // wasm-bindgen's TypeScript declarations: no browser asks for them.
        } else if let Ok(rel) = path.strip_prefix(root) {
            let rel: Vec<_> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect();
            files.push(rel.join("/"));
        }
    }
}

fn generate(files: &[String], site: &Path, out: &Path, release: bool) -> String {
    let mut version = DefaultHasher::new();
    let mut entries = String::new();
    for rel in files {
        let path = site.join(rel);
        let body = std::fs::read(&path).unwrap();
        let mut h = DefaultHasher::new();
        h.write(&body);
        let hash = h.finish();
        if rel.starts_with("pkg/") {
            version.write(rel.as_bytes());
            version.write_u64(hash);
        }
        let content_type = content_type(rel);
        let gzip = if compressible(content_type) && (release || body.len() <= DEBUG_COMPRESS_LIMIT)
        {
            gzip(&body)
                .filter(|gz| gz.len() * 10 < body.len() * 9)
                .map(|gz| {
                    let gz_path = out.join(format!("{}.gz", rel.replace('/', "__")));
                    std::fs::write(&gz_path, gz).unwrap();
                    gz_path
                })
        } else {
            None
        };
        let gzip = match gzip {
            Some(p) => format!("Some(include_bytes!({:?}))", p.display().to_string()),
            None => "None".into(),
        };
        let _ = writeln!(
            entries,
            "        server::assets::Asset {{ path: {rel:?}, content_type: {content_type:?}, etag: \"{hash:016x}\", body: include_bytes!({:?}), gzip: {gzip} }},",
            path.display().to_string()
        );
    }
    format!(
        "pub static SITE: Option<&server::assets::Site> = Some(&server::assets::Site {{\n    version: \"{:016x}\",\n    files: &[\n{entries}    ],\n}});\n",
        version.finish()
    )
}

fn gzip(body: &[u8]) -> Option<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(body).ok()?;
    enc.finish().ok()
}

fn compressible(content_type: &str) -> bool {
    content_type.starts_with("text/")
        || content_type.starts_with("application/wasm")
        || content_type.starts_with("application/json")
        || content_type.starts_with("image/svg")
}

/// The types a browser needs to be exact: `application/wasm` for streaming
/// compilation, a JavaScript type for module scripts, `text/css` for
/// stylesheets under `nosniff`.
fn content_type(path: &str) -> &'static str {
    let ext = path.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "wasm" => "application/wasm",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "html" | "htm" => "text/html; charset=utf-8",
        "json" | "map" => "application/json",
        "webmanifest" => "application/manifest+json",
        "txt" => "text/plain; charset=utf-8",
        "xml" => "application/xml",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "ttf" => "font/ttf",
        _ => "application/octet-stream",
    }
}
