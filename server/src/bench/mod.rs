//! `switchboard bench`: starts what it needs on loopback — server processes
//! of this binary, a hello-world baseline, the customer's endpoint — loads
//! them for a bounded time and reports, in one run on one machine: ingest
//! against the baseline, relay throughput and end-to-end latency, sends
//! against the sandbox Graph, memory, start-up, Portal page latency and the
//! Portal's download size; with `--postgres-url`, the ingest and relay again
//! with two processes sharing one PostgreSQL queue. It reports; it asserts
//! nothing.

mod hello;
mod load;
mod setup;
mod sink;

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use load::{Outcome, Plan};
use setup::{Installation, Server, memory_mb};
use sink::Sink;

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Seconds of each load phase.
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
    /// Concurrent connections of the closed-loop (peak) phases.
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// Events queued before the relay throughput phase.
    #[arg(long, default_value_t = 20_000)]
    pub relay_events: u64,
    /// Rate of the end-to-end latency phase (events/s).
    #[arg(long, default_value_t = 1000.0)]
    pub e2e_rate: f64,
    /// Also run the ingest and relay on this PostgreSQL (admin URL: a fresh
    /// database is created on it) with two server processes.
    #[arg(long, env = "SWITCHBOARD_BENCH_POSTGRES_URL")]
    pub postgres_url: Option<String>,
    /// Record `perf` profiles (call graphs) of the server during the peak
    /// ingest and the relay drain into this directory.
    #[arg(long)]
    pub perf_dir: Option<PathBuf>,
    /// Where the Portal's built assets are (after `cargo leptos build --release`).
    #[arg(long, default_value = "target/site/pkg")]
    pub pkg_dir: PathBuf,
    /// Skip the SQLite runs (with --postgres-url: only PostgreSQL).
    #[arg(long)]
    pub skip_sqlite: bool,
    /// Internal: serve the hello-world baseline on this address.
    #[arg(long, hide = true)]
    pub hello: Option<SocketAddr>,
}

/// One line of the report.
struct Row {
    name: String,
    value: String,
    goal: &'static str,
    met: Option<bool>,
}

#[derive(Default)]
struct Report {
    rows: Vec<Row>,
}

impl Report {
    fn add(
        &mut self,
        name: impl Into<String>,
        value: String,
        goal: &'static str,
        met: Option<bool>,
    ) {
        let row = Row {
            name: name.into(),
            value,
            goal,
            met,
        };
        println!(
            "  {:<52} {:<34} {}",
            row.name,
            row.value,
            match row.met {
                Some(true) => format!("goal {} met", row.goal),
                Some(false) => format!("goal {} MISSED", row.goal),
                None => String::new(),
            }
        );
        self.rows.push(row);
    }

    fn markdown(&self) -> String {
        let mut s = String::from("| figure | result | goal | met |\n|---|---|---|---|\n");
        for r in &self.rows {
            let met = match r.met {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "",
            };
            let _ = writeln!(s, "| {} | {} | {} | {} |", r.name, r.value, r.goal, met);
        }
        s
    }
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    if let Some(addr) = args.hello {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        hello::serve(listener).await;
        return Ok(());
    }
    println!("{}", machine());
    let mut report = Report::default();
    if !args.skip_sqlite {
        println!("\n== SQLite (one process) ==");
        sqlite(&args, &mut report).await?;
        portal_size(&args, &mut report);
    }
    if let Some(admin) = &args.postgres_url {
        println!("\n== PostgreSQL (two processes sharing the queue) ==");
        postgres(&args, admin, &mut report).await?;
    }
    println!("\n{}", report.markdown());
    Ok(())
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_gb = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0 / 1024.0);
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_default();
    format!(
        "machine: {cpus} cpus ({cpu}), {mem_gb:.1} GB RAM; switchboard {}",
        app::VERSION
    )
}

/// What the load needs to build signed Meta webhooks.
#[derive(Clone)]
struct Webhooks {
    app_secret: Arc<str>,
    timestamp: i64,
}

impl Webhooks {
    fn body(&self, n: u64) -> String {
        let phone = crate::sandbox::seed::PHONE_1;
        let waba = crate::sandbox::seed::WABA_ID;
        let ts = self.timestamp;
        format!(
            r#"{{"object":"whatsapp_business_account","entry":[{{"id":"{waba}","changes":[{{"field":"messages","value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"15550100001","phone_number_id":"{phone}"}},"contacts":[{{"profile":{{"name":"Bench"}},"wa_id":"15550188000"}}],"messages":[{{"from":"15550188000","id":"wamid.bench.{n}","timestamp":"{ts}","type":"text","text":{{"body":"benchmark message {n}"}}}}]}}}}]}}]}}"#
        )
    }

    fn request(&self, n: u64) -> Vec<u8> {
        let body = self.body(n);
        let sig = app::meta::signature::sign(&self.app_secret, body.as_bytes());
        load::request(
            "POST",
            "/webhooks/meta",
            &[
                ("content-type", "application/json"),
                ("x-hub-signature-256", &sig),
            ],
            body.as_bytes(),
        )
    }

    fn maker(&self) -> load::MakeRequest {
        let w = self.clone();
        Arc::new(move |n| w.request(n))
    }
}

/// Numbers handed out to webhooks so message ids never repeat across phases.
struct Numbers(u64);

impl Numbers {
    fn take(&mut self, n: u64) -> u64 {
        let first = self.0;
        self.0 += n;
        first
    }
}

fn ingest_plan(addrs: Vec<SocketAddr>, w: &Webhooks, first: u64, c: usize, secs: f64) -> Plan {
    Plan {
        addrs,
        connections: c,
        duration: Duration::from_secs_f64(secs),
        rate: None,
        expect: 200,
        first,
        make: w.maker(),
        on_send: None,
    }
}

fn describe(o: &Outcome) -> String {
    let mut s = format!(
        "{:.0} req/s, p50 {:.2} ms, p99 {:.2} ms",
        o.rps(),
        o.pct_ms(50.0),
        o.pct_ms(99.0)
    );
    if o.failed > 0 {
        let _ = write!(s, ", {} failed {:?}", o.failed, o.odd_statuses);
        if let Some(body) = &o.first_odd {
            println!("    first unexpected answer: {body}");
        }
    }
    s
}

/// Waits (bounded) until the sink has seen `n` deliveries.
async fn drain(sink: &Sink, n: u64, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if sink.count() >= n {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!(
        "  (relay backlog not drained within {limit:?}: {} of {n})",
        sink.count()
    );
    None
}

/// `perf record` of `pid` while it lives or until stopped.
struct Perf(Option<std::process::Child>);

impl Perf {
    fn start(dir: Option<&PathBuf>, pids: &[u32], name: &str) -> Perf {
        let Some(dir) = dir else { return Perf(None) };
        let _ = std::fs::create_dir_all(dir);
        let pid_list: Vec<String> = pids.iter().map(u32::to_string).collect();
        let child = Command::new("perf")
            .args(["record", "-F", "499", "-g", "-o"])
            .arg(dir.join(format!("{name}.perf.data")))
            .args(["-p", &pid_list.join(",")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok();
        Perf(child)
    }

    fn stop(mut self) {
        if let Some(c) = self.0.as_mut() {
            let _ = Command::new("kill")
                .args(["-INT", &c.id().to_string()])
                .status();
            let _ = c.wait();
        }
    }
}

/// The e2e phase: webhooks at `rate`/s; latency from the moment each
/// request is written to the moment the sink receives its delivery.
async fn e2e(
    addrs: Vec<SocketAddr>,
    w: &Webhooks,
    sink: &Sink,
    base: Instant,
    first: u64,
    rate: f64,
    secs: f64,
) -> (Outcome, Vec<u64>, u64) {
    let sent: Arc<Mutex<Vec<(u64, u64)>>> = Arc::default();
    let on_send: load::OnSend = {
        let sent = sent.clone();
        Arc::new(move |n| {
            sent.lock()
                .unwrap()
                .push((n, base.elapsed().as_micros() as u64));
        })
    };
    let before = sink.count();
    let out = load::run(Plan {
        addrs,
        connections: 32,
        duration: Duration::from_secs_f64(secs),
        rate: Some(rate),
        expect: 200,
        first,
        make: w.maker(),
        on_send: Some(on_send),
    })
    .await;
    drain(sink, before + out.ok, Duration::from_secs(60)).await;
    let mut lat: Vec<u64> = sent
        .lock()
        .unwrap()
        .iter()
        .filter_map(|(n, at)| sink.arrival(*n).map(|got| got.saturating_sub(*at)))
        .collect();
    lat.sort_unstable();
    let missing = out.ok.saturating_sub(lat.len() as u64);
    (out, lat, missing)
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

async fn sqlite(args: &BenchArgs, report: &mut Report) -> anyhow::Result<()> {
    let base = Instant::now();
    let secs = args.seconds as f64;
    let webhook_secret = app::crypto::random_hex(16);
    let sink = Sink::start(&webhook_secret, base).await?;
    let inst = Installation::create(None).await?;
    let (server, startup) = inst.spawn().await?;
    report.add(
        "start-up to ready (SQLite, migrated db)",
        format!("{:.0} ms", startup.as_secs_f64() * 1000.0),
        "≤ 1 s",
        Some(startup <= Duration::from_secs(1)),
    );
    let channel = inst
        .connect_whatsapp(&server, &sink.url, &webhook_secret)
        .await?;
    let w = Webhooks {
        app_secret: inst.app_secret.clone().into(),
        timestamp: app::clock::Clock::now_ms(&app::clock::SystemClock) / 1000,
    };
    let mut numbers = Numbers(1);
    // A few webhooks first so the connection pool and caches are warm.
    let warm = load::run(ingest_plan(
        vec![server.addr],
        &w,
        numbers.take(1_000_000),
        8,
        1.0,
    ))
    .await;
    drain(&sink, warm.ok, Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (idle, _) = memory_mb(server.pid());
    report.add(
        "RSS idle (after setup and a warm-up)",
        format!("{idle:.1} MB"),
        "≤ 50 MB",
        Some(idle <= 50.0),
    );

    // Ingest at its peak, then the hello-world with the same load.
    let perf = Perf::start(args.perf_dir.as_ref(), &[server.pid()], "ingest-sqlite");
    let peak = load::run(ingest_plan(
        vec![server.addr],
        &w,
        numbers.take(10_000_000),
        args.connections,
        secs,
    ))
    .await;
    perf.stop();
    let (_, hwm) = memory_mb(server.pid());
    report.add(
        format!("ingest peak ({} connections)", args.connections),
        describe(&peak),
        "",
        None,
    );
    report.add(
        "RSS at peak ingest (high-water mark)",
        format!("{hwm:.1} MB"),
        "≤ 150 MB",
        Some(hwm <= 150.0),
    );
    let mut acked = warm.ok + peak.ok;
    let before = drain(&sink, acked, Duration::from_secs(120)).await;
    if let Some(d) = before {
        println!(
            "  relay backlog after the peak drained in {:.1} s",
            d.as_secs_f64()
        );
    }

    let hello = Server::hello().await?;
    let base_line = load::run(ingest_plan(
        vec![hello.addr],
        &w,
        numbers.take(10_000_000),
        args.connections,
        secs,
    ))
    .await;
    drop(hello);
    report.add(
        "hello-world baseline (same load, same bodies)",
        describe(&base_line),
        "",
        None,
    );
    let ratio = peak.rps() / base_line.rps().max(1.0);
    report.add(
        "ingest / hello-world throughput ratio",
        format!("{ratio:.3}"),
        "≥ 0.30",
        Some(ratio >= 0.30),
    );

    // Half of the peak, open loop.
    let half_rate = (peak.rps() / 2.0).max(1.0);
    let half = load::run(Plan {
        rate: Some(half_rate),
        ..ingest_plan(
            vec![server.addr],
            &w,
            numbers.take(10_000_000),
            args.connections,
            secs,
        )
    })
    .await;
    report.add(
        format!("ingest at half of peak ({half_rate:.0}/s, open loop)"),
        describe(&half),
        "p99 ≤ 20 ms",
        Some(half.pct_ms(99.0) <= 20.0),
    );
    acked += half.ok;
    drain(&sink, acked, Duration::from_secs(120)).await;

    // Webhook in → sink, at 1,000 events/s.
    let (e2e_out, lat, missing) = e2e(
        vec![server.addr],
        &w,
        &sink,
        base,
        numbers.take(10_000_000),
        args.e2e_rate,
        secs,
    )
    .await;
    let (p50, p99) = (
        ms(load::percentile_us(&lat, 50.0)),
        ms(load::percentile_us(&lat, 99.0)),
    );
    report.add(
        format!("e2e webhook → sink at {:.0}/s", args.e2e_rate),
        format!(
            "p50 {p50:.2} ms, p99 {p99:.2} ms ({} events, {missing} not arrived; ingest {})",
            lat.len(),
            describe(&e2e_out)
        ),
        "p50 ≤ 10 ms, p99 ≤ 50 ms",
        Some(p50 <= 10.0 && p99 <= 50.0 && missing == 0),
    );

    // Sends through the API to the sandbox Graph (same process). The user
    // writes first so the sandbox's 24-hour window is open.
    let r = reqwest::Client::new()
        .post(format!("{}/sandbox/api/inbound", server.base()))
        .json(
            &serde_json::json!({"asset_id": crate::sandbox::seed::PHONE_1,
            "from": "15550188000", "type": "text", "text": "hello"}),
        )
        .send()
        .await?;
    anyhow::ensure!(r.status() == 200, "sandbox inbound: {}", r.status());
    let send = send_phase(&server, &inst, &channel, secs).await;
    report.add(
        "messages/send → sandbox Graph (16 connections)",
        describe(&send),
        "",
        None,
    );

    // Portal pages, one at a time.
    match portal_pages(&server, &inst).await {
        Ok(rows) => {
            for (page, o) in rows {
                report.add(
                    format!("Portal SSR {page} (signed in, sequential)"),
                    format!(
                        "p50 {:.2} ms, p95 {:.2} ms over {}",
                        o.pct_ms(50.0),
                        o.pct_ms(95.0),
                        o.ok
                    ),
                    "",
                    None,
                );
            }
        }
        Err(e) => println!("  Portal pages not measured: {e:#}"),
    }
    server.stop();

    // Relay throughput: a backlog queued with no server running, then
    // drained by a fresh process; first to last arrival.
    let first = numbers.take(args.relay_events);
    let queued = preload(&inst, &w, first, args.relay_events).await?;
    let (server, _) = inst.spawn().await?;
    let perf = Perf::start(args.perf_dir.as_ref(), &[server.pid()], "relay-sqlite");
    let target = sink.count() + queued;
    if drain(&sink, target, Duration::from_secs(120))
        .await
        .is_none()
    {
        print_delivery_states(&inst).await;
    }
    perf.stop();
    let rate = relay_rate(&sink, first, queued);
    let attempts = attempt_rows(&inst).await.unwrap_or(-1);
    report.add(
        format!("relay drain of {queued} queued deliveries (1 process)"),
        format!(
            "{rate:.0} deliveries/s ({} bad signatures, {attempts} attempt log rows)",
            sink.bad_signatures
                .load(std::sync::atomic::Ordering::Relaxed)
        ),
        "≥ 5,000/s",
        Some(rate >= 5000.0),
    );
    server.stop();
    Ok(())
}

/// Deliveries/s between the first and the last arrival of messages
/// `first..first+n`.
fn relay_rate(sink: &Sink, first: u64, n: u64) -> f64 {
    let times: Vec<u64> = (first..first + n).filter_map(|i| sink.arrival(i)).collect();
    let (Some(lo), Some(hi)) = (times.iter().min(), times.iter().max()) else {
        return 0.0;
    };
    times.len() as f64 / (ms(hi - lo) / 1000.0).max(1e-3)
}

/// Deliveries by status (and leased or not), when a drain did not finish.
async fn print_delivery_states(inst: &Installation) {
    let Ok(state) = inst.state().await else {
        return;
    };
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT status, CASE WHEN lease_owner IS NULL THEN 0 ELSE 1 END, COUNT(*) \
         FROM deliveries GROUP BY 1, 2",
    )
    .fetch_all(&state.db.pool)
    .await
    .unwrap_or_default();
    for (status, leased, n) in rows {
        println!("    deliveries {status} (leased: {leased}): {n}");
    }
    state.db.pool.close().await;
}

async fn attempt_rows(inst: &Installation) -> anyhow::Result<i64> {
    let state = inst.state().await?;
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM delivery_attempts")
        .fetch_one(&state.db.pool)
        .await?;
    state.db.pool.close().await;
    Ok(n)
}

/// Queues `n` webhooks through the ingest writer in this process (no relay
/// runs here); returns how many were stored.
async fn preload(inst: &Installation, w: &Webhooks, first: u64, n: u64) -> anyhow::Result<u64> {
    let state = inst.state().await?;
    app::services::inbound::spawn_writer(&state);
    let mut tasks = tokio::task::JoinSet::new();
    let next = Arc::new(std::sync::atomic::AtomicU64::new(first));
    for _ in 0..64 {
        let (state, w, next) = (state.clone(), w.clone(), next.clone());
        tasks.spawn(async move {
            let mut ok = 0u64;
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= first + n {
                    return ok;
                }
                let r = app::services::inbound::accept(
                    &state,
                    app::services::inbound::Received {
                        via: app::services::inbound::Via::Platform(
                            state.config.meta_app_id.clone(),
                        ),
                        body: w.body(i).into_bytes(),
                    },
                )
                .await;
                ok += u64::from(r.is_ok());
            }
        });
    }
    let mut stored = 0;
    while let Some(r) = tasks.join_next().await {
        stored += r.unwrap_or(0);
    }
    state.db.pool.close().await;
    Ok(stored)
}

async fn send_phase(server: &Server, inst: &Installation, channel: &str, secs: f64) -> Outcome {
    let key = inst.api_key.clone();
    let channel = channel.to_string();
    load::run(Plan {
        addrs: vec![server.addr],
        connections: 16,
        duration: Duration::from_secs_f64(secs),
        rate: None,
        expect: 200,
        first: 0,
        make: Arc::new(move |n| {
            let body = format!(
                r#"{{"channel_id":"{channel}","recipient":"15550188000","text":"bench send {n}"}}"#
            );
            load::request(
                "POST",
                "/api/v1/messages/send",
                &[("content-type", "application/json"), ("x-api-key", &key)],
                body.as_bytes(),
            )
        }),
        on_send: None,
    })
    .await
}

/// Signs in through the login server function and fetches Portal pages
/// (server-rendered, with their data) 200 times each.
async fn portal_pages(
    server: &Server,
    inst: &Installation,
) -> anyhow::Result<Vec<(&'static str, Outcome)>> {
    let base = server.base();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("origin", base.parse()?);
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let r = browser
        .post(format!("{base}/rpc/login"))
        .header("accept", "application/json")
        .form(&[
            ("email", inst.email.as_str()),
            ("password", inst.password.as_str()),
        ])
        .send()
        .await?;
    anyhow::ensure!(
        r.status().is_success() || r.status().is_redirection(),
        "login: {}",
        r.status()
    );
    let mut rows = Vec::new();
    for page in ["/", "/channels", "/deliveries"] {
        let mut o = Outcome::default();
        let started = Instant::now();
        for _ in 0..200 {
            let t = Instant::now();
            let r = browser.get(format!("{base}{page}")).send().await?;
            let ok = r.status() == 200;
            let _ = r.bytes().await?;
            if ok {
                o.ok += 1;
                o.latencies_us.push(t.elapsed().as_micros() as u64);
            } else {
                o.failed += 1;
            }
        }
        o.elapsed = started.elapsed();
        o.latencies_us.sort_unstable();
        rows.push((page, o));
    }
    Ok(rows)
}

/// Gzipped bytes of the wasm, JS and CSS the Portal downloads.
fn portal_size(args: &BenchArgs, report: &mut Report) {
    let Ok(entries) = std::fs::read_dir(&args.pkg_dir) else {
        println!(
            "  {} not found: build with `cargo leptos build --release`",
            args.pkg_dir.display()
        );
        return;
    };
    let mut total = 0u64;
    let mut parts = Vec::new();
    for e in entries.flatten() {
        let path = e.path();
        let ext = path
            .extension()
            .and_then(|x| x.to_str())
            .unwrap_or_default();
        if !["wasm", "js", "css"].contains(&ext) {
            continue;
        }
        let Ok(out) = Command::new("gzip").args(["-9", "-c"]).arg(&path).output() else {
            continue;
        };
        let n = out.stdout.len() as u64;
        total += n;
        parts.push(format!("{ext} {:.0} KB", n as f64 / 1024.0));
    }
    parts.sort();
    let kb = total as f64 / 1024.0;
    report.add(
        "Portal wasm + JS + CSS, gzip -9",
        format!("{kb:.0} KB ({})", parts.join(", ")),
        "≤ 400 KB",
        Some(kb <= 400.0),
    );
}

async fn postgres(args: &BenchArgs, admin: &str, report: &mut Report) -> anyhow::Result<()> {
    let base = Instant::now();
    let secs = args.seconds as f64;
    let db_url = fresh_postgres(admin).await?;
    let webhook_secret = app::crypto::random_hex(16);
    let sink = Sink::start(&webhook_secret, base).await?;
    let inst = Installation::create(Some(db_url)).await?;
    let (a, startup) = inst.spawn().await?;
    let (b, _) = inst.spawn().await?;
    report.add(
        "start-up to ready (PostgreSQL, migrated db)",
        format!("{:.0} ms", startup.as_secs_f64() * 1000.0),
        "",
        None,
    );
    inst.connect_whatsapp(&a, &sink.url, &webhook_secret)
        .await?;
    let w = Webhooks {
        app_secret: inst.app_secret.clone().into(),
        timestamp: app::clock::Clock::now_ms(&app::clock::SystemClock) / 1000,
    };
    let addrs = vec![a.addr, b.addr];
    let mut numbers = Numbers(1);
    let warm = load::run(ingest_plan(
        addrs.clone(),
        &w,
        numbers.take(1_000_000),
        8,
        1.0,
    ))
    .await;
    drain(&sink, warm.ok, Duration::from_secs(60)).await;
    let perf = Perf::start(
        args.perf_dir.as_ref(),
        &[a.pid(), b.pid()],
        "ingest-postgres",
    );
    let peak = load::run(ingest_plan(
        addrs.clone(),
        &w,
        numbers.take(10_000_000),
        args.connections,
        secs,
    ))
    .await;
    perf.stop();
    report.add(
        format!(
            "PG ingest peak, 2 processes ({} connections)",
            args.connections
        ),
        describe(&peak),
        "",
        None,
    );
    drain(&sink, warm.ok + peak.ok, Duration::from_secs(180)).await;
    let (e2e_out, lat, missing) = e2e(
        addrs.clone(),
        &w,
        &sink,
        base,
        numbers.take(10_000_000),
        args.e2e_rate,
        secs,
    )
    .await;
    report.add(
        format!("PG e2e webhook → sink at {:.0}/s", args.e2e_rate),
        format!(
            "p50 {:.2} ms, p99 {:.2} ms ({} events, {missing} not arrived; ingest {})",
            ms(load::percentile_us(&lat, 50.0)),
            ms(load::percentile_us(&lat, 99.0)),
            lat.len(),
            describe(&e2e_out)
        ),
        "",
        None,
    );
    a.stop();
    b.stop();
    let first = numbers.take(args.relay_events);
    let queued = preload(&inst, &w, first, args.relay_events).await?;
    let (a, _) = inst.spawn().await?;
    let (b, _) = inst.spawn().await?;
    let perf = Perf::start(
        args.perf_dir.as_ref(),
        &[a.pid(), b.pid()],
        "relay-postgres",
    );
    if drain(&sink, sink.count() + queued, Duration::from_secs(120))
        .await
        .is_none()
    {
        print_delivery_states(&inst).await;
    }
    perf.stop();
    let rate = relay_rate(&sink, first, queued);
    report.add(
        format!("PG relay drain of {queued} queued deliveries (2 processes)"),
        format!(
            "{rate:.0} deliveries/s ({} bad signatures, {} distinct events seen in all)",
            sink.bad_signatures
                .load(std::sync::atomic::Ordering::Relaxed),
            sink.distinct()
        ),
        "",
        None,
    );
    a.stop();
    b.stop();
    Ok(())
}

/// A new empty database on the PostgreSQL `admin` points at.
async fn fresh_postgres(admin: &str) -> anyhow::Result<String> {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let name = format!("sb_bench_{}", app::crypto::random_hex(6));
    let mut conn = sqlx::AnyConnection::connect(admin)
        .await
        .context("connecting to --postgres-url")?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await?;
    conn.close().await.ok();
    let mut url = url::Url::parse(admin)?;
    url.set_path(&format!("/{name}"));
    Ok(url.to_string())
}
