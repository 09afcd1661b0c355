//! The change feed: reach, order, deletions, expiry, and offline replays.

use std::collections::{BTreeMap, BTreeSet};

use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{assert_problem, spawn_app, start_app, Caller, TestApp};

fn days_ago(n: i64) -> String {
    (chrono::Utc::now().date_naive() - chrono::Duration::days(n)).to_string()
}

/// One page of the feed as `caller` sees it.
async fn page(app: &TestApp, caller: &Caller, cursor: Option<&str>, limit: u32) -> Value {
    let mut path = format!("/v1/sync?limit={limit}");
    if let Some(cursor) = cursor {
        path.push_str(&format!("&cursor={cursor}"));
    }
    let res = app.get(&path, Some(&caller.token)).await;
    assert_eq!(res.status(), 200, "{path}");
    res.json().await.unwrap()
}

/// What an app holds after following the feed from `cursor` to its end, applying each change
/// (a `client` delete removes her and everything of hers), and the cursor it ends with.
#[derive(Default, Debug)]
struct Replica {
    records: BTreeMap<(String, String), Value>,
    cursor: Option<String>,
    pages: usize,
}

impl Replica {
    async fn follow(&mut self, app: &TestApp, caller: &Caller, limit: u32) {
        loop {
            let body = page(app, caller, self.cursor.as_deref(), limit).await;
            self.pages += 1;
            for change in body["changes"].as_array().unwrap() {
                let key = (
                    change["entity"].as_str().unwrap().to_string(),
                    change["id"].as_str().unwrap().to_string(),
                );
                match change["op"].as_str().unwrap() {
                    "upsert" => {
                        self.records.insert(key, change["data"].clone());
                    }
                    "delete" => {
                        if key.0 == "client" {
                            let id = key.1.clone();
                            self.records
                                .retain(|_, v| v["client_id"].as_str() != Some(id.as_str()));
                        }
                        self.records.remove(&key);
                    }
                    op => panic!("unknown op {op}"),
                }
            }
            self.cursor = Some(body["next_cursor"].as_str().unwrap().to_string());
            if body["has_more"] == false {
                break;
            }
        }
    }

    fn ids(&self, entity: &str) -> BTreeSet<String> {
        self.records
            .keys()
            .filter(|(e, _)| e == entity)
            .map(|(_, id)| id.clone())
            .collect()
    }

    /// Every client id the records belong to.
    fn clients(&self) -> BTreeSet<String> {
        self.records
            .iter()
            .map(|((entity, id), v)| match entity.as_str() {
                "client" => id.clone(),
                _ => v["client_id"].as_str().unwrap_or("?").to_string(),
            })
            .filter(|c| c != "?")
            .collect()
    }
}

struct Practice {
    admin: Caller,
    zoe: Caller,
    yan: Caller,
    ana: Caller,
    bea: Caller,
}

/// Two coaches: Zoe coaches Ana (signed in, with a plan), Yan coaches Bea.
async fn practice(app: &TestApp) -> Practice {
    let admin = app.new_admin("Sync Practice", "admin@sync.example").await;
    let zoe = app.new_coach(&admin, "Zoe", "zoe@sync.example").await;
    let yan = app.new_coach(&admin, "Yan", "yan@sync.example").await;
    let ana = app.new_client(&zoe, "Ana", "ana@sync.example").await;
    let bea = app.new_client(&yan, "Bea", "bea@sync.example").await;
    app.start_default_plan(&zoe, &ana.client_id.unwrap().to_string())
        .await;
    app.start_default_plan(&yan, &bea.client_id.unwrap().to_string())
        .await;
    Practice {
        admin,
        zoe,
        yan,
        ana,
        bea,
    }
}

async fn log_session(app: &TestApp, caller: &Caller, id: Uuid, day: i64) -> u16 {
    app.post(
        "/v1/clients/me/sessions",
        Some(&caller.token),
        &json!({"id": id, "performed_on": days_ago(day), "completed": true, "duration_minutes": 20}),
    )
    .await
    .status()
    .as_u16()
}

async fn report(app: &TestApp, caller: &Caller, id: Uuid, body: Value) -> Value {
    let mut body = body;
    body["id"] = json!(id);
    let res = app
        .post("/v1/clients/me/symptom-reports", Some(&caller.token), &body)
        .await;
    assert!(res.status().is_success(), "{}", res.status());
    res.json().await.unwrap()
}

#[tokio::test]
async fn each_caller_gets_her_own_reach_and_nothing_else() {
    let app = spawn_app().await;
    let p = practice(&app).await;
    let (ana_id, bea_id) = (
        p.ana.client_id.unwrap().to_string(),
        p.bea.client_id.unwrap().to_string(),
    );
    assert_eq!(log_session(&app, &p.ana, Uuid::now_v7(), 1).await, 201);
    assert_eq!(log_session(&app, &p.bea, Uuid::now_v7(), 1).await, 201);
    // A red report: it opens a flag, which is for her coach.
    report(
        &app,
        &p.ana,
        Uuid::now_v7(),
        json!({"timing": "daily_life", "chest_pain": true}),
    )
    .await;

    let mut ana = Replica::default();
    ana.follow(&app, &p.ana, 100).await;
    assert_eq!(ana.clients(), BTreeSet::from([ana_id.clone()]), "hers only");
    assert_eq!(ana.ids("client"), BTreeSet::from([ana_id.clone()]));
    assert_eq!(ana.ids("session").len(), 1);
    assert_eq!(ana.ids("symptom_report").len(), 1);
    assert!(ana.ids("flag").is_empty(), "flags are for her coach");
    // Her live plan comes with today's session, as her app needs it offline.
    let plan = ana
        .records
        .iter()
        .find(|((e, _), _)| e == "plan")
        .unwrap()
        .1;
    assert!(plan["next_session"].is_object(), "{plan}");
    assert_eq!(plan["client_id"], ana_id.as_str());

    let mut zoe = Replica::default();
    zoe.follow(&app, &p.zoe, 100).await;
    assert_eq!(
        zoe.clients(),
        BTreeSet::from([ana_id.clone()]),
        "her clients only"
    );
    assert_eq!(zoe.ids("flag").len(), 1, "her client's flag");
    let mut yan = Replica::default();
    yan.follow(&app, &p.yan, 100).await;
    assert_eq!(yan.clients(), BTreeSet::from([bea_id.clone()]));

    let mut admin = Replica::default();
    admin.follow(&app, &p.admin, 100).await;
    assert_eq!(
        admin.clients(),
        BTreeSet::from([ana_id.clone(), bea_id.clone()])
    );
    let (_, token) = app.new_service_token(&p.admin, &["clients:read"]).await;
    let script = Caller {
        token,
        ..p.admin.clone()
    };
    let mut by_token = Replica::default();
    by_token.follow(&app, &script, 100).await;
    assert_eq!(
        by_token.records, admin.records,
        "a read token sees the practice"
    );
    let (_, token) = app.new_service_token(&p.admin, &["programs:read"]).await;
    assert_problem(app.get("/v1/sync", Some(&token)).await, 403).await;

    // Another practice sees none of it.
    let other = app.new_admin("Elsewhere", "admin@elsewhere.example").await;
    let mut elsewhere = Replica::default();
    elsewhere.follow(&app, &other, 100).await;
    assert!(
        elsewhere.records.is_empty(),
        "{:?}",
        elsewhere.records.keys()
    );

    // The data is what each record's own GET returns.
    let session_id = ana.ids("session").into_iter().next().unwrap();
    let sessions: Value = app
        .get(
            &format!("/v1/clients/{ana_id}/sessions"),
            Some(&p.zoe.token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        zoe.records[&("session".to_string(), session_id)],
        sessions["items"][0]
    );
    let client: Value = app
        .get(&format!("/v1/clients/{ana_id}"), Some(&p.zoe.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(zoe.records[&("client".to_string(), ana_id.clone())], client);
}

#[tokio::test]
async fn incremental_syncs_carry_only_what_changed_and_bad_cursors_are_named() {
    let app = spawn_app().await;
    let p = practice(&app).await;
    let mut zoe = Replica::default();
    zoe.follow(&app, &p.zoe, 2).await;
    assert!(zoe.pages >= 2, "small pages: {}", zoe.pages);
    let cursor = zoe.cursor.clone().unwrap();
    // Nothing new: an empty page that keeps the cursor.
    let body = page(&app, &p.zoe, Some(&cursor), 100).await;
    assert_eq!(body["changes"], json!([]));
    assert_eq!(body["next_cursor"], cursor.as_str());
    assert_eq!(body["has_more"], false);

    let session = Uuid::now_v7();
    assert_eq!(log_session(&app, &p.ana, session, 0).await, 201);
    let body = page(&app, &p.zoe, Some(&cursor), 100).await;
    let entities: BTreeSet<&str> = body["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["entity"].as_str().unwrap())
        .collect();
    assert!(entities.contains("session"), "{body}");
    assert!(
        !entities.contains("plan_transition"),
        "old records stay behind the cursor"
    );
    let ids: Vec<&str> = body["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    let unique: BTreeSet<&&str> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "each record once per page");

    for (query, field) in [
        ("cursor=not-a-cursor", "cursor"),
        ("cursor=AAAAAAAAAAAAAAAAAAAAAB", "cursor"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=ten", "limit"),
        ("since=2026-01-01", "since"),
    ] {
        let problem = assert_problem(
            app.get(&format!("/v1/sync?{query}"), Some(&p.zoe.token))
                .await,
            422,
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], field, "{query}");
    }
    // A cursor of the documented shape that this API never gave out is a place past the end.
    let far = page(&app, &p.zoe, Some(&"_".repeat(32)), 10).await;
    assert_eq!(far["changes"], json!([]));
    assert_eq!(far["has_more"], false);
    assert_problem(app.get("/v1/sync", None).await, 401).await;
}

/// A transaction that began first but commits last is not skipped by a cursor handed out in
/// between. Positions are commit positions: the quick change is served at once, and the slow
/// one, when it commits, comes after the cursor already handed out.
#[tokio::test]
async fn a_slow_transaction_that_commits_late_is_not_skipped() {
    let app = spawn_app().await;
    let p = practice(&app).await;
    let cat = app.new_client(&p.zoe, "Cat", "cat@sync.example").await;
    let cat_id = cat.client_id.unwrap();
    let mut zoe = Replica::default();
    zoe.follow(&app, &p.zoe, 100).await;

    // The slow writer takes its transaction id first, then holds it open.
    let mut slow = AsyncPgConnection::establish(&app.db_url).await.unwrap();
    slow.batch_execute(&format!(
        "BEGIN; UPDATE clients SET notes = 'slow writer' WHERE id = '{cat_id}'"
    ))
    .await
    .unwrap();
    // A later, quick change to another client of the coach commits at once.
    let quick = Uuid::now_v7();
    assert_eq!(log_session(&app, &p.ana, quick, 0).await, 201);
    // While the slow one runs, the feed serves what has committed, and nothing is waiting.
    let during = page(&app, &p.zoe, zoe.cursor.as_deref(), 100).await;
    let served: Vec<&Value> = during["changes"].as_array().unwrap().iter().collect();
    assert!(
        served
            .iter()
            .any(|c| c["entity"] == "session" && c["id"] == quick.to_string()),
        "{during}"
    );
    assert!(
        !served
            .iter()
            .any(|c| c["entity"] == "client" && c["id"] == cat_id.to_string()),
        "nothing of a running transaction: {during}"
    );
    assert_eq!(during["has_more"], false);
    let cursor = during["next_cursor"].as_str().unwrap().to_string();
    slow.batch_execute("COMMIT").await.unwrap();

    // Committed after the cursor was handed out, it comes after it.
    let after = page(&app, &p.zoe, Some(&cursor), 100).await;
    let changes = after["changes"].as_array().unwrap();
    let client = changes
        .iter()
        .find(|c| c["entity"] == "client")
        .expect("the slow change");
    assert_eq!(client["data"]["notes"], "slow writer");
    assert_eq!(client["id"], cat_id.to_string());
    assert!(
        !changes
            .iter()
            .any(|c| c["entity"] == "session" && c["id"] == quick.to_string()),
        "the quick change is not served twice"
    );
}

/// A long write in one practice (an import, a transaction left open) holds back no other
/// practice's feed: its pages are complete with `has_more: false`, and a burst of them is all
/// answered. The practice's own feed serves its other changes, and gets the long one when it
/// commits.
#[tokio::test]
async fn a_long_write_in_one_practice_holds_back_no_other_practice() {
    let app = spawn_app().await;
    let a = practice(&app).await;
    let b_admin = app.new_admin("Other Practice", "admin@other.example").await;
    let b_coach = app.new_coach(&b_admin, "Uma", "uma@other.example").await;
    let b_mother = app.new_client(&b_coach, "Eve", "eve@other.example").await;
    app.start_default_plan(&b_coach, &b_mother.client_id.unwrap().to_string())
        .await;
    let mut uma = Replica::default();
    uma.follow(&app, &b_coach, 100).await;
    let mut zoe = Replica::default();
    zoe.follow(&app, &a.zoe, 100).await;

    // Practice A's long write: it has logged a change and stays open.
    let bea = a.bea.client_id.unwrap();
    let mut long = AsyncPgConnection::establish(&app.db_url).await.unwrap();
    long.batch_execute(&format!(
        "BEGIN; UPDATE clients SET notes = 'long write' WHERE id = '{bea}'"
    ))
    .await
    .unwrap();

    // Practice B writes and follows: everything, at once.
    let session = Uuid::now_v7();
    assert_eq!(log_session(&app, &b_mother, session, 0).await, 201);
    let during = page(&app, &b_coach, uma.cursor.as_deref(), 100).await;
    assert_eq!(during["has_more"], false, "{during}");
    assert!(during["changes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["entity"] == "session" && c["id"] == session.to_string()));
    // A burst of B's syncs, more than the pool's connections, beside B's ordinary reads:
    // every one answered.
    let cursor = uma.cursor.clone().unwrap();
    let syncs = (0..30).map(|_| {
        let path = format!("/v1/sync?cursor={cursor}");
        let token = b_coach.token.clone();
        let app = &app;
        async move { app.get(&path, Some(&token)).await.status().as_u16() }
    });
    let reads = (0..15).map(|_| {
        let token = b_coach.token.clone();
        let app = &app;
        async move { app.get("/v1/clients", Some(&token)).await.status().as_u16() }
    });
    let (syncs, reads) = tokio::join!(
        futures_util::future::join_all(syncs),
        futures_util::future::join_all(reads)
    );
    assert!(syncs.iter().all(|s| *s == 200), "{syncs:?}");
    assert!(reads.iter().all(|s| *s == 200), "{reads:?}");

    // Practice A's own other writes are not held up, and its feed serves them.
    let quick = Uuid::now_v7();
    assert_eq!(log_session(&app, &a.ana, quick, 0).await, 201);
    let own = page(&app, &a.zoe, zoe.cursor.as_deref(), 100).await;
    assert_eq!(own["has_more"], false);
    assert!(own["changes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["entity"] == "session" && c["id"] == quick.to_string()));
    // When the long write commits, the coach who sees it gets it next.
    long.batch_execute("COMMIT").await.unwrap();
    let mut yan = Replica::default();
    yan.follow(&app, &a.yan, 100).await;
    assert_eq!(
        yan.records[&("client".to_string(), bea.to_string())]["notes"],
        "long write"
    );
}

/// Writers committing side by side while a coach follows the feed page by page: when she is
/// done, she holds every change, none skipped between two pages.
#[tokio::test]
async fn concurrent_commits_are_never_skipped_by_a_follower() {
    let app = spawn_app().await;
    let p = practice(&app).await;
    let mut zoe = Replica::default();
    zoe.follow(&app, &p.zoe, 100).await;
    let ids: Vec<Uuid> = (0..24).map(|_| Uuid::now_v7()).collect();
    let writers = ids.iter().enumerate().map(|(i, id)| {
        let app = &app;
        let ana = &p.ana;
        async move { log_session(app, ana, *id, (i % 7) as i64).await }
    });
    let follower = async {
        let mut r = Replica {
            cursor: zoe.cursor.clone(),
            ..Default::default()
        };
        for _ in 0..20 {
            r.follow(&app, &p.zoe, 2).await;
        }
        r
    };
    let (statuses, mut follower) = tokio::join!(futures_util::future::join_all(writers), follower);
    assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");
    follower.follow(&app, &p.zoe, 2).await;
    let sessions = follower.ids("session");
    for id in &ids {
        assert!(sessions.contains(&id.to_string()), "{id} was skipped");
    }
}

#[tokio::test]
async fn moving_a_client_and_erasing_one_are_deletions_for_who_loses_her() {
    let app = spawn_app().await;
    let p = practice(&app).await;
    let ana_id = p.ana.client_id.unwrap().to_string();
    let bea_id = p.bea.client_id.unwrap().to_string();
    assert_eq!(log_session(&app, &p.ana, Uuid::now_v7(), 1).await, 201);
    let (mut zoe, mut yan, mut admin) =
        (Replica::default(), Replica::default(), Replica::default());
    zoe.follow(&app, &p.zoe, 100).await;
    yan.follow(&app, &p.yan, 100).await;
    admin.follow(&app, &p.admin, 100).await;
    let ana_records = zoe.records.len();
    assert!(ana_records >= 3, "{:?}", zoe.records.keys());

    // Ana moves from Zoe to Yan: Zoe loses all of her, Yan gains all of her.
    let res = app
        .patch(
            &format!("/v1/clients/{ana_id}"),
            Some(&p.admin.token),
            &json!({"coach_id": p.yan.user_id}),
        )
        .await;
    assert_eq!(res.status(), 200);
    zoe.follow(&app, &p.zoe, 100).await;
    assert!(zoe.records.is_empty(), "{:?}", zoe.records.keys());
    yan.follow(&app, &p.yan, 3).await;
    assert_eq!(
        yan.clients(),
        BTreeSet::from([ana_id.clone(), bea_id.clone()])
    );
    assert_eq!(
        yan.records.len(),
        ana_records + 2,
        "all of Ana's records and Bea's: {:?}",
        yan.records.keys()
    );
    admin.follow(&app, &p.admin, 100).await;
    assert_eq!(
        admin.clients(),
        BTreeSet::from([ana_id.clone(), bea_id.clone()])
    );

    // And back: Zoe has her again, Yan loses her.
    let res = app
        .patch(
            &format!("/v1/clients/{ana_id}"),
            Some(&p.admin.token),
            &json!({"coach_id": p.zoe.user_id}),
        )
        .await;
    assert_eq!(res.status(), 200);
    zoe.follow(&app, &p.zoe, 100).await;
    assert_eq!(zoe.clients(), BTreeSet::from([ana_id.clone()]));
    yan.follow(&app, &p.yan, 100).await;
    assert_eq!(yan.clients(), BTreeSet::from([bea_id.clone()]));

    // Ana is erased: a deletion for her coach and the practice, which drop all of her.
    let old_yan = yan.cursor.clone();
    assert_eq!(
        app.delete(&format!("/v1/clients/{ana_id}"), Some(&p.admin.token))
            .await
            .status(),
        204
    );
    let body = page(&app, &p.zoe, zoe.cursor.as_deref(), 100).await;
    assert_eq!(
        body["changes"],
        json!([{"entity": "client", "id": ana_id, "op": "delete",
                "version": body["changes"][0]["version"]}])
    );
    zoe.follow(&app, &p.zoe, 100).await;
    assert!(zoe.records.is_empty());
    admin.follow(&app, &p.admin, 100).await;
    assert_eq!(admin.clients(), BTreeSet::from([bea_id.clone()]));
    // Yan, who lost her before, is told nothing new about her.
    let body = page(&app, &p.yan, old_yan.as_deref(), 100).await;
    assert_eq!(body["changes"], json!([]));
    // A first sync after the erasure never shows her.
    let mut fresh = Replica::default();
    fresh.follow(&app, &p.admin, 100).await;
    assert_eq!(fresh.clients(), BTreeSet::from([bea_id]));
}

#[tokio::test]
async fn a_cursor_older_than_the_kept_deletions_is_gone_and_cursors_outlive_restarts() {
    let app = spawn_app().await;
    let p = practice(&app).await;
    let mut zoe = Replica::default();
    zoe.follow(&app, &p.zoe, 100).await;
    let old_cursor = zoe.cursor.clone().unwrap();

    // Another instance of the service (a restart, or the next one behind the load balancer)
    // continues from the same cursor.
    // (Its database is the first one's, dropped with it: the twin is given nothing to drop.)
    let twin = start_app(
        app.db_url.clone(),
        "not_a_database".into(),
        "postgres://127.0.0.1:1/none".into(),
        |_| {},
    )
    .await;
    assert_eq!(log_session(&app, &p.ana, Uuid::now_v7(), 0).await, 201);
    let mut on_twin = Replica {
        cursor: Some(old_cursor.clone()),
        ..Default::default()
    };
    on_twin.follow(&twin, &p.zoe, 100).await;
    assert_eq!(
        on_twin.ids("session").len(),
        1,
        "{:?}",
        on_twin.records.keys()
    );

    // A client is erased; 31 days later the feed's upkeep forgets her deletion.
    let gone = app.new_client(&p.zoe, "Cat", "cat@sync.example").await;
    let mut conn = app.conn().await;
    let cursor_before_erasure = {
        let mut r = Replica::default();
        r.follow(&app, &p.zoe, 100).await;
        r.cursor.unwrap()
    };
    assert_eq!(
        app.delete(
            &format!("/v1/clients/{}", gone.client_id.unwrap()),
            Some(&p.admin.token)
        )
        .await
        .status(),
        204
    );
    conn.batch_execute(
        "UPDATE sync_changes SET recorded_at = now() - interval '31 days' WHERE op = 'delete'",
    )
    .await
    .unwrap();
    let (_, pruned) =
        runback::db::sync::maintain(&mut conn, chrono::Utc::now() - chrono::Duration::days(30))
            .await
            .unwrap();
    assert_eq!(pruned, 1, "Cat's deletion");
    let problem = assert_problem(
        app.get(
            &format!("/v1/sync?cursor={cursor_before_erasure}"),
            Some(&p.zoe.token),
        )
        .await,
        410,
    )
    .await;
    assert_eq!(problem["type"], "/problems/cursor-expired");
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("from the start"));
    // Starting again works, and a cursor after the pruned deletion still does.
    let mut again = Replica::default();
    again.follow(&app, &p.zoe, 100).await;
    assert_eq!(
        again.clients(),
        BTreeSet::from([p.ana.client_id.unwrap().to_string()])
    );
    assert_eq!(
        page(&app, &p.zoe, again.cursor.as_deref(), 100).await["changes"],
        json!([])
    );
    drop(twin);
}

/// The phone queued a week of sessions and reports offline and replays them in any order, some
/// twice: one row each, and the same plan and recommendation as if each had arrived on its day.
#[tokio::test]
async fn offline_writes_replayed_in_any_order_give_one_row_each_and_the_same_outcome() {
    async fn replay(order: &[usize], twice: bool) -> (Value, Value, usize, usize) {
        let app = spawn_app().await;
        let p = practice(&app).await;
        let ids: Vec<Uuid> = (0..6).map(|_| Uuid::now_v7()).collect();
        // (session day, report body): a green run, then an amber report two days ago, then
        // green again.
        let writes: Vec<(i64, Value)> = vec![
            (5, json!({"timing": "next_day", "reported_on": days_ago(4)})),
            (
                3,
                json!({"timing": "next_day", "reported_on": days_ago(2), "pain": [{"location": "knee", "nrs": 3}]}),
            ),
            (1, json!({"timing": "next_day", "reported_on": days_ago(0)})),
        ];
        let mut sent = Vec::new();
        for &i in order {
            sent.push(i);
            if twice {
                sent.push(i);
            }
        }
        for i in sent {
            let (day, body) = &writes[i];
            let status = log_session(&app, &p.ana, ids[i], *day).await;
            assert!(status == 201 || status == 200, "{status}");
            report(&app, &p.ana, ids[3 + i], body.clone()).await;
        }
        let plan: Value = app
            .get("/v1/clients/me/plan", Some(&p.ana.token))
            .await
            .json()
            .await
            .unwrap();
        let reports: Value = app
            .get(
                "/v1/clients/me/symptom-reports?limit=200",
                Some(&p.ana.token),
            )
            .await
            .json()
            .await
            .unwrap();
        let sessions: Value = app
            .get("/v1/clients/me/sessions?limit=200", Some(&p.ana.token))
            .await
            .json()
            .await
            .unwrap();
        let triage: BTreeMap<String, Value> = reports["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["reported_on"].as_str().unwrap().to_string(),
                    r["triage"].clone(),
                )
            })
            .collect();
        (
            json!({"stage": plan["stage"], "level": plan["level"], "status": plan["status"],
                   "decision": plan["recommendation"]["decision"],
                   "reasons": plan["recommendation"]["reasons"]}),
            json!(triage),
            reports["items"].as_array().unwrap().len(),
            sessions["items"].as_array().unwrap().len(),
        )
    }
    let on_time = replay(&[0, 1, 2], false).await;
    assert_eq!((on_time.2, on_time.3), (3, 3));
    for (order, twice) in [(&[2, 0, 1][..], true), (&[1, 2, 0][..], false)] {
        let late = replay(order, twice).await;
        assert_eq!(late, on_time, "order {order:?}, twice {twice}");
    }
}
