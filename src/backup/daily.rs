//! The daily backup of the service's own database (`BACKUP_DIR`, `BACKUP_KEEP`, `BACKUP_AT`):
//! when it is due, which backups have expired, and the task that writes them.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use chrono::{DateTime, Local, NaiveTime, TimeZone, Utc};
use prometheus::IntGauge;
use tokio::sync::Notify;

use super::{backup, checksum_file, BackupKey};

/// The daily backup of the service's own database: `BACKUP_DIR`, `BACKUP_KEEP`, `BACKUP_AT`.
pub struct Daily {
    pub url: String,
    pub dir: PathBuf,
    pub keep_days: u32,
    pub at: NaiveTime,
    pub bin_dir: Option<PathBuf>,
    /// `BACKUP_KEY`: the backups are encrypted to it.
    pub key: Option<BackupKey>,
    /// `runback_backup_last_success_timestamp_seconds`.
    pub last_success: IntGauge,
}

/// Past this age the last backup is a warning in the log, every hour until one succeeds.
const STALE_HOURS: i64 = 26;

/// When the next daily backup is due: at once when the newest is a day old or there is none
/// (the service was down at the hour, or has just been installed), else the next `at`, local
/// time (an `at` that a clock change skips is taken an hour later).
pub fn next_run<Tz: TimeZone>(
    now: DateTime<Tz>,
    at: NaiveTime,
    last: Option<DateTime<Utc>>,
) -> DateTime<Tz> {
    if last.is_none_or(|t| now.with_timezone(&Utc) - t >= chrono::Duration::hours(24)) {
        return now;
    }
    let zone = now.timezone();
    let on = |day: chrono::NaiveDate| {
        let local = day.and_time(at);
        zone.from_local_datetime(&local).earliest().or_else(|| {
            zone.from_local_datetime(&(local + chrono::Duration::hours(1)))
                .earliest()
        })
    };
    let today = now.date_naive();
    match on(today) {
        Some(t) if t > now => t,
        _ => on(today + chrono::Duration::days(1)).unwrap_or(now + chrono::Duration::days(1)),
    }
}

/// The backups in `dir` (`runback-*.dump`, `runback-*.dump.age`), with when each was written.
fn backups_in(dir: &Path) -> Vec<(PathBuf, SystemTime)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().to_string());
            name.is_some_and(|n| {
                n.starts_with("runback-") && (n.ends_with(".dump") || n.ends_with(".dump.age"))
            })
        })
        .filter_map(|p| Some((p.clone(), std::fs::metadata(&p).ok()?.modified().ok()?)))
        .collect()
}

/// The backups past `keep_days` old; never the newest, whatever its age.
pub fn expired(backups: &[(PathBuf, SystemTime)], now: SystemTime, keep_days: u32) -> Vec<PathBuf> {
    let keep = std::time::Duration::from_secs(u64::from(keep_days) * 86_400);
    let newest = backups.iter().map(|(_, t)| *t).max();
    backups
        .iter()
        .filter(|(_, t)| Some(*t) != newest)
        .filter(|(_, t)| now.duration_since(*t).is_ok_and(|age| age > keep))
        .map(|(p, _)| p.clone())
        .collect()
}

/// One daily backup: written, counted in the metric, and the expired ones removed.
async fn back_up_daily(daily: &Daily) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let written = backup(
        &daily.url,
        &daily.dir,
        daily.key.as_ref(),
        daily.bin_dir.as_deref(),
    )
    .await?;
    daily.last_success.set(Utc::now().timestamp());
    tracing::info!(
        file = %written.file.display(), bytes = written.bytes, version = %written.version,
        seconds = started.elapsed().as_secs_f64(), "daily backup written"
    );
    for old in expired(&backups_in(&daily.dir), SystemTime::now(), daily.keep_days) {
        let sums = checksum_file(&old);
        match std::fs::remove_file(&old).and_then(|_| std::fs::remove_file(&sums)) {
            Ok(()) => tracing::info!(file = %old.display(), "expired backup removed"),
            Err(e) => {
                tracing::warn!(file = %old.display(), error = %e, "removing an expired backup")
            }
        }
    }
    Ok(())
}

/// Runs the daily backup until `stop` is notified: at start when the newest backup is a day
/// old, then every day at `at`; a failure is tried again an hour later, and a last success over
/// 26 hours old is a warning every hour.
pub async fn run_daily(daily: Daily, stop: Arc<Notify>) {
    let newest = backups_in(&daily.dir).into_iter().map(|(_, t)| t).max();
    let mut last: Option<DateTime<Utc>> = newest.map(DateTime::<Utc>::from);
    if let Some(t) = last {
        daily.last_success.set(t.timestamp());
    }
    let hour = std::time::Duration::from_secs(3600);
    loop {
        let now = Local::now();
        let due = next_run(now, daily.at, last);
        let wait = (due - now).to_std().unwrap_or_default().min(hour);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.notified() => return,
        }
        if Local::now() >= due {
            match back_up_daily(&daily).await {
                Ok(()) => last = Some(Utc::now()),
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), "the daily backup failed; trying again in an hour");
                    if last.is_none_or(|t| Utc::now() - t > chrono::Duration::hours(STALE_HOURS)) {
                        tracing::warn!(last = ?last, "the last backup is over {STALE_HOURS} hours old");
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(hour) => {}
                        _ = stop.notified() => return,
                    }
                    continue;
                }
            }
        }
        if last.is_none_or(|t| Utc::now() - t > chrono::Duration::hours(STALE_HOURS)) {
            tracing::warn!(last = ?last, "the last backup is over {STALE_HOURS} hours old");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::FixedOffset;

    fn at(hour: u32, minute: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(hour, minute, 0).unwrap()
    }

    #[test]
    fn the_next_backup_is_at_the_hour_or_at_once_when_a_day_has_passed() {
        let zone = FixedOffset::east_opt(3600).unwrap();
        let now = zone.with_ymd_and_hms(2026, 12, 7, 1, 0, 0).unwrap();
        let hours_ago = |h| Some(now.with_timezone(&Utc) - chrono::Duration::hours(h));
        // Before today's hour, with yesterday's backup: today at the hour.
        assert_eq!(
            next_run(now, at(2, 30), hours_ago(22)),
            zone.with_ymd_and_hms(2026, 12, 7, 2, 30, 0).unwrap()
        );
        // After it: tomorrow.
        let later = zone.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap();
        assert_eq!(
            next_run(
                later,
                at(2, 30),
                Some(later.with_timezone(&Utc) - chrono::Duration::hours(6))
            ),
            zone.with_ymd_and_hms(2026, 12, 8, 2, 30, 0).unwrap()
        );
        // None yet, or the last a day old (the service was down at the hour): at once.
        assert_eq!(next_run(now, at(2, 30), None), now);
        assert_eq!(next_run(now, at(2, 30), hours_ago(24)), now);
    }

    #[test]
    fn expired_backups_are_past_their_days_and_never_the_newest() {
        let now = SystemTime::now();
        let days = |d: u64| now - std::time::Duration::from_secs(d * 86_400);
        let files = vec![
            (PathBuf::from("a"), days(30)),
            (PathBuf::from("b"), days(15)),
            (PathBuf::from("c"), days(13)),
            (PathBuf::from("d"), days(1)),
        ];
        assert_eq!(
            expired(&files, now, 14),
            vec![PathBuf::from("a"), PathBuf::from("b")]
        );
        // Only old ones: the newest stays.
        let old = vec![
            (PathBuf::from("a"), days(30)),
            (PathBuf::from("b"), days(20)),
        ];
        assert_eq!(expired(&old, now, 14), vec![PathBuf::from("a")]);
    }
}
