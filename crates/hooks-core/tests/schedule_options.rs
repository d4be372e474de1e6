//! A hook's `timeZone` and `catchUp`: validated with errors naming the field, stored and read back against a real
//! Postgres, removed by an update without them, guarded by the table's constraints, and announced when changed.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use chrono::{TimeDelta, TimeZone as _, Timelike as _, Utc};
use diesel::sql_types::{Nullable, Text};
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
use futures::StreamExt as _;
use hooks_core::storage::{StorageError, create_hook, find_hook, update_hook};
use hooks_core::{
    CatchUp, CatchUpInput, ExchangeDenylist, HookDefinition, HookGroupId, HookId, HookInput, ValidationError,
};
use serde_json::{Value, json};
use test_support::TestDb;

fn parse(extra: Value) -> Result<HookDefinition, ValidationError> {
    let mut input = json!({
        "metadata": {"name": "n", "description": "d", "owner": "owner@example.com"},
        "schedule": ["0 0 9 * * *"],
        "task": {"provisionerId": "p", "workerType": "w"},
    });
    input.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    let input: HookInput = serde_json::from_value(input).unwrap();
    let (g, h) = (HookGroupId::parse("g").unwrap(), HookId::parse("h").unwrap());
    HookDefinition::parse(g, h, input, &ExchangeDenylist::default())
}

#[derive(diesel::QueryableByName, Debug, PartialEq)]
struct Columns {
    #[diesel(sql_type = Nullable<Text>)]
    time_zone: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    catch_up_policy: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    catch_up_window: Option<String>,
}

async fn columns(conn: &mut AsyncPgConnection) -> Columns {
    diesel::sql_query("SELECT time_zone, catch_up_policy, catch_up_window FROM hooks").get_result(conn).await.unwrap()
}

#[test]
fn validation_errors_name_the_field_and_the_problem() {
    let cases = [
        (json!({"timeZone": "Mars/Olympus_Mons"}), "timeZone", r#"unknown time zone "Mars/Olympus_Mons""#),
        (json!({"timeZone": "z".repeat(65)}), "timeZone", "is 65 characters long; at most 64"),
        (json!({"catchUp": {"policy": "never"}}), "catchUp.policy", r#""never" is not a catch-up policy"#),
        (json!({"catchUp": {"policy": "none", "window": "1m"}}), "catchUp.window", r#"only policy "all""#),
        (json!({"catchUp": {"policy": "all", "window": "1 fortnight"}}), "catchUp.window", "is not a duration"),
        (json!({"catchUp": {"policy": "all", "window": "169h"}}), "catchUp.window", "outside the range allowed"),
    ];
    for (extra, field, words) in cases {
        let e = parse(extra.clone()).unwrap_err();
        assert_eq!(e.field, field, "{extra}");
        assert!(e.problem.contains(words), "{e} should contain {words}");
    }
    // The shape is the input type's: no other keys.
    let extra = json!({"metadata": {"name": "n", "description": "d", "owner": "o@example.com"}, "task": {},
        "catchUp": {"policy": "all", "within": "1h"}});
    assert!(serde_json::from_value::<HookInput>(extra).is_err());
}

#[test]
fn the_definition_shows_what_was_set_and_nothing_else() {
    let def = parse(json!({"timeZone": "Europe/Berlin", "catchUp": {"policy": "all", "window": "2h"}})).unwrap();
    let shown = def.to_json();
    assert_eq!(shown["timeZone"], "Europe/Berlin");
    assert_eq!(shown["catchUp"], json!({"policy": "all", "window": "2h"}));
    assert_eq!(def.schedule.zone().map(|z| z.name()), Some("Europe/Berlin"));
    let own = def.catch_up.as_ref().unwrap();
    assert_eq!(own.to_input(), CatchUpInput { policy: "all".into(), window: Some("2h".into()) });
    assert_eq!(CatchUp::Latest.for_hook(Some(own), TimeDelta::hours(1)), CatchUp::All { window: TimeDelta::hours(2) });

    let plain = parse(json!({})).unwrap();
    assert!(plain.schedule.zone().is_none() && plain.catch_up.is_none());
    let shown = plain.to_json();
    assert!(shown.get("timeZone").is_none() && shown.get("catchUp").is_none(), "{shown}");
}

#[tokio::test]
async fn zone_and_catch_up_are_stored_read_back_and_removed_by_an_update_without_them() {
    let db = TestDb::new().await;
    let keyring = common::keyring();
    let mut conn = db.pool.get().await.unwrap();
    let def =
        parse(json!({"timeZone": "Australia/Lord_Howe", "catchUp": {"policy": "all", "window": "3days"}})).unwrap();
    let now = Utc.with_ymd_and_hms(2026, 11, 24, 10, 17, 3).unwrap();
    create_hook(&mut conn, &keyring, &def, "c", now).await.unwrap();
    let stored = columns(&mut conn).await;
    let expected = Columns {
        time_zone: Some("Australia/Lord_Howe".into()),
        catch_up_policy: Some("all".into()),
        catch_up_window: Some("3days".into()),
    };
    assert_eq!(stored, expected);
    let hook = find_hook(&mut conn, &keyring, &def.key()).await.unwrap().unwrap();
    assert_eq!(hook.definition, def);
    // 09:00 on Lord Howe in November (+11:00) is 22:00 UTC the day before.
    assert_eq!(hook.next_scheduled_date, Some(Utc.with_ymd_and_hms(2026, 11, 24, 22, 0, 0).unwrap()));

    let plain = parse(json!({})).unwrap();
    let updated = update_hook(&mut conn, &keyring, &plain, "c", Utc::now()).await.unwrap().unwrap();
    assert_eq!(updated.definition, plain);
    assert_eq!(columns(&mut conn).await, Columns { time_zone: None, catch_up_policy: None, catch_up_window: None });
    assert_eq!(updated.next_scheduled_date.map(|n| n.hour()), Some(9), "back on UTC");

    let only_policy = parse(json!({"catchUp": {"policy": "none"}})).unwrap();
    update_hook(&mut conn, &keyring, &only_policy, "c", Utc::now()).await.unwrap().unwrap();
    assert_eq!(columns(&mut conn).await.catch_up_policy.as_deref(), Some("none"));
    assert_eq!(find_hook(&mut conn, &keyring, &def.key()).await.unwrap().unwrap().definition, only_policy);
}

#[tokio::test]
async fn the_table_refuses_bad_values_and_a_bad_stored_zone_is_reported_as_corrupt() {
    let db = TestDb::new().await;
    let keyring = common::keyring();
    let mut conn = db.pool.get().await.unwrap();
    let def = parse(json!({})).unwrap();
    create_hook(&mut conn, &keyring, &def, "c", Utc::now()).await.unwrap();
    for bad in [
        "UPDATE hooks SET catch_up_policy = 'sometimes'",
        "UPDATE hooks SET catch_up_policy = 'latest', catch_up_window = '1h'",
        "UPDATE hooks SET catch_up_window = '1h'",
    ] {
        assert!(diesel::sql_query(bad).execute(&mut conn).await.is_err(), "{bad}");
    }
    diesel::sql_query("UPDATE hooks SET time_zone = 'Mars/Olympus_Mons'").execute(&mut conn).await.unwrap();
    let err = find_hook(&mut conn, &keyring, &def.key()).await.unwrap_err();
    assert!(matches!(&err, StorageError::Corrupt { problem, .. } if problem.contains("timeZone")), "{err}");
    diesel::sql_query("UPDATE hooks SET time_zone = NULL, catch_up_policy = 'all', catch_up_window = 'forever'")
        .execute(&mut conn)
        .await
        .unwrap();
    let err = find_hook(&mut conn, &keyring, &def.key()).await.unwrap_err();
    assert!(err.to_string().contains("catchUp.window"), "{err}");
}

#[tokio::test]
async fn a_change_of_zone_or_catch_up_alone_is_announced() {
    let db = TestDb::new().await;
    let mut conn = db.pool.get().await.unwrap();
    create_hook(&mut conn, &common::keyring(), &parse(json!({})).unwrap(), "c", Utc::now()).await.unwrap();
    let mut listener = AsyncPgConnection::establish(&db.url).await.unwrap();
    diesel::sql_query("LISTEN hooks_changed").execute(&mut listener).await.unwrap();
    let mut notifications = Box::pin(listener.notifications_stream());
    for change in [
        "UPDATE hooks SET time_zone = 'Asia/Tokyo'",
        "UPDATE hooks SET catch_up_policy = 'all'",
        "UPDATE hooks SET catch_up_window = '2h'",
    ] {
        diesel::sql_query(change).execute(&mut conn).await.unwrap();
        let n = tokio::time::timeout(std::time::Duration::from_secs(5), notifications.next())
            .await
            .unwrap_or_else(|_| panic!("{change} was not announced"))
            .unwrap()
            .unwrap();
        let payload: Value = serde_json::from_str(&n.payload).unwrap();
        assert_eq!(payload, json!({"op": "UPDATE", "hookGroupId": "g", "hookId": "h"}), "{change}");
    }
    // The scheduler's own bookkeeping is not announced.
    diesel::sql_query("UPDATE hooks SET next_scheduled_date = now()").execute(&mut conn).await.unwrap();
    let quiet = tokio::time::timeout(std::time::Duration::from_millis(300), notifications.next()).await;
    assert!(quiet.is_err(), "an advanced slot was announced");
}
