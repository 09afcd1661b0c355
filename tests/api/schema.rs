//! The schema stays distributable: every table of practice data carries `organization_id`,
//! the key a sharded PostgreSQL (Citus) distributes by (docs/SCALING.md).

use diesel_async::RunQueryDsl;

use crate::helpers::spawn_app;

/// Tables that are not practice data: the practices themselves, the migration ledger, the
/// service-wide rate limits (keyed by digests of addresses and accounts, not by practice), and
/// the change feed's one row saying how far its pruning has gone.
const NOT_PRACTICE_DATA: [&str; 5] = [
    "__diesel_schema_migrations",
    "organizations",
    "sync_horizon",
    // The gaps restores left in the feed's positions: the whole service's, like the horizon.
    "sync_restores",
    "throttles",
];

#[tokio::test]
async fn every_table_of_practice_data_has_a_non_null_organization_id() {
    let app = spawn_app().await;
    let mut conn = app.conn().await;
    #[derive(diesel::QueryableByName, Debug)]
    struct Table {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        keyed: bool,
    }
    let tables: Vec<Table> = diesel::sql_query(
        "SELECT t.table_name::text AS name,
                EXISTS (SELECT 1 FROM information_schema.columns c
                         WHERE c.table_schema = t.table_schema AND c.table_name = t.table_name
                           AND c.column_name = 'organization_id' AND c.is_nullable = 'NO'
                           AND c.data_type = 'uuid') AS keyed
           FROM information_schema.tables t
          WHERE t.table_schema = 'public' AND t.table_type = 'BASE TABLE'
          ORDER BY 1",
    )
    .load(&mut conn)
    .await
    .unwrap();
    assert!(tables.len() > 10, "{tables:?}");
    let missing: Vec<&str> = tables
        .iter()
        .filter(|t| !t.keyed && !NOT_PRACTICE_DATA.contains(&t.name.as_str()))
        .map(|t| t.name.as_str())
        .collect();
    assert!(
        missing.is_empty(),
        "tables of practice data without a NOT NULL uuid organization_id (the distribution key; \
         see docs/SCALING.md): {missing:?}"
    );
}
