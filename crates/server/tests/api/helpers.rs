use kizuna_domain::token::TokenScope;
use kizuna_server::{Application, Config};
use kizuna_store::testing::{self, TestDb};
use kizuna_store::Actor;
use reqwest::{Client, Method, RequestBuilder, Response};
use serde_json::Value;

pub struct TestApp {
    pub base: String,
    pub client: Client,
    pub read: String,
    pub write: String,
    pub admin: String,
    pub backend: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    db: Option<TestDb>,
}

impl TestApp {
    /// The database the server runs on, for tests that load data beside it.
    pub fn database_url(&self) -> String {
        self.db.as_ref().map(|d| d.url.clone()).unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn request(&self, method: Method, path: &str, token: &str) -> RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(token)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path, &self.read)
            .send()
            .await
            .unwrap()
    }

    pub async fn get_json(&self, path: &str) -> Value {
        let r = self.get(path).await;
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().await.unwrap()
    }

    pub async fn send(&self, method: Method, path: &str, body: Value) -> Response {
        self.request(method, path, &self.write)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// Sends and checks the status, returning the JSON body.
    pub async fn expect(&self, method: Method, path: &str, body: Value, status: u16) -> Value {
        let r = self.send(method.clone(), path, body).await;
        let got = r.status().as_u16();
        let text = r.text().await.unwrap();
        assert_eq!(got, status, "{method} {path} on {}: {text}", self.backend);
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        if let Some(db) = self.db.take() {
            db.cleanup().await;
        }
    }
}

pub async fn spawn_app(db: TestDb) -> TestApp {
    // The scheduler stays off unless a test asks for it: its jobs would change data under
    // tests that do not expect them.
    spawn_app_with(db, |c| c.automation.scheduler = false).await
}

/// Like [`spawn_app`], with the configuration adjusted first.
pub async fn spawn_app_with(db: TestDb, adjust: impl FnOnce(&mut Config)) -> TestApp {
    let store = db.store.clone();
    let backend = store.backend().to_string();
    let token = |scope| {
        let store = store.clone();
        async move {
            store
                .issue_token("test", scope, &Actor::System("test"))
                .await
                .unwrap()
                .secret
        }
    };
    let (read, write, admin) = (
        token(TokenScope::Read).await,
        token(TokenScope::Write).await,
        token(TokenScope::Admin).await,
    );
    let mut config = Config {
        listen: "127.0.0.1:0".into(),
        database_url: db.url.clone(),
        ..Config::default()
    };
    adjust(&mut config);
    let app = Application::with_store(config, store).await.unwrap();
    let base = format!("http://{}", app.local_addr());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        app.run_until(async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    TestApp {
        base,
        client: Client::new(),
        read,
        write,
        admin,
        backend,
        shutdown: Some(tx),
        server: Some(server),
        db: Some(db),
    }
}

/// Runs `check` against a fresh server on every reachable backend.
pub async fn on_each_backend<F, Fut>(check: F)
where
    F: Fn(TestApp) -> Fut,
    Fut: std::future::Future<Output = TestApp>,
{
    for db in testing::all().await {
        let app = spawn_app(db).await;
        let app = check(app).await;
        app.stop().await;
    }
}

/// Like [`on_each_backend`], with the configuration adjusted first.
pub async fn on_each_backend_with<A, F, Fut>(adjust: A, check: F)
where
    A: Fn(&mut Config),
    F: Fn(TestApp) -> Fut,
    Fut: std::future::Future<Output = TestApp>,
{
    for db in testing::all().await {
        let app = spawn_app_with(db, &adjust).await;
        let app = check(app).await;
        app.stop().await;
    }
}
