use serde_json::Value;

use crate::helpers::spawn_app;

#[tokio::test]
async fn the_demo_practice_covers_every_stage_and_its_logins_work() {
    let app = spawn_app().await;
    let mut conn = app.conn().await;
    let today = chrono::Utc::now().date_naive();
    let demo = runback::demo::create(&mut conn, today).await.unwrap();
    assert!(demo.created);
    assert_eq!(demo.logins.len(), 5);
    let again = runback::demo::create(&mut conn, today).await.unwrap();
    assert!(!again.created, "running it twice changes nothing");

    let mut tokens = vec![];
    for (email, role) in &demo.logins {
        let res = app.login(email, runback::demo::DEMO_PASSWORD).await;
        assert_eq!(res.status(), 200, "{role} {email}");
        let pair: Value = res.json().await.unwrap();
        tokens.push((
            role.to_string(),
            pair["access_token"].as_str().unwrap().to_string(),
        ));
    }
    let admin = &tokens[0].1;
    let list: Value = app
        .get("/v1/clients?limit=200", Some(admin))
        .await
        .json()
        .await
        .unwrap();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 13);
    for stage in ["crawling", "walking_hills", "lunges", "jogging"] {
        assert!(
            items.iter().any(|c| c["plan"]["stage"] == stage),
            "nobody at {stage}"
        );
    }
    assert!(items
        .iter()
        .any(|c| c["sessions_last_14_days"].as_i64().unwrap() >= 5));
    for item in items {
        let id = item["id"].as_str().unwrap();
        let res = app
            .get(&format!("/v1/clients/{id}/plan/today"), Some(admin))
            .await;
        assert_eq!(res.status(), 200, "{}", item["name"]);
    }
    let flags: Value = app
        .get("/v1/flags", Some(admin))
        .await
        .json()
        .await
        .unwrap();
    let levels: Vec<&str> = flags["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["level"].as_str().unwrap())
        .collect();
    // Jo's calf pain and swelling: an emergency, first in the inbox.
    assert_eq!(levels.first(), Some(&"red_medical"), "{levels:?}");
    assert_eq!(flags["items"][0]["urgency"], "emergency");
    assert!(levels.contains(&"red_pelvic"), "{levels:?}");
    assert!(levels.contains(&"amber"), "{levels:?}");
    // Why each is where she is: Dara waits for her caesarean scar check, Grace's sleep holds her.
    let why = |name: &str| {
        let id = items.iter().find(|c| c["name"] == name).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let app = &app;
        async move {
            let res = app
                .get(
                    &format!("/v1/clients/{id}/plan/recommendation"),
                    Some(admin),
                )
                .await;
            assert_eq!(res.status(), 200);
            res.json::<Value>().await.unwrap()
        }
    };
    let rule = |trace: &Value, id: &str| {
        trace["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["rule"] == id)
            .unwrap()
            .clone()
    };
    let dara = why("Dara O'Neill").await;
    let r1 = rule(&dara, "R1");
    assert_eq!(
        (r1["outcome"].as_str(), r1["decided"].as_bool()),
        (Some("hold"), Some(true)),
        "{dara}"
    );
    assert!(
        r1["message"].as_str().unwrap().contains("caesarean scar"),
        "{r1}"
    );
    // Mia's fourth-degree tear holds lunges until a pelvic-health assessment clears impact.
    let mia = why("Mia Torres").await;
    let r1 = rule(&mia, "R1");
    assert!(
        r1["message"]
            .as_str()
            .unwrap()
            .contains("fourth-degree tear"),
        "{mia}"
    );
    assert_eq!(r1["inputs"]["oasi_hold"], true);
    let grace = why("Grace Kim").await;
    assert_eq!(grace["decision"], "hold", "{grace}");
    let r11 = rule(&grace, "R11");
    assert_eq!(
        (r11["outcome"].as_str(), r11["decided"].as_bool()),
        (Some("hold"), Some(true)),
        "{grace}"
    );
    let coach = &tokens[1].1;
    let mine: Value = app
        .get("/v1/clients", Some(coach))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["items"].as_array().unwrap().len(), 7);
    let client = &tokens[3].1;
    let today: Value = app
        .get("/v1/clients/me/plan/today", Some(client))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(today["stage"], "crawling");
}
