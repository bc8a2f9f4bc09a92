//! Reading `GET /metrics` as Prometheus does: the text format parsed into samples, so a
//! test asserts on one series' value (and how it changed) instead of on text fragments.

use std::collections::BTreeMap;

/// One scrape: every sample, keyed by metric name and its labels (sorted).
#[derive(Debug, Default)]
pub struct Scrape {
    samples: BTreeMap<(String, Vec<(String, String)>), f64>,
    pub text: String,
}

impl Scrape {
    /// Fetches and parses `url` (a `/metrics` URL), asserting it answers 200 as text.
    pub async fn fetch(url: &str) -> Scrape {
        let response = reqwest::get(url).await.expect("scrape");
        assert_eq!(response.status().as_u16(), 200, "{url}");
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(content_type.starts_with("text/plain"), "{content_type}");
        Scrape::parse(&response.text().await.expect("scrape body"))
    }

    pub fn parse(text: &str) -> Scrape {
        let mut samples = BTreeMap::new();
        for line in text.lines() {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (series, value) = line.rsplit_once(' ').expect("a sample line");
            let value: f64 = value.parse().expect("a sample value");
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => (name, labels(rest.strip_suffix('}').expect("}"))),
                None => (series, Vec::new()),
            };
            samples.insert((name.to_string(), labels), value);
        }
        Scrape {
            samples,
            text: text.to_string(),
        }
    }

    /// The value of `name` with exactly `labels`; 0 when the series does not exist yet
    /// (as for a counter never incremented).
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let mut labels: Vec<(String, String)> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        labels.sort();
        self.samples
            .get(&(name.to_string(), labels))
            .copied()
            .unwrap_or(0.0)
    }

    /// Whether any sample of `name` exists.
    pub fn has(&self, name: &str) -> bool {
        self.samples.keys().any(|(n, _)| n == name)
    }

    /// Every label set of `name`'s samples.
    pub fn label_sets(&self, name: &str) -> Vec<Vec<(String, String)>> {
        self.samples
            .keys()
            .filter(|(n, _)| n == name)
            .map(|(_, labels)| labels.clone())
            .collect()
    }
}

/// `a="x",b="y"` as sorted pairs (values here hold no escaped quotes).
fn labels(text: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut rest = text;
    while let Some((key, after)) = rest.split_once("=\"") {
        let (value, after) = after.split_once('"').expect("closing quote");
        pairs.push((key.trim_start_matches(',').to_string(), value.to_string()));
        rest = after;
    }
    pairs.sort();
    pairs
}
