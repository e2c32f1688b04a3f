use reqwest::Method;

use crate::helpers::on_each_backend;

#[tokio::test]
async fn csv_import_over_http() {
    on_each_backend(|app| async move {
        let csv = "取引先ID,取引先名,従業員数\r\nH-1,株式会社ひかり,100\r\nH-2,,50\r\nH-3,あおば商事,30\r\n";
        let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode(csv);
        let send = |token: String, partial: bool, body: Vec<u8>| {
            let url = app.url(&format!("/api/v1/import/accounts?partial={partial}"));
            let client = app.client.clone();
            async move { client.post(url).bearer_auth(token).header("content-type", "text/csv").body(body).send().await.unwrap() }
        };
        let r = send(app.read.clone(), false, sjis.to_vec()).await;
        assert_eq!(r.status(), 403);
        let r = send(app.write.clone(), false, sjis.to_vec()).await;
        assert_eq!(r.status(), 422);
        let report: serde_json::Value = r.json().await.unwrap();
        assert_eq!(report["committed"], false);
        assert_eq!(report["encoding"], "Shift_JIS");
        assert_eq!(report["errors"][0]["line"], 3);
        assert_eq!(report["errors"][0]["field"], "name");
        let r = send(app.write.clone(), true, sjis.to_vec()).await;
        assert_eq!(r.status(), 200);
        let report: serde_json::Value = r.json().await.unwrap();
        assert_eq!((report["inserted"].as_u64(), report["rejected"].as_u64()), (Some(2), Some(1)));
        let a = app.get_json("/api/v1/accounts/by-external-id/H-3").await;
        assert_eq!(a["name"], "あおば商事");
        let r = app.request(Method::POST, "/api/v1/import/widgets", &app.write).body("a,b\n").send().await.unwrap();
        assert_eq!(r.status(), 400);
        app
    })
    .await;
}
