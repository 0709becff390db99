//! An installation for the bench: a temporary data directory and database,
//! an account with an API key, and server processes of this very binary
//! started on loopback ports (killed when dropped).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail, ensure};
use app::clock::SystemClock;
use app::config::Config;
use app::state::AppState;
use serde_json::{Value, json};

/// Where the connect flow sends the browser back to (never contacted).
const REDIRECT: &str = "https://app.example.com/cb";

pub struct Installation {
    pub dir: PathBuf,
    pub env: HashMap<String, String>,
    pub app_secret: String,
    pub api_key: String,
    pub email: String,
    pub password: String,
}

impl Drop for Installation {
    fn drop(&mut self) {
        if std::env::var_os("SWITCHBOARD_BENCH_KEEP").is_some() {
            println!("kept {} (server logs, database)", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

pub fn free_addr() -> anyhow::Result<SocketAddr> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

impl Installation {
    /// Creates the database (`database_url`, or a SQLite file in a new
    /// temporary directory), migrates and seeds it, and adds an account
    /// with a key — in this process, before any server runs.
    pub async fn create(database_url: Option<String>) -> anyhow::Result<Installation> {
        let dir = std::env::temp_dir().join(format!(
            "switchboard-bench-{}-{}",
            std::process::id(),
            app::crypto::random_hex(4)
        ));
        std::fs::create_dir_all(&dir)?;
        let db_url =
            database_url.unwrap_or_else(|| format!("sqlite://{}/switchboard.db", dir.display()));
        let mut env = HashMap::new();
        for (k, v) in [
            ("SWITCHBOARD_DATABASE_URL", db_url),
            ("SWITCHBOARD_DATA_DIR", dir.display().to_string()),
            (
                "SWITCHBOARD_SECRET_KEY",
                app::crypto::encode_key(&app::crypto::generate_key()),
            ),
            ("SWITCHBOARD_META_MODE", "sandbox".into()),
            ("SWITCHBOARD_LOG_FORMAT", "json".into()),
            // The customer's endpoint is the bench's sink on 127.0.0.1.
            ("SWITCHBOARD_ALLOW_PRIVATE_WEBHOOK_TARGETS", "true".into()),
            // The send figure measures the engine, not the per-key limit.
            ("SWITCHBOARD_RATE_LIMIT_PER_MINUTE", "1000000".into()),
            ("LEPTOS_ENV", "PROD".into()),
        ] {
            env.insert(k.to_string(), v);
        }
        if let Ok(root) = std::env::var("SWITCHBOARD_SITE_ROOT") {
            env.insert("SWITCHBOARD_SITE_ROOT".into(), root);
        }
        let mut inst = Installation {
            dir,
            env,
            app_secret: String::new(),
            api_key: String::new(),
            email: format!("bench-{}@example.com", app::crypto::random_hex(4)),
            password: "correct horse battery staple".into(),
        };
        let state = inst.state().await?;
        inst.app_secret = state
            .config
            .meta_app_secret
            .clone()
            .ok_or_else(|| anyhow!("sandbox app secret missing"))?;
        // The sandbox app id is now fixed in the database; children use it too.
        let created =
            app::services::accounts::create_verified(&state, &inst.email, &inst.password, "Bench")
                .await
                .map_err(|e| anyhow!("{}", e.public_detail()))?;
        inst.api_key = app::services::keys::create(&state, &created.account.id, "bench", None)
            .await
            .map_err(|e| anyhow!("{}", e.public_detail()))?
            .secret;
        state.db.pool.close().await;
        Ok(inst)
    }

    /// An in-process state on the installation's database (no HTTP, no workers).
    pub async fn state(&self) -> anyhow::Result<AppState> {
        let mut vars = self.env.clone();
        vars.insert("SWITCHBOARD_LISTEN".into(), "127.0.0.1:1".into());
        let config = Config::from_map(&vars).map_err(|e| anyhow!("bench config: {e:?}"))?;
        crate::startup::build_state(config, Arc::new(SystemClock)).await
    }

    /// Starts `switchboard serve` and waits (≤ 20 s) until `/readyz` answers
    /// 200; returns it with the time that took.
    pub async fn spawn(&self) -> anyhow::Result<(Server, Duration)> {
        let addr = free_addr()?;
        let started = Instant::now();
        // JSON logs of every server into the installation's directory.
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("server.log"))?;
        let child = Command::new(std::env::current_exe()?)
            .arg("serve")
            .envs(&self.env)
            .env("SWITCHBOARD_LISTEN", addr.to_string())
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .spawn()
            .context("starting switchboard serve")?;
        let server = Server { child, addr };
        server.wait_ready(Duration::from_secs(20)).await?;
        Ok((server, started.elapsed()))
    }

    /// Connects the sandbox's first WhatsApp number through the hosted flow
    /// (as a customer's browser would) with `webhook_url` and `secret`;
    /// returns the channel id.
    pub async fn connect_whatsapp(
        &self,
        server: &Server,
        webhook_url: &str,
        secret: &str,
    ) -> anyhow::Result<String> {
        let base = server.base();
        let api = reqwest::Client::new();
        let call = |method: reqwest::Method, path: &str, body: Value| {
            api.request(method, format!("{base}{path}"))
                .header("x-api-key", &self.api_key)
                .json(&body)
                .send()
        };
        let r = call(
            reqwest::Method::POST,
            "/api/v1/redirects",
            json!({"uri_pattern": REDIRECT}),
        )
        .await?;
        ensure!(r.status() == 201, "redirects: {}", r.status());
        let r = call(
            reqwest::Method::POST,
            "/api/v1/channels/setup-url",
            json!({"channel_type": "whatsapp", "redirect_uri": REDIRECT, "state": "bench"}),
        )
        .await?;
        let v: Value = r.json().await?;
        let setup = v["setup_url"]
            .as_str()
            .ok_or_else(|| anyhow!("setup-url: {v}"))?;
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("origin", base.parse()?);
        let browser = reqwest::Client::builder()
            .cookie_store(true)
            .default_headers(headers)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let r = browser.get(setup).send().await?;
        let dialog = url::Url::parse(&location(&r)?)?;
        let mut form: Vec<(String, String)> = dialog
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        form.push(("action".into(), "continue".into()));
        form.push(("asset".into(), crate::sandbox::seed::PHONE_1.to_string()));
        let r = browser
            .post(format!("{base}/sandbox/dialog/oauth"))
            .form(&form)
            .send()
            .await?;
        let callback = location(&r)?;
        let r = browser.get(&callback).send().await?;
        let back = if r.status() == 302 {
            location(&r)?
        } else {
            let html = r.text().await?;
            let session = html
                .split("name=\"session\" value=\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .ok_or_else(|| anyhow!("no picker session"))?
                .to_string();
            let r = browser
                .post(format!("{base}/setup/pick"))
                .form(&[
                    ("session", session.as_str()),
                    ("asset", crate::sandbox::seed::PHONE_1),
                    ("action", "connect"),
                ])
                .send()
                .await?;
            location(&r)?
        };
        let back = url::Url::parse(&back)?;
        let code = back
            .query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .ok_or_else(|| anyhow!("no code in {back}"))?;
        let r = call(
            reqwest::Method::POST,
            "/api/v1/channels/exchange-code",
            json!({"code": code, "webhook_url": webhook_url, "webhook_secret": secret,
                   "webhook_events": ["message.received"]}),
        )
        .await?;
        let v: Value = r.json().await?;
        let id = v["channel_id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| anyhow!("exchange-code: {v}"))?;
        // Fresh out of Embedded Signup, a number sends only once registered.
        let r = call(
            reqwest::Method::POST,
            &format!("/api/v1/channels/{id}/register"),
            json!({"pin": "123456"}),
        )
        .await?;
        ensure!(r.status() == 200, "register: {}", r.status());
        Ok(id)
    }
}

fn location(r: &reqwest::Response) -> anyhow::Result<String> {
    match r.headers().get("location").and_then(|v| v.to_str().ok()) {
        Some(l) => Ok(l.to_string()),
        None => bail!("expected a redirect, got {}", r.status()),
    }
}

/// A child process of this binary listening on `addr`; killed when dropped.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    async fn wait_ready(&self, limit: Duration) -> anyhow::Result<()> {
        let started = Instant::now();
        let url = format!("{}/readyz", self.base());
        let client = reqwest::Client::new();
        while started.elapsed() < limit {
            if let Ok(r) = client.get(&url).send().await
                && r.status() == 200
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        bail!("{} did not become ready within {limit:?}", self.base())
    }

    /// SIGTERM, then waits (≤ 15 s) for the graceful exit.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        for _ in 0..150 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Starts the hello-world baseline (`switchboard bench --hello ADDR`).
    pub async fn hello() -> anyhow::Result<Server> {
        let addr = free_addr()?;
        let child = Command::new(std::env::current_exe()?)
            .args(["bench", "--hello", &addr.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let server = Server { child, addr };
        for _ in 0..400 {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return Ok(server);
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        bail!("hello-world did not listen on {addr}")
    }
}

/// `VmRSS` and `VmHWM` (peak) of a process in MB, from `/proc`.
pub fn memory_mb(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|kb| kb.parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
            .unwrap_or(0.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}
