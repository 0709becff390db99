//! A small Prometheus registry: counters and a latency histogram per process,
//! rendered in the text exposition format at `/metrics`.

use std::collections::BTreeMap;
use std::sync::Mutex;

const BUCKETS_MS: [f64; 10] = [
    1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 1000.0, 5000.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS_MS.len()],
    sum_ms: f64,
    total: u64,
}

#[derive(Default)]
pub struct Metrics {
    /// (route group, status class) → count
    requests: Mutex<BTreeMap<(String, String), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
    counters: Mutex<BTreeMap<(String, String), u64>>,
}

impl Metrics {
    pub fn observe_request(&self, group: &str, status: u16, ms: f64) {
        let class = format!("{}xx", status / 100);
        *self
            .requests
            .lock()
            .unwrap()
            .entry((group.to_string(), class))
            .or_default() += 1;
        let mut lat = self.latency.lock().unwrap();
        let h = lat.entry(group.to_string()).or_default();
        for (i, b) in BUCKETS_MS.iter().enumerate() {
            if ms <= *b {
                h.counts[i] += 1;
            }
        }
        h.sum_ms += ms;
        h.total += 1;
    }

    /// A named counter with one label value (e.g. `meta_api_errors_total{code="190"}`).
    pub fn incr(&self, name: &str, label: &str) {
        *self
            .counters
            .lock()
            .unwrap()
            .entry((name.to_string(), label.to_string()))
            .or_default() += 1;
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP switchboard_http_requests_total HTTP requests by route group and status class.\n");
        out.push_str("# TYPE switchboard_http_requests_total counter\n");
        for ((group, class), n) in self.requests.lock().unwrap().iter() {
            out.push_str(&format!(
                "switchboard_http_requests_total{{group=\"{group}\",status=\"{class}\"}} {n}\n"
            ));
        }
        out.push_str(
            "# HELP switchboard_http_request_duration_ms Request latency in milliseconds.\n",
        );
        out.push_str("# TYPE switchboard_http_request_duration_ms histogram\n");
        for (group, h) in self.latency.lock().unwrap().iter() {
            for (i, b) in BUCKETS_MS.iter().enumerate() {
                out.push_str(&format!(
                    "switchboard_http_request_duration_ms_bucket{{group=\"{group}\",le=\"{b}\"}} {}\n",
                    h.counts[i]
                ));
            }
            out.push_str(&format!(
                "switchboard_http_request_duration_ms_bucket{{group=\"{group}\",le=\"+Inf\"}} {}\n",
                h.total
            ));
            out.push_str(&format!(
                "switchboard_http_request_duration_ms_sum{{group=\"{group}\"}} {}\n",
                h.sum_ms
            ));
            out.push_str(&format!(
                "switchboard_http_request_duration_ms_count{{group=\"{group}\"}} {}\n",
                h.total
            ));
        }
        let counters = self.counters.lock().unwrap();
        let mut last = String::new();
        for ((name, label), n) in counters.iter() {
            if *name != last {
                out.push_str(&format!("# TYPE switchboard_{name} counter\n"));
                last = name.clone();
            }
            out.push_str(&format!("switchboard_{name}{{label=\"{label}\"}} {n}\n"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counts_and_buckets() {
        let m = Metrics::default();
        m.observe_request("api", 200, 3.0);
        m.observe_request("api", 429, 0.5);
        m.incr("mails_total", "outbox");
        let text = m.render();
        assert!(text.contains("switchboard_http_requests_total{group=\"api\",status=\"2xx\"} 1"));
        assert!(text.contains("switchboard_http_requests_total{group=\"api\",status=\"4xx\"} 1"));
        assert!(
            text.contains("switchboard_http_request_duration_ms_bucket{group=\"api\",le=\"1\"} 1")
        );
        assert!(
            text.contains("switchboard_http_request_duration_ms_bucket{group=\"api\",le=\"5\"} 2")
        );
        assert!(text.contains("switchboard_mails_total{label=\"outbox\"} 1"));
    }
}
