//! Logs and metrics. Logs go through `tracing` (text or JSON lines, each request's lines
//! carrying its request id); metrics are Prometheus counters and histograms by route and
//! status, plus the database pool's usage, gathered when scraped.

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{Encoder, IntGauge, Opts, Registry, TextEncoder};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;
use crate::db::DbPool;

/// Installs the global subscriber once; later calls (tests) are ignored.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,actix_server=warn"));
    let registry = tracing_subscriber::registry().with(filter);
    let _ = match format {
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false),
            )
            .try_init(),
        LogFormat::Text => registry
            .with(tracing_subscriber::fmt::layer().with_target(false))
            .try_init(),
    };
}

/// The metrics registry of one running application.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    /// When the last daily backup was written (Unix seconds; 0: none yet, or none scheduled).
    pub backup_last_success: IntGauge,
}

impl Metrics {
    pub fn new(pool: DbPool) -> anyhow::Result<Self> {
        let registry = Registry::new();
        registry.register(Box::new(PoolCollector::new(pool)?))?;
        let backup_last_success = IntGauge::with_opts(Opts::new(
            "runback_backup_last_success_timestamp_seconds",
            "When the last daily backup was written (Unix time; 0: never)",
        ))?;
        registry.register(Box::new(backup_last_success.clone()))?;
        Ok(Self {
            registry,
            backup_last_success,
        })
    }

    pub fn registry(&self) -> Registry {
        self.registry.clone()
    }

    pub fn render(&self) -> anyhow::Result<String> {
        let mut buffer = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buffer)?;
        Ok(String::from_utf8(buffer)?)
    }
}

/// Reads the pool's state at scrape time.
struct PoolCollector {
    pool: DbPool,
    max: IntGauge,
    size: IntGauge,
    available: IntGauge,
    waiting: IntGauge,
}

impl PoolCollector {
    fn new(pool: DbPool) -> anyhow::Result<Self> {
        let gauge = |name: &str, help: &str| IntGauge::with_opts(Opts::new(name, help));
        Ok(Self {
            pool,
            max: gauge(
                "runback_db_pool_max_connections",
                "Largest size the pool may grow to",
            )?,
            size: gauge(
                "runback_db_pool_connections",
                "Connections open in the pool",
            )?,
            available: gauge(
                "runback_db_pool_idle_connections",
                "Open connections not in use",
            )?,
            waiting: gauge(
                "runback_db_pool_waiting_requests",
                "Requests waiting for a connection",
            )?,
        })
    }

    fn gauges(&self) -> [&IntGauge; 4] {
        [&self.max, &self.size, &self.available, &self.waiting]
    }
}

impl Collector for PoolCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.gauges().iter().flat_map(|g| g.desc()).collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let status = self.pool.status();
        self.max.set(status.max_size as i64);
        self.size.set(status.size as i64);
        self.available.set(status.available as i64);
        self.waiting.set(status.waiting as i64);
        self.gauges().iter().flat_map(|g| g.collect()).collect()
    }
}
