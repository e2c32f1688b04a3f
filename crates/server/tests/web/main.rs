//! The web UI as a browser sees it, over real HTTP on a random port: sign-in, sessions, CSRF
//! tokens and roles, on SQLite and (when reachable) PostgreSQL.

// Test helpers may panic: a failed setup is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;

use std::collections::HashMap;

use helpers::{spawn_app, TestApp};
use kizuna_domain::account::AccountDraft;
use kizuna_domain::ids::UserId;
use kizuna_domain::user::{Locale, NewUser, Role, UserDraft};
use kizuna_store::testing;
use kizuna_store::Actor;
use kizuna_store::Store;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;
use reqwest::{Client, Response};

const PASSWORD: &str = "a-long-enough-password";

/// A browser: a cookie jar, no automatic redirects, and the CSRF token of the last page.
struct Browser {
    base: String,
    client: Client,
    cookies: HashMap<String, String>,
    csrf: Option<String>,
    forwarded_https: bool,
}

impl Browser {
    fn new(app: &TestApp) -> Browser {
        Browser {
            base: app.base.clone(),
            client: Client::builder().redirect(Policy::none()).build().unwrap(),
            cookies: HashMap::new(),
            csrf: None,
            forwarded_https: false,
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep_cookies(&mut self, r: &Response) -> Vec<String> {
        let mut raw = Vec::new();
        for v in r.headers().get_all(SET_COOKIE) {
            let text = v.to_str().unwrap().to_string();
            let pair = text.split(';').next().unwrap();
            let (k, val) = pair.split_once('=').unwrap();
            if val.is_empty() || text.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_string(), val.to_string());
            }
            raw.push(text);
        }
        raw
    }

    /// GETs a page and remembers its CSRF token; returns status and body.
    async fn get(&mut self, path: &str) -> (u16, String) {
        let mut req = self
            .client
            .get(format!("{}{path}", self.base))
            .header(COOKIE, self.cookie_header())
            .header("accept-language", "en-US,en;q=0.9");
        if self.forwarded_https {
            req = req.header("x-forwarded-proto", "https");
        }
        let r = req.send().await.unwrap();
        self.keep_cookies(&r);
        let status = r.status().as_u16();
        let body = r.text().await.unwrap();
        if let Some(token) = field_value(&body, "_csrf") {
            self.csrf = Some(token);
        }
        (status, body)
    }

    /// POSTs a form, with the last page's CSRF token unless `with_csrf` is false.
    async fn post(&mut self, path: &str, fields: &[(&str, &str)], with_csrf: bool) -> Response {
        let mut form: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if with_csrf {
            form.push((
                "_csrf".into(),
                self.csrf.clone().expect("a page with a form first"),
            ));
        }
        let mut req = self
            .client
            .post(format!("{}{path}", self.base))
            .header(COOKIE, self.cookie_header())
            .header("accept-language", "en-US,en;q=0.9")
            .form(&form);
        if self.forwarded_https {
            req = req.header("x-forwarded-proto", "https");
        }
        let r = req.send().await.unwrap();
        self.keep_cookies(&r);
        r
    }

    async fn sign_in(&mut self, email: &str, password: &str) -> Response {
        let (status, _) = self.get("/signin").await;
        assert_eq!(status, 200);
        self.post("/signin", &[("email", email), ("password", password)], true)
            .await
    }
}

fn field_value(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_string())
}

async fn user(store: &Store, email: &str, role: Role) -> UserId {
    let new = NewUser::parse(UserDraft {
        email: Some(email.into()),
        name: Some(format!("{role} user")),
        role: Some(role),
        locale: Some(Locale::En),
        ..Default::default()
    })
    .unwrap();
    let hash = kizuna_web::session::hash_password(PASSWORD).unwrap();
    store
        .create_user(new, Some(hash), &Actor::System("test"))
        .await
        .unwrap()
        .id
}

async fn account(store: &Store, name: &str, owner: Option<UserId>) -> i64 {
    store
        .create_account(
            AccountDraft {
                name: Some(name.into()),
                owner_id: owner,
                ..Default::default()
            },
            &Actor::System("test"),
        )
        .await
        .unwrap()
        .id
        .0
}

async fn touchpoints(store: &Store, account: i64) -> i64 {
    store
        .list_touchpoints(kizuna_domain::ids::AccountId(account), None, None)
        .await
        .unwrap()
        .total
}

fn location(r: &Response) -> String {
    r.headers()
        .get(LOCATION)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// Runs `check` against a fresh server on every reachable backend, with the server's store.
async fn each_backend<F, Fut>(check: F)
where
    F: Fn(TestApp, Store) -> Fut,
    Fut: std::future::Future<Output = TestApp>,
{
    for db in testing::all().await {
        let store = db.store.clone();
        let app = spawn_app(db).await;
        let app = check(app, store).await;
        app.stop().await;
    }
}

#[tokio::test(flavor = "current_thread")]
async fn signed_out_visitors_go_to_sign_in_and_unknown_pages_say_so() {
    each_backend(|app, _store| async move {
        let mut b = Browser::new(&app);
        let r = b
            .client
            .get(app.url("/accounts?band=red"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        assert_eq!(location(&r), "/signin?next=/accounts%3Fband%3Dred");
        let r = b.client.get(app.url("/signin")).send().await.unwrap();
        let csp = r.headers()["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
        assert_eq!(r.headers()["x-frame-options"], "DENY");
        let (status, body) = b.get("/no-such-page").await;
        assert_eq!(status, 404);
        assert!(body.contains("Page not found"), "{body}");
        // The API keeps its JSON errors.
        let r = app.get("/api/v1/no-such-thing").await;
        assert_eq!(r.status(), 404);
        assert!(r.text().await.unwrap().contains("\"error\""));
        // Assets are public and cacheable.
        let r = b
            .client
            .get(app.url(&kizuna_web::assets::url("htmx.min.js")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable"));
        app
    })
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn sign_in_needs_its_form_token_and_the_right_password() {
    each_backend(|app, store| async move {
        user(&store, "csm@example.com", Role::Csm).await;
        let mut b = Browser::new(&app);

        // No sign-in form token: refused before the password is even looked at.
        let r = b
            .post(
                "/signin",
                &[("email", "csm@example.com"), ("password", PASSWORD)],
                false,
            )
            .await;
        assert_eq!(r.status(), 403);

        let r = b.sign_in("csm@example.com", "wrong password!").await;
        assert_eq!(r.status(), 401);
        assert!(r.text().await.unwrap().contains("do not match"));
        assert!(!b.cookies.contains_key("kizuna_session"));

        let r = b.sign_in("csm@example.com", PASSWORD).await;
        assert_eq!(r.status(), 303);
        let set = r
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .find(|c| c.starts_with("kizuna_session="))
            .unwrap();
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Lax"),
            "{set}"
        );
        assert!(!set.contains("Secure"), "plain HTTP: no Secure flag");
        let (status, body) = b.get("/").await;
        assert_eq!(status, 200);
        assert!(body.contains("csm user"));

        // Behind an HTTPS proxy the cookie is Secure.
        let mut tls = Browser::new(&app);
        tls.forwarded_https = true;
        let r = tls.sign_in("csm@example.com", PASSWORD).await;
        let set = r.headers()[SET_COOKIE].to_str().unwrap().to_string();
        assert!(set.contains("; Secure"), "{set}");

        // Signing out ends the session on the server, not only in the browser.
        let old = b.cookies.get("kizuna_session").cloned().unwrap();
        let r = b.post("/signout", &[], true).await;
        assert_eq!(r.status(), 303);
        b.cookies.insert("kizuna_session".into(), old);
        let (status, _) = b.get("/").await;
        assert_eq!(status, 303);
        app
    })
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn every_change_needs_the_session_csrf_token_and_the_role() {
    each_backend(|app, store| async move {
        let csm = user(&store, "csm@example.com", Role::Csm).await;
        user(&store, "viewer@example.com", Role::Viewer).await;
        user(&store, "admin@example.com", Role::Admin).await;
        let own = account(&store, "自社担当の株式会社", Some(csm)).await;
        let other = account(&store, "Someone Else KK", None).await;
        let note = |subject: &'static str| {
            vec![
                ("kind", "call"),
                ("subject", subject),
                ("date", "2026-11-02"),
                ("duration_minutes", "15"),
            ]
        };

        let mut c = Browser::new(&app);
        assert_eq!(c.sign_in("csm@example.com", PASSWORD).await.status(), 303);
        let (status, page) = c.get(&format!("/accounts/{own}")).await;
        assert_eq!(status, 200);
        assert!(
            page.contains("touchpoints"),
            "the CSM gets the form on their own account"
        );
        // Without the token, and with another session's token: refused, nothing stored.
        let r = c
            .post(
                &format!("/accounts/{own}/touchpoints"),
                &note("no token"),
                false,
            )
            .await;
        assert_eq!(r.status(), 403);
        let good = c.csrf.clone();
        c.csrf = Some("0".repeat(64));
        let r = c
            .post(
                &format!("/accounts/{own}/touchpoints"),
                &note("bad token"),
                true,
            )
            .await;
        assert_eq!(r.status(), 403);
        assert_eq!(touchpoints(&store, own).await, 0);
        c.csrf = good;
        let r = c
            .post(
                &format!("/accounts/{own}/touchpoints"),
                &note("QBR prep call"),
                true,
            )
            .await;
        assert_eq!(r.status(), 303);
        assert_eq!(touchpoints(&store, own).await, 1);
        let (_, page) = c.get(&format!("/accounts/{own}")).await;
        assert!(page.contains("QBR prep call"), "on the timeline");
        // A CSM does not edit someone else's account, nor reach the admin pages.
        let r = c
            .post(
                &format!("/accounts/{other}/touchpoints"),
                &note("not mine"),
                true,
            )
            .await;
        assert_eq!(r.status(), 403);
        assert_eq!(touchpoints(&store, other).await, 0);
        assert_eq!(c.get("/settings/users").await.0, 403);
        // A CSM moves their own account along its lifecycle, but does not hand it over.
        let stage = [
            ("lifecycle_stage", "renewal"),
            ("coverage_tier", "high_touch"),
            ("stage_reason", "更新交渉開始"),
        ];
        let r = c.post(&format!("/accounts/{own}"), &stage, true).await;
        assert_eq!(r.status(), 303);
        let moved = store
            .account(kizuna_domain::ids::AccountId(own))
            .await
            .unwrap();
        assert_eq!(moved.lifecycle_stage.as_str(), "renewal");
        let history = store
            .lifecycle_history(kizuna_domain::ids::AccountId(own))
            .await
            .unwrap();
        assert_eq!(
            history.last().unwrap().reason.as_deref(),
            Some("更新交渉開始")
        );
        let mut handover = stage.to_vec();
        handover.push(("owner", "1"));
        let r = c.post(&format!("/accounts/{own}"), &handover, true).await;
        assert_eq!(r.status(), 403);
        let r = c.post(&format!("/accounts/{other}"), &stage, true).await;
        assert_eq!(r.status(), 403);
        // Anyone may keep their own saved views of the accounts table.
        c.get("/accounts").await;
        let r = c
            .post(
                "/accounts/views",
                &[
                    ("name", "高リスク更新"),
                    ("query", "band=red&renewal=90&offset=50"),
                ],
                true,
            )
            .await;
        assert_eq!(r.status(), 303);
        assert_eq!(location(&r), "/accounts?band=red&renewal=90");
        let (_, page) = c.get("/accounts").await;
        assert!(
            page.contains("高リスク更新") && page.contains("/accounts?band=red&amp;renewal=90")
        );
        assert_eq!(c.get("/settings/tokens").await.0, 403);

        // A viewer changes nothing, even with a valid token.
        let mut v = Browser::new(&app);
        assert_eq!(
            v.sign_in("viewer@example.com", PASSWORD).await.status(),
            303
        );
        let (status, page) = v.get(&format!("/accounts/{own}")).await;
        assert_eq!(status, 200);
        assert!(!page.contains("/touchpoints\""), "no form for a viewer");
        let r = v
            .post(
                &format!("/accounts/{own}/touchpoints"),
                &note("viewer"),
                true,
            )
            .await;
        assert_eq!(r.status(), 403);
        assert_eq!(touchpoints(&store, own).await, 1);
        let r = v
            .post(
                "/settings/users",
                &[
                    ("name", "x"),
                    ("email", "x@example.com"),
                    ("role", "admin"),
                    ("locale", "en"),
                    ("password", PASSWORD),
                ],
                true,
            )
            .await;
        assert_eq!(r.status(), 403);

        // The admin manages users and tokens.
        let mut a = Browser::new(&app);
        assert_eq!(a.sign_in("admin@example.com", PASSWORD).await.status(), 303);
        assert_eq!(a.get("/settings/users").await.0, 200);
        let r = a
            .post(
                "/settings/users",
                &[
                    ("name", "New CSM"),
                    ("email", "new@example.com"),
                    ("role", "csm"),
                    ("locale", "ja"),
                    ("password", PASSWORD),
                ],
                true,
            )
            .await;
        assert_eq!(r.status(), 200);
        assert!(store
            .user_by_email("new@example.com")
            .await
            .unwrap()
            .is_some());
        let r = a
            .post(
                "/settings/tokens",
                &[("name", "CRM sync"), ("scope", "write")],
                true,
            )
            .await;
        assert_eq!(r.status(), 200);
        let page = r.text().await.unwrap();
        let secret = page
            .split("<code>")
            .nth(1)
            .and_then(|s| s.split("</code>").next())
            .unwrap()
            .to_string();
        let api = app
            .client
            .get(app.url("/api/v1/accounts"))
            .bearer_auth(&secret)
            .send()
            .await
            .unwrap();
        assert_eq!(
            api.status(),
            200,
            "the token made in the UI works on the API"
        );
        app
    })
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_password_change_replaces_the_old_password() {
    each_backend(|app, store| async move {
        user(&store, "csm@example.com", Role::Csm).await;
        let mut b = Browser::new(&app);
        assert_eq!(b.sign_in("csm@example.com", PASSWORD).await.status(), 303);
        let mut other = Browser::new(&app);
        assert_eq!(
            other.sign_in("csm@example.com", PASSWORD).await.status(),
            303
        );
        b.get("/settings").await;
        let new = "another-long-password";
        let r = b
            .post(
                "/settings/password",
                &[
                    ("current", "wrong one at all"),
                    ("new", new),
                    ("repeat", new),
                ],
                true,
            )
            .await;
        assert!(r.text().await.unwrap().contains("not right"));
        let r = b
            .post(
                "/settings/password",
                &[("current", PASSWORD), ("new", new), ("repeat", new)],
                true,
            )
            .await;
        assert_eq!(r.status(), 200);
        assert!(r.text().await.unwrap().contains("Password changed"));
        assert_eq!(b.get("/").await.0, 200, "this browser stays signed in");
        assert_eq!(
            other.get("/").await.0,
            303,
            "the other browser is signed out"
        );
        let mut fresh = Browser::new(&app);
        assert_eq!(
            fresh.sign_in("csm@example.com", PASSWORD).await.status(),
            401
        );
        assert_eq!(fresh.sign_in("csm@example.com", new).await.status(), 303);
        app
    })
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn pages_follow_the_users_language() {
    each_backend(|app, store| async move {
        user(&store, "csm@example.com", Role::Csm).await;
        let mut b = Browser::new(&app);
        // Signed out: the browser's language (the test browser asks for English).
        let (_, page) = b.get("/signin").await;
        assert!(page.contains("lang=\"en\"") && page.contains("Sign in"));
        let (_, page) = b.get("/signin?lang=ja").await;
        assert!(page.contains("lang=\"ja\"") && page.contains("ログイン"));
        b.sign_in("csm@example.com", PASSWORD).await;
        let (_, page) = b.get("/").await;
        assert!(page.contains("My portfolio"));
        let r = b.post("/settings/locale", &[("locale", "ja")], true).await;
        assert_eq!(r.status(), 303);
        let (_, page) = b.get("/").await;
        assert!(page.contains("マイポートフォリオ"));
        app
    })
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn insight_pages_render_in_both_languages_for_every_reader() {
    each_backend(|app, store| async move {
        use kizuna_domain::subscription::{SubscriptionDraft, SubscriptionStatus};
        user(&store, "viewer@example.com", Role::Viewer).await;
        let today = chrono::Utc::now().date_naive();
        let a = account(&store, "Renewing KK", None).await;
        let term = |start: chrono::NaiveDate, end: chrono::NaiveDate, status| SubscriptionDraft {
            mrr: Some(100_000.0),
            seats: Some(10),
            start_date: Some(start),
            end_date: Some(end),
            status: Some(status),
            ..Default::default()
        };
        store
            .create_subscription(
                Some(kizuna_domain::ids::AccountId(a)),
                term(
                    today - chrono::Duration::days(300),
                    today + chrono::Duration::days(65),
                    SubscriptionStatus::Active,
                ),
                &Actor::System("test"),
            )
            .await
            .unwrap();
        let b2 = account(&store, "Leaving KK", None).await;
        store
            .create_subscription(
                Some(kizuna_domain::ids::AccountId(b2)),
                term(
                    today - chrono::Duration::days(400),
                    today - chrono::Duration::days(36),
                    SubscriptionStatus::Churned,
                ),
                &Actor::System("test"),
            )
            .await
            .unwrap();
        let mut b = Browser::new(&app);
        b.sign_in("viewer@example.com", PASSWORD).await;
        let (status, page) = b.get("/insight").await;
        assert_eq!(status, 200, "{page}");
        assert!(
            page.contains("NRR") && page.contains("Logo churn") && page.contains("insight-data")
        );
        // Definitions are one click away, in the user's language.
        assert!(page.contains("Net revenue retention"), "the NRR definition");
        let (status, page) = b.get("/insight?by=csm").await;
        assert_eq!(status, 200);
        assert!(
            page.contains("Team workload (today)") && page.contains("No owner"),
            "the team's books"
        );
        let (status, page) = b.get("/insight/renewals").await;
        assert_eq!(status, 200);
        assert!(page.contains("Renewing KK") && page.contains("Risk-weighted ARR"));
        let (status, page) = b.get("/insight/drivers?lead_days=30").await;
        assert_eq!(status, 200);
        assert!(page.contains("Churn drivers"));
        let (status, page) = b.get("/insight/prediction").await;
        assert_eq!(status, 200);
        assert!(page.contains("No churn model yet."));
        let (status, _) = b.get("/insight?from=2026-05-01&to=2026-01-01").await;
        assert_eq!(status, 422);
        let (status, _) = b.get("/insight/drivers?lead_days=0").await;
        assert_eq!(status, 422);
        let r = b.post("/settings/locale", &[("locale", "ja")], true).await;
        assert_eq!(r.status(), 303);
        let (_, page) = b.get("/insight").await;
        assert!(
            page.contains("インサイト")
                && page.contains("ロゴチャーン率")
                && page.contains("ネット収益維持率")
        );
        let (_, page) = b.get("/insight/renewals").await;
        assert!(page.contains("リスク加重 ARR"));
        app
    })
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn team_tabs_read_for_all_and_change_for_managers() {
    each_backend(|app, store| async move {
        let csm = user(&store, "csm@example.com", Role::Csm).await;
        user(&store, "viewer@example.com", Role::Viewer).await;
        user(&store, "manager@example.com", Role::Manager).await;
        account(&store, "Unowned Co", None).await;
        store.ensure_team_framework().await.unwrap();
        let skill = store.list_skills().await.unwrap()[0].id;
        let csm_id = csm.0.to_string();
        let skill_id = skill.to_string();
        let assessment = [
            ("user_id", csm_id.as_str()),
            ("skill_id", skill_id.as_str()),
            ("level", "3"),
            ("assessed_on", "2026-01-15"),
            ("note", "QBR went well"),
        ];

        // A viewer and a CSM read every tab but change nothing.
        for email in ["viewer@example.com", "csm@example.com"] {
            let mut b = Browser::new(&app);
            b.sign_in(email, PASSWORD).await;
            for path in [
                "/team",
                "/team/competency",
                "/team/ladder",
                "/team/incentives",
            ] {
                let (status, body) = b.get(path).await;
                assert_eq!(status, 200, "{email} {path}");
                assert!(body.contains("href=\"/team\""), "nav entry on {path}");
            }
            let (_, body) = b.get("/team").await;
            assert!(body.contains("1 accounts have no owner"), "{body}");
            let (_, body) = b.get("/team/competency").await;
            assert!(!body.contains("id=\"assess-form\""));
            let r = b.post("/team/assessments", &assessment, true).await;
            assert_eq!(r.status(), 403, "{email}");
            let r = b
                .post(
                    "/team/plans",
                    &[
                        ("name", "x"),
                        ("period_from", "2026-01-01"),
                        ("period_to", "2026-03-31"),
                    ],
                    true,
                )
                .await;
            assert_eq!(r.status(), 403, "{email}");
        }
        let none = store
            .assessments(kizuna_store::AssessmentFilter::default(), None, None)
            .await
            .unwrap();
        assert_eq!(none.total, 0);

        // A manager records an assessment (not without the CSRF token) and sees it.
        let mut b = Browser::new(&app);
        b.sign_in("manager@example.com", PASSWORD).await;
        let (_, body) = b.get(&format!("/team/competency?user={csm_id}")).await;
        assert!(body.contains("id=\"assess-form\""));
        let r = b.post("/team/assessments", &assessment, false).await;
        assert_eq!(r.status(), 403);
        let r = b.post("/team/assessments", &assessment, true).await;
        assert_eq!(r.status(), 303);
        assert_eq!(
            location(&r),
            format!("/team/competency?user={csm_id}#member-card")
        );
        let (_, body) = b.get(&format!("/team/competency?user={csm_id}")).await;
        assert!(body.contains("QBR went well"));
        // The heat map cell: first skill, first member, level 3.
        assert!(body.contains("\"cells\":[[0,0,3]]"), "{body}");
        let bad = [
            ("user_id", csm_id.as_str()),
            ("skill_id", skill_id.as_str()),
            ("level", "9"),
        ];
        let r = b.post("/team/assessments", &bad, true).await;
        assert_eq!(r.status(), 422);
        assert!(r.text().await.unwrap().contains("level"));

        // A plan, then the calculator lists the CSM.
        let (_, _) = b.get("/team/incentives").await;
        let r = b
            .post(
                "/team/plans",
                &[
                    ("name", "Q1"),
                    ("period_from", "2026-01-01"),
                    ("period_to", "2026-03-31"),
                    ("target_bonus", "300000"),
                    ("nps_gate", "30"),
                ],
                true,
            )
            .await;
        assert_eq!(r.status(), 303);
        let (status, body) = b.get(&location(&r)).await;
        assert_eq!(status, 200);
        assert!(body.contains("id=\"payout-table\"") && body.contains("csm user"));
        assert!(body.contains("NPS gate"));
        let r = b
            .post(
                "/team/plans",
                &[
                    ("name", "bad"),
                    ("period_from", "2026-04-01"),
                    ("period_to", "2026-01-01"),
                ],
                true,
            )
            .await;
        assert_eq!(r.status(), 422);
        app
    })
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn reports_run_for_everyone_and_save_by_role() {
    each_backend(|app, store| async move {
        let csm = user(&store, "csm@example.com", Role::Csm).await;
        user(&store, "csm2@example.com", Role::Csm).await;
        user(&store, "viewer@example.com", Role::Viewer).await;
        account(&store, "Kita Shoji", Some(csm)).await;
        account(&store, "Minami Kogyo", None).await;
        let definition = r#"{"subject":"accounts","columns":["name","owner"]}"#;

        // A viewer sees the shipped reports, runs a report and exports it, but saves nothing.
        let mut v = Browser::new(&app);
        assert_eq!(v.sign_in("viewer@example.com", PASSWORD).await.status(), 303);
        let (status, page) = v.get("/reports").await;
        assert_eq!(status, 200);
        assert!(page.contains("Renewals in the next 90 days") && page.contains("You have not saved a report yet."));
        let (status, page) = v.get("/reports/new?subject=accounts&col=name&col=owner&sort=name").await;
        assert_eq!(status, 200);
        assert!(page.contains("Kita Shoji") && page.contains("Minami Kogyo"));
        assert!(!page.contains("id=\"save-report\""), "no save form for a viewer");
        let r = v.post("/reports", &[("name", "Mine"), ("definition", definition)], true).await;
        assert_eq!(r.status(), 403);
        let (status, csv) = v.get("/reports/export.csv?subject=accounts&col=name&f_field=name&f_op=contains&f_value=kita").await;
        assert_eq!(status, 200);
        assert_eq!(csv, "\u{feff}Name\r\nKita Shoji\r\n");
        // A bad definition names its field and runs nothing.
        let (status, page) = v.get("/reports/new?subject=accounts&col=name&f_field=arr&f_op=gt&f_value=lots").await;
        assert_eq!(status, 200);
        assert!(page.contains("filters[0].value") && !page.contains("id=\"report-table\""));
        let (status, _) = v.get("/reports/export.csv?subject=accounts&col=name&f_field=arr&f_op=gt&f_value=lots").await;
        assert_eq!(status, 422);

        // A CSM saves a private report; another CSM neither sees nor changes it.
        let mut c = Browser::new(&app);
        assert_eq!(c.sign_in("csm@example.com", PASSWORD).await.status(), 303);
        c.get("/reports/new").await;
        let r = c.post("/reports", &[("name", "My book"), ("definition", definition)], true).await;
        assert_eq!(r.status(), 303);
        let location = r.headers()[LOCATION].to_str().unwrap().to_string();
        let (status, page) = c.get(&location).await;
        assert_eq!(status, 200);
        assert!(page.contains("My book") && page.contains("Kita Shoji"));
        let (_, page) = c.get("/reports").await;
        assert!(page.contains("My book"));

        let mut other = Browser::new(&app);
        assert_eq!(other.sign_in("csm2@example.com", PASSWORD).await.status(), 303);
        let (status, _) = other.get(&location).await;
        assert_eq!(status, 404);
        other.get("/reports").await;
        let r = other.post(&location, &[("name", "Taken"), ("definition", definition), ("shared", "1")], true).await;
        assert_eq!(r.status(), 404);

        // Shared, the other CSM sees it but still may not change it.
        c.get(&location).await;
        let r = c.post(&location, &[("name", "Our book"), ("definition", definition), ("shared", "1")], true).await;
        assert_eq!(r.status(), 303);
        let (status, page) = other.get(&location).await;
        assert_eq!(status, 200);
        assert!(page.contains("Our book") && !page.contains("id=\"update-report\""));
        let r = other.post(&location, &[("name", "Taken"), ("definition", definition), ("shared", "1")], true).await;
        assert_eq!(r.status(), 403);
        let r = other.post(&format!("{location}/delete"), &[], true).await;
        assert_eq!(r.status(), 403);
        let r = c.post(&format!("{location}/delete"), &[], true).await;
        assert_eq!(r.status(), 303);
        let (status, _) = c.get(&location).await;
        assert_eq!(status, 404);
        app
    })
    .await;
}
