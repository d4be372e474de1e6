//! `make bench-render` (release build): what rendering real-shaped templates costs, in process (the bare json-e
//! render) and through the render worker processes the daemons use, one caller at a time and 16 at once. Prints a
//! table; asserts nothing. The figures say how far real templates stay from the render limits (200 ms CPU,
//! 64 MiB), and what the process boundary costs per render.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, reason = "a benchmark program")]

use std::time::{Duration, Instant};

use chrono::Utc;
use hooks_core::TaskId;
use hooks_core::render::{RenderLimits, Renderer, render_task};
use serde_json::{Map, Value, json};

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

fn example(name: &str) -> Map<String, Value> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples").join(name);
    let hook: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    obj(hook["task"].clone())
}

/// A decision-task template in the shape of the large real ones (Gecko's hg-push and cron hooks): `$let`, `$if`,
/// `$switch`, `$merge`, `$map`, `$flatten`, `$json`, `$fromNow`, interpolations, over the payload of a push.
fn decision_template() -> Map<String, Value> {
    obj(json!({
        "$let": {
            "trustDomain": "gecko", "level": "3",
            "ownTaskId": {"$eval": "taskId"},
            "pushlog": {"$eval": "payload.pushlog"},
            "repoUrl": {"$if": "payload.repo_url[-1] == '/'", "then": {"$eval": "payload.repo_url[:-1]"}, "else": {"$eval": "payload.repo_url"}},
        },
        "in": {
            "$if": "len(pushlog.pushes) > 0",
            "then": {
                "taskGroupId": {"$eval": "ownTaskId"},
                "schedulerId": "${trustDomain}-level-${level}",
                "provisionerId": "${trustDomain}-${level}",
                "workerType": "decision",
                "routes": {"$flatten": [
                    "tc-treeherder.v2.${payload.project}.${pushlog.pushes[0].changesets[0].node}",
                    {"$map": {"$eval": "pushlog.pushes"}, "each(p)": "index.${trustDomain}.v2.${payload.project}.pushlog-id.${p.pushid}"},
                ]},
                "priority": {"$switch": {"level == '3'": "highest", "level == '2'": "very-high", "$default": "low"}},
                "scopes": ["assume:repo:${repoUrl[8:]}:branch:default", "queue:route:notify.email.*"],
                "tags": {"$merge": [{"createdForUser": "${pushlog.pushes[0].user}"}, {"kind": "decision-task"}]},
                "payload": {
                    "env": {
                        "GECKO_BASE_REPOSITORY": "https://hg.mozilla.org/mozilla-unified",
                        "GECKO_HEAD_REPOSITORY": "${repoUrl}",
                        "GECKO_HEAD_REV": "${pushlog.pushes[0].changesets[-1].node}",
                        "GECKO_COMMIT_MSG": {"$if": "len(pushlog.pushes[0].changesets) > 0", "then": "${pushlog.pushes[0].changesets[-1].desc}"},
                        "TASKCLUSTER_CACHES": "/builds/worker/checkouts",
                        "PUSHES": {"$json": {"$eval": "pushlog.pushes"}},
                    },
                    "cache": {"${trustDomain}-level-${level}-checkouts-sparse-v2": "/builds/worker/checkouts"},
                    "features": {"taskclusterProxy": true, "chainOfTrust": true},
                    "image": "mozillareleases/gecko_decision:4.0.0@sha256:0123456789abcdef",
                    "maxRunTime": 1800,
                    "command": ["/builds/worker/bin/run-task", "--gecko-checkout=/builds/worker/checkouts/gecko", "--", "bash", "-cx",
                        "cd /builds/worker/checkouts/gecko && ./mach --log-no-times taskgraph decision --pushlog-id='${payload.pushlog_id}' --pushdate='${pushlog.pushes[0].date}' --project='${payload.project}' --owner='${pushlog.pushes[0].user}' --level='${level}'"],
                    "artifacts": {"public": {"type": "directory", "path": "/builds/worker/artifacts", "expires": {"$fromNow": "1 year"}}},
                },
                "metadata": {
                    "owner": "mozilla-taskcluster-maintenance@mozilla.com",
                    "source": "${repoUrl}/raw-file/${pushlog.pushes[0].changesets[-1].node}/.taskcluster.yml",
                    "name": "Gecko Decision Task",
                    "description": "The task that creates all of the other tasks in the task graph",
                },
                "deadline": {"$fromNow": "1 day"},
                "expires": {"$fromNow": "1 year"},
                "extra": {"treeherder": {"machine": {"platform": "gecko-decision"}, "symbol": "D"}},
            },
        },
    }))
}

fn push_payload(pushes: usize) -> Value {
    let push = |i: usize| {
        let changesets: Vec<Value> = (0..5)
            .map(|c| json!({"node": format!("{:040x}", i * 10 + c), "desc": "Bug 1 - a change r=reviewer", "author": "A Dev <dev@example.com>", "files": ["a/b/c.rs", "d/e.js"]}))
            .collect();
        json!({"pushid": 40_000 + i, "user": "dev@example.com", "date": 1_700_000_000 + i, "changesets": changesets})
    };
    json!({"repo_url": "https://hg.mozilla.org/integration/autoland/", "project": "autoland", "pushlog_id": "40000",
           "pushlog": {"pushes": (0..pushes).map(push).collect::<Vec<_>>()}})
}

struct Case {
    name: &'static str,
    template: Map<String, Value>,
    context: Map<String, Value>,
}

fn cases() -> Vec<Case> {
    let ctx = |payload: Value, fired_by: &str| {
        obj(json!({"payload": payload, "firedBy": fired_by, "taskId": "fN4sWm9gQuWdC5YsDbVjlQ"}))
    };
    vec![
        Case {
            name: "examples/every-minute (schedule)",
            template: example("every-minute.json"),
            context: obj(json!({"firedBy": "schedule"})),
        },
        Case {
            name: "examples/webhook (small payload)",
            template: example("webhook.json"),
            context: ctx(json!({"branch": "main", "revision": "abcdef1"}), "triggerHookWithToken"),
        },
        Case {
            name: "decision task, 1 push",
            template: decision_template(),
            context: ctx(push_payload(1), "pulseMessage"),
        },
        Case {
            name: "decision task, 100 pushes (~100 KB payload)",
            template: decision_template(),
            context: ctx(push_payload(100), "pulseMessage"),
        },
    ]
}

fn per_render(total: Duration, n: u32) -> String {
    format!("{:.1} µs", total.as_secs_f64() * 1e6 / f64::from(n))
}

#[tokio::main]
async fn main() {
    if !test_support::bench_requested() {
        return;
    }
    let program = hooks_core::render::default_program().expect("build hooks-render first (make bench-render)");
    let renderer = Renderer::start(program, RenderLimits::default()).unwrap();
    println!("render workers: {}; limits: {:?}\n", renderer.limits().workers, renderer.limits());
    println!("| template | in process | worker, 1 caller | worker, 16 callers (throughput) |");
    println!("|---|---:|---:|---:|");
    for case in cases() {
        let task_id = TaskId::generate();
        let now = Utc::now();
        let n = 2_000u32;
        let started = Instant::now();
        for _ in 0..n {
            std::hint::black_box(render_task(&case.template, &case.context, &task_id, now).unwrap());
        }
        let inline = started.elapsed();
        // Warm the workers, then one caller at a time.
        for _ in 0..50 {
            renderer.render(&case.template, &case.context, &task_id, now).await.unwrap();
        }
        let started = Instant::now();
        for _ in 0..n {
            std::hint::black_box(renderer.render(&case.template, &case.context, &task_id, now).await.unwrap());
        }
        let sequential = started.elapsed();
        let started = Instant::now();
        let callers = (0..16).map(|_| {
            let (r, template, context, task_id) =
                (renderer.clone(), case.template.clone(), case.context.clone(), task_id.clone());
            tokio::spawn(async move {
                for _ in 0..n / 16 {
                    r.render(&template, &context, &task_id, now).await.unwrap();
                }
            })
        });
        futures::future::join_all(callers).await;
        let concurrent = started.elapsed();
        println!(
            "| {} | {} | {} | {:.0} renders/s |",
            case.name,
            per_render(inline, n),
            per_render(sequential, n),
            f64::from(n / 16 * 16) / concurrent.as_secs_f64()
        );
    }
}
