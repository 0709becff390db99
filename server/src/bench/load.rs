//! A small HTTP/1.1 load generator over raw keep-alive TCP connections, used
//! for every HTTP figure of `switchboard bench` so the numbers compare like
//! for like. Closed loop (each connection sends its next request when the
//! previous answer arrived: the peak) and open loop (requests scheduled at a
//! fixed rate; latency counts from the scheduled time, so a stalled server
//! cannot hide its queueing). Loopback only; every run ends at its deadline.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Builds the full request bytes for request number `n`.
pub type MakeRequest = Arc<dyn Fn(u64) -> Vec<u8> + Send + Sync>;
/// Called with `n` right before request `n` is written (e2e bookkeeping).
pub type OnSend = Arc<dyn Fn(u64) + Send + Sync>;

/// What one run measured.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    pub ok: u64,
    pub failed: u64,
    pub elapsed: Duration,
    /// Latencies of the successful requests, microseconds, sorted.
    pub latencies_us: Vec<u64>,
    /// Status codes other than the expected one (first few).
    pub odd_statuses: Vec<u16>,
    /// The first unexpected answer (head and body, shortened).
    pub first_odd: Option<String>,
}

impl Outcome {
    pub fn rps(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
    pub fn pct_ms(&self, p: f64) -> f64 {
        percentile_us(&self.latencies_us, p) as f64 / 1000.0
    }
}

/// The `p`-th percentile (0..=100) of sorted values.
pub fn percentile_us(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// The GET/POST request text (HTTP/1.1, keep-alive).
pub fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\n");
    for (k, v) in headers {
        out.push_str(k);
        out.push_str(": ");
        out.push_str(v);
        out.push_str("\r\n");
    }
    if !body.is_empty() || method == "POST" {
        out.push_str(&format!("content-length: {}\r\n", body.len()));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// Reads one response; returns its status. Handles `content-length` and
/// chunked bodies.
async fn read_response(stream: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<u16> {
    buf.clear();
    let mut chunk = [0u8; 16 * 1024];
    let header_end = loop {
        if let Some(i) = find(buf, b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_ascii_lowercase();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok());
    let chunked = head.contains("transfer-encoding: chunked");
    loop {
        let body = &buf[header_end..];
        let done = match length {
            Some(n) => body.len() >= n,
            None if chunked => find(body, b"0\r\n\r\n").is_some_and(|i| {
                i == 0 || body[..i].ends_with(b"\r\n") // a last chunk, not data
            }),
            None => true,
        };
        if done {
            return Ok(status);
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

async fn connect(addr: SocketAddr) -> std::io::Result<TcpStream> {
    let s = TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    Ok(s)
}

/// The plan of one run.
#[derive(Clone)]
pub struct Plan {
    pub addrs: Vec<SocketAddr>,
    pub connections: usize,
    pub duration: Duration,
    /// `None`: closed loop. `Some(r)`: open loop at `r` requests/s.
    pub rate: Option<f64>,
    pub expect: u16,
    /// First request number (so ids stay unique across runs).
    pub first: u64,
    pub make: MakeRequest,
    pub on_send: Option<OnSend>,
}

/// Runs the plan; returns once the deadline passed and answers in flight
/// arrived (each request is bounded by a 10 s read timeout).
pub async fn run(plan: Plan) -> Outcome {
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + plan.duration;
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..plan.connections {
        let plan = plan.clone();
        let next = next.clone();
        tasks.spawn(async move {
            let addr = plan.addrs[c % plan.addrs.len()];
            let mut out = Outcome::default();
            let mut stream = connect(addr).await.ok();
            let mut buf = Vec::with_capacity(4096);
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let scheduled = match plan.rate {
                    Some(r) => started + Duration::from_secs_f64(k as f64 / r),
                    None => Instant::now(),
                };
                if scheduled >= deadline || Instant::now() >= deadline {
                    break;
                }
                tokio::time::sleep_until(scheduled.into()).await;
                let n = plan.first + k;
                let req = (plan.make)(n);
                if stream.is_none() {
                    stream = connect(addr).await.ok();
                }
                let Some(s) = stream.as_mut() else {
                    out.failed += 1;
                    continue;
                };
                if let Some(f) = &plan.on_send {
                    f(n);
                }
                let result = tokio::time::timeout(Duration::from_secs(10), async {
                    s.write_all(&req).await?;
                    read_response(s, &mut buf).await
                })
                .await;
                match result {
                    Ok(Ok(status)) if status == plan.expect => {
                        out.ok += 1;
                        out.latencies_us
                            .push(scheduled.elapsed().as_micros() as u64);
                    }
                    Ok(Ok(status)) => {
                        out.failed += 1;
                        if out.odd_statuses.len() < 5 {
                            out.odd_statuses.push(status);
                        }
                        if out.first_odd.is_none() {
                            let text = String::from_utf8_lossy(&buf);
                            let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
                            out.first_odd = Some(body.chars().take(300).collect());
                        }
                    }
                    _ => {
                        out.failed += 1;
                        stream = None;
                    }
                }
            }
            out
        });
    }
    let mut total = Outcome::default();
    while let Some(r) = tasks.join_next().await {
        if let Ok(o) = r {
            total.ok += o.ok;
            total.failed += o.failed;
            total.latencies_us.extend(o.latencies_us);
            if total.odd_statuses.len() < 5 {
                total.odd_statuses.extend(o.odd_statuses);
            }
            if total.first_odd.is_none() {
                total.first_odd = o.first_odd;
            }
        }
    }
    total.elapsed = started.elapsed().max(Duration::from_millis(1));
    total.latencies_us.sort_unstable();
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_sorted_values() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile_us(&v, 50.0), 51);
        assert_eq!(percentile_us(&v, 99.0), 99);
        assert_eq!(percentile_us(&[], 99.0), 0);
    }

    #[tokio::test]
    async fn counts_answers_of_a_local_server() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(super::super::hello::serve(listener));
        let out = run(Plan {
            addrs: vec![addr],
            connections: 2,
            duration: Duration::from_millis(200),
            rate: None,
            expect: 200,
            first: 0,
            make: Arc::new(|_| request("GET", "/", &[], b"")),
            on_send: None,
        })
        .await;
        assert!(out.ok > 10, "{out:?}");
        assert_eq!(out.failed, 0);
    }
}
