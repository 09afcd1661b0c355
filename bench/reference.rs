//! bench/run's ceiling for an authenticated read: the thinnest service this stack makes. One
//! route, `GET /rows/{id}`, reads one row by primary key from `bench_reference_rows` (100,000
//! rows that bench/run writes) and answers it as JSON. No authentication, no middleware, no
//! logging, no metrics; the same actix-web, diesel-async, pool size and workers as the service,
//! and the same way to PostgreSQL (`runback::db::tls::connect`: TLS when `DATABASE_URL`'s
//! `sslmode` asks for it or, by default, when the server offers it, as the service and libpq do).
//!
//!   DATABASE_URL=postgres://… BIND_ADDR=127.0.0.1:18082 \
//!     cargo run --release --example bench-reference

use actix_web::{get, web, App, HttpResponse, HttpServer};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use uuid::Uuid;

diesel::table! {
    bench_reference_rows (id) {
        id -> Uuid,
        name -> Text,
        stage -> Text,
        level -> Nullable<Int4>,
        started_on -> Date,
        updated_at -> Timestamptz,
    }
}

#[derive(Queryable, Selectable, Serialize)]
#[diesel(table_name = bench_reference_rows)]
struct Row {
    id: Uuid,
    name: String,
    stage: String,
    level: Option<i32>,
    started_on: NaiveDate,
    updated_at: DateTime<Utc>,
}

type DbPool = Pool<AsyncPgConnection>;

#[get("/rows/{id}")]
async fn read_row(pool: web::Data<DbPool>, id: web::Path<Uuid>) -> HttpResponse {
    let Ok(mut conn) = pool.get().await else {
        return HttpResponse::ServiceUnavailable().finish();
    };
    let found = bench_reference_rows::table
        .find(id.into_inner())
        .select(Row::as_select())
        .first(&mut conn)
        .await
        .optional();
    match found {
        Ok(Some(row)) => HttpResponse::Ok().json(row),
        Ok(None) => HttpResponse::NotFound().finish(),
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
}

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let bind = std::env::var("BIND_ADDR").unwrap_or_else(|_| "127.0.0.1:18082".into());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // The service's own defaults: four pooled connections per core, one HTTP worker per core.
    let pool_size = setting("DATABASE_POOL_SIZE", 4 * cores);
    let workers = setting("HTTP_WORKERS", cores);
    let mut config = ManagerConfig::default();
    config.custom_setup = Box::new(|url| {
        let url = url.to_owned();
        Box::pin(async move { runback::db::tls::connect(&url).await })
    });
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url, config);
    let pool: DbPool = Pool::builder(manager)
        .max_size(pool_size)
        .build()
        .expect("the pool");
    HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(pool.clone()))
            .service(read_row)
    })
    .workers(workers)
    .bind(bind)?
    .run()
    .await
}
