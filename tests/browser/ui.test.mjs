// Browser tests of the web UI, run by scripts/browser-test against `kizuna serve --demo`.
// Headless Chromium from Debian's packages, driven by playwright-core (no bundled browser).
//
// Environment: KIZUNA_URL (the server), KIZUNA_ADMIN_EMAIL / KIZUNA_ADMIN_PASSWORD (the first
// admin's log-in), SCREENSHOT_DIR (where the screenshots of each page in both languages go).

import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const BASE = process.env.KIZUNA_URL ?? "http://127.0.0.1:8080";
const ADMIN_EMAIL = process.env.KIZUNA_ADMIN_EMAIL ?? "admin@kizuna.local";
const ADMIN_PASSWORD = process.env.KIZUNA_ADMIN_PASSWORD;
const SHOTS = process.env.SCREENSHOT_DIR ?? "target/browser-screenshots";
const DEMO_CSM = process.env.KIZUNA_DEMO_CSM; // printed by `serve --demo`; same password as the admin
const VIEWER_EMAIL = `viewer-${Date.now()}@example.com`;
const VIEWER_PASSWORD = "viewer-password-1";

mkdirSync(SHOTS, { recursive: true });

let browser;
let admin; // page of the admin's context (Japanese browser)
let accountPath; // a Customer 360 the tests share
const scriptErrors = []; // uncaught errors and CSP refusals on any page

async function shot(page, name) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

async function signIn(page, email, password) {
  await page.goto(`${BASE}/`);
  assert.match(page.url(), /\/signin/, "a signed-out visitor is sent to the sign-in page");
  await page.fill("input[name=email]", email);
  await page.fill("input[name=password]", password);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith("/signin")), page.click("button[type=submit]")]);
}

/** Sets the signed-in user's language through the switch in the header, if it differs. */
async function useLanguage(page, lang) {
  if ((await page.getAttribute("html", "lang")) === lang) return;
  await Promise.all([page.waitForNavigation(), page.selectOption("header select[name=locale]", lang)]);
  assert.equal(await page.getAttribute("html", "lang"), lang);
}

/** Waits until htmx has settled the swap it is doing. */
async function htmxSettled(page) {
  await page.waitForFunction(() => !document.querySelector(".htmx-request"));
}

describe("Kizuna web UI", () => {
  before(async () => {
    assert.ok(ADMIN_PASSWORD, "set KIZUNA_ADMIN_PASSWORD");
    browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: ["--no-sandbox"] });
    const ctx = await browser.newContext({ locale: "ja-JP", viewport: { width: 1360, height: 900 } });
    admin = await ctx.newPage();
    admin.on("pageerror", (e) => scriptErrors.push(e.message));
    admin.on("console", (m) => {
      if (m.type() === "error" && /Content Security Policy|Refused/.test(m.text())) scriptErrors.push(m.text());
    });
  });

  after(async () => {
    await browser?.close();
  });

  test("a wrong password is refused, in the browser's language (Japanese)", async () => {
    await admin.goto(`${BASE}/signin`);
    assert.equal(await admin.getAttribute("html", "lang"), "ja");
    await shot(admin, "signin-ja");
    await admin.fill("input[name=email]", ADMIN_EMAIL);
    await admin.fill("input[name=password]", "not the password");
    await admin.click("button[type=submit]");
    await admin.waitForSelector(".flash.error");
    assert.match(await admin.textContent(".flash.error"), /一致しません/);
  });

  test("the admin signs in and sees the portfolio", async () => {
    await signIn(admin, ADMIN_EMAIL, ADMIN_PASSWORD);
    assert.equal(new URL(admin.url()).pathname, "/");
    await useLanguage(admin, "ja");
    assert.equal(await admin.textContent("h1"), "ポートフォリオ");
    assert.ok(await admin.isVisible(".bands"), "accounts by health band");
    await shot(admin, "portfolio-ja");
  });

  test("filtering the accounts table narrows it and keeps the filter in the address", async () => {
    await admin.goto(`${BASE}/accounts`);
    const totalText = async () => (await admin.textContent(".pager .count")).trim();
    const before = await totalText();
    await admin.selectOption("select[name=tier]", "high_touch");
    await admin.waitForURL(/tier=high_touch/);
    await htmxSettled(admin);
    const after = await totalText();
    assert.notEqual(after, before, "the count changes");
    const tiers = await admin.$$eval("table.accounts tbody tr td:nth-child(7)", (tds) => tds.map((td) => td.textContent.trim()));
    assert.ok(tiers.length > 0, "some high-touch accounts");
    assert.ok(tiers.every((t) => t === "ハイタッチ"), `every row is high touch: ${tiers}`);
    await admin.click("a.sort:has-text('ARR')");
    await admin.waitForURL(/sort=arr/);
    await htmxSettled(admin);
    // A second click sorts the other way: biggest first.
    await admin.click("a.sort:has-text('ARR')");
    await admin.waitForURL(/sort=-arr/);
    await htmxSettled(admin);
    const arrs = await admin.$$eval("table.accounts tbody tr td:nth-child(3)", (tds) => tds.map((td) => Number(td.textContent.replace(/[^0-9]/g, ""))));
    assert.ok(arrs.every((v, n) => n === 0 || arrs[n - 1] >= v), `ARR descends: ${arrs}`);
    await shot(admin, "accounts-ja");
    // Free text narrows to the rows whose name matches.
    const firstName = (await admin.textContent("table.accounts tbody tr td a")).trim();
    await admin.fill("input[name=q]", firstName);
    await admin.waitForURL(/q=/);
    await htmxSettled(admin);
    const names = await admin.$$eval("table.accounts tbody tr td:first-child", (tds) => tds.map((td) => td.textContent.trim()));
    assert.ok(names.includes(firstName), `search finds ${firstName}`);
    accountPath = new URL(await admin.getAttribute("table.accounts tbody tr td a", "href"), BASE).pathname;
  });

  test("the CSV export is UTF-8 with a byte-order mark", async () => {
    const resp = await admin.request.get(`${BASE}/accounts/export.csv?tier=high_touch`);
    assert.equal(resp.status(), 200);
    const body = await resp.body();
    assert.deepEqual([...body.subarray(0, 3)], [0xef, 0xbb, 0xbf]);
    assert.match(body.toString("utf8"), /アカウント/);
  });

  test("a Customer 360 shows the header figures and the usage charts", async () => {
    await admin.goto(`${BASE}${accountPath}`);
    assert.ok(await admin.isVisible(".kpis"));
    assert.match(await admin.textContent(".kpis"), /ARR/);
    await admin.waitForSelector("#usage-chart canvas");
    await admin.waitForSelector("#users-chart canvas");
    assert.ok(await admin.isVisible("#journey ol.milestones li"), "the onboarding journey's milestones");
    await shot(admin, "account-ja");
  });

  test("the health explanation opens from the Customer 360", async () => {
    await Promise.all([admin.waitForURL(/\/health$/), admin.click("#health-link")]);
    assert.match(await admin.textContent("h1"), /ヘルス/);
    assert.ok((await admin.$("table.explain")) || (await admin.$(".empty")), "measures, or what to do when there is no score");
    await shot(admin, "health-ja");
    await admin.goto(`${BASE}${accountPath}`);
  });

  test("champions are ranked on the Customer 360, and a business review is written, printed and downloaded as PDF", async () => {
    await admin.goto(`${BASE}${accountPath}`);
    assert.ok(await admin.isVisible("#champions"), "the champions card");
    assert.match(await admin.textContent("#champions h2"), /チャンピオン/);
    await Promise.all([admin.waitForURL(/\/reviews$/), admin.click("#reviews-link")]);
    assert.match(await admin.textContent("h1"), /ビジネスレビュー/);
    await admin.fill("#new-review textarea[name=goals]", "レポート機能を全社に展開する\n問い合わせを減らす");
    await admin.fill("#new-review textarea[name=value_delivered]", "月次報告の作成時間を半減");
    await admin.fill("#new-review textarea[name=next_steps]", "経営会議で成果を共有する");
    await Promise.all([admin.waitForURL(/\/reviews\/\d+$/), admin.click("#new-review button[type=submit]")]);
    const reviewPath = new URL(admin.url()).pathname;
    await admin.waitForSelector("#review-usage canvas, article.review p");
    const text = await admin.textContent("article.review");
    assert.match(text, /目標/);
    assert.match(text, /レポート機能を全社に展開する/);
    assert.match(text, /サポート/);
    await shot(admin, "review-ja");
    // The PDF link downloads a PDF in the document's language.
    const [download] = await Promise.all([admin.waitForEvent("download"), admin.click("a.button[download]")]);
    assert.match(download.suggestedFilename(), /^review-\d+-\d+-ja\.pdf$/);
    const pdf = await admin.request.get(`${BASE}${reviewPath}/pdf?lang=en`);
    assert.equal(pdf.status(), 200);
    assert.equal(pdf.headers()["content-type"], "application/pdf");
    assert.ok((await pdf.body()).subarray(0, 5).toString() === "%PDF-");
    // The same review in English, whatever the reader's language.
    await admin.goto(`${BASE}${reviewPath}?lang=en`);
    assert.match(await admin.textContent("article.review"), /Next steps/);
    await shot(admin, "review-en");
    await admin.goto(`${BASE}${accountPath}`);
  });

  test("a logged touchpoint appears on the timeline", async () => {
    const subject = `ブラウザテストの電話 ${Date.now()}`;
    await admin.selectOption("#log select[name=kind]", "call");
    await admin.fill("#log input[name=subject]", subject);
    await admin.fill("#log textarea[name=notes]", "更新の相談");
    await admin.click("#log button[type=submit]");
    await admin.waitForSelector(`#timeline .moment:has-text("${subject}")`);
    assert.ok(await admin.isVisible("#timeline .flash.ok"));
    assert.equal(await admin.inputValue("#log input[name=subject]"), "", "the form is emptied for the next one");
    await admin.reload();
    assert.ok(await admin.isVisible(`#timeline .moment:has-text("${subject}")`), "still there after a reload");
  });

  test("the admin creates a viewer in the settings", async () => {
    await admin.goto(`${BASE}/settings/users`);
    await admin.fill("input[name=name]", "閲覧 太郎");
    await admin.fill("input[name=email]", VIEWER_EMAIL);
    await admin.selectOption("form.stack select[name=role]", "viewer");
    await admin.selectOption("form.stack select[name=locale]", "en");
    await admin.fill("input[name=password]", VIEWER_PASSWORD);
    await admin.click("form.stack button[type=submit]");
    await admin.waitForSelector(".flash.ok");
    assert.match(await admin.textContent("table.list"), new RegExp(VIEWER_EMAIL));
    await shot(admin, "settings-users-ja");
    await admin.goto(`${BASE}/settings/tokens`);
    await shot(admin, "settings-tokens-ja");
    await admin.goto(`${BASE}/settings/features`);
    await shot(admin, "settings-features-ja");
  });

  test("a scorecard change is previewed before it is saved", async () => {
    await admin.goto(`${BASE}/settings/scorecards`);
    const toml = await admin.inputValue("#scorecard textarea");
    assert.match(toml, /\[\[bands\]\]|bands/);
    await admin.click("#scorecard button[hx-post]");
    await admin.waitForSelector("#scorecard-preview .flash.ok");
    assert.match(await admin.textContent("#scorecard-preview"), /件のアカウントに適用され、0件の帯が変わります/);
    await admin.fill("#scorecard textarea", toml.replace(/max = 40\b/, "max = 75").replace(/min = 41\b/, "min = 76").replace(/max = 70\b/, "max = 85").replace(/min = 71\b/, "min = 86"));
    await admin.click("#scorecard button[hx-post]");
    // The first preview's answer is still on the page until htmx swaps in the second.
    await admin.waitForFunction(() => {
      const f = document.querySelector("#scorecard-preview .flash");
      return f && !/、0件の帯が変わります/.test(f.textContent);
    });
    await shot(admin, "settings-scorecards-ja");
  });

  test("a segment is previewed and saved in the settings, beside the journeys", async () => {
    await admin.goto(`${BASE}/settings/segments`);
    assert.ok(await admin.isVisible("#journeys table.list"), "the shipped onboarding journey");
    await admin.fill("#segments input[name=name]", "ハイタッチ赤");
    await admin.fill("#segments textarea[name=expression]", "coverage_tier == 'high_touch' && health_band == 'red'");
    await admin.click("#segments button[hx-post]");
    await admin.waitForSelector("#segment-preview .flash.ok");
    assert.match(await admin.textContent("#segment-preview"), /件中\s*[0-9,]+件のアカウント/);
    await Promise.all([admin.waitForURL(/\/settings\/segments$/), admin.click("#segments button:not([hx-post])")]);
    assert.match(await admin.textContent("#segments table.list"), /ハイタッチ赤/);
    await shot(admin, "settings-segments-ja");
  });

  test("an admin writes a new journey, changes it and deletes it in the settings", async () => {
    await admin.goto(`${BASE}/settings/segments`);
    await Promise.all([admin.waitForURL(/new_journey=1/), admin.click("#journeys a.button")]);
    const spec = await admin.inputValue("#editor textarea[name=spec]");
    assert.match(spec, /Enterprise onboarding/, "the editor starts from an example");
    await Promise.all([admin.waitForURL(/\/settings\/segments/), admin.click("#editor button[type=submit]")]);
    const journey = admin.locator("#journeys details", { hasText: "Enterprise onboarding" });
    assert.equal(await journey.count(), 1, "the new journey is listed");
    assert.match(await journey.textContent(), /breadth >= 0.3/);
    await shot(admin, "settings-journeys-ja");
    // A bad milestone stage is refused with the field named; the journey stays as it was.
    await Promise.all([admin.waitForURL(/edit_journey=\d+/), journey.locator("a.small").click()]);
    const edited = (await admin.inputValue("#editor textarea[name=spec]")).replace("Enterprise onboarding", "大口顧客オンボーディング");
    await admin.fill("#editor textarea[name=spec]", edited);
    await Promise.all([admin.waitForURL(/\/settings\/segments/), admin.click("#editor button[type=submit]")]);
    const renamed = admin.locator("#journeys details", { hasText: "大口顧客オンボーディング" });
    assert.equal(await renamed.count(), 1, "the change is saved");
    await Promise.all([admin.waitForURL(/edit_journey=\d+/), renamed.locator("a.small").click()]);
    await admin.fill("#editor textarea[name=spec]", edited.replace('"adoption"', '"nowhere"'));
    const refused = await Promise.all([admin.waitForNavigation(), admin.click("#editor button[type=submit]")]);
    assert.equal(refused[0].status(), 422);
    assert.match(await admin.textContent("main"), /nowhere|stage/);
    await admin.goto(`${BASE}/settings/segments`);
    await Promise.all([admin.waitForURL(/edit_journey=\d+/), admin.locator("#journeys details", { hasText: "大口顧客オンボーディング" }).locator("a.small").click()]);
    await Promise.all([admin.waitForURL(/\/settings\/segments/), admin.click("form:has(button.danger) button.danger")]);
    assert.equal(await admin.locator("#journeys details", { hasText: "大口顧客オンボーディング" }).count(), 0, "deleted");
  });

  test("the task cockpit lists what the rules raised, and a task closes with an outcome", async () => {
    // The scheduler runs the daily rules when the server starts; give it a moment on a slow machine.
    for (let i = 0; i < 40; i++) {
      await admin.goto(`${BASE}/tasks?scope=all`);
      if (await admin.$("table.tasks tbody tr")) break;
      await admin.waitForTimeout(500);
    }
    assert.ok(await admin.$("table.tasks tbody tr"), "the shipped rules raised tasks on the demo data");
    assert.equal(await admin.textContent(".mainnav a.current"), "タスク");
    await shot(admin, "tasks-ja");
    const row = admin.locator("table.tasks tbody tr").first();
    const title = (await row.locator("td").nth(2).innerText()).split("\n")[0];
    await row.locator("details.actions summary").click();
    await row.locator("select[name=outcome]").selectOption("resolved");
    await Promise.all([admin.waitForURL(/\/tasks/), row.locator("button", { hasText: "完了" }).click()]);
    await admin.goto(`${BASE}/tasks?scope=all&view=closed`);
    assert.match(await admin.textContent("table.tasks"), new RegExp(title.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
    assert.match(await admin.textContent("table.tasks"), /解決/);
  });

  test("engagement coverage per CSM, and the cadence an admin edits", async () => {
    await admin.goto(`${BASE}/tasks/coverage`);
    assert.ok(await admin.isVisible("#coverage table.list"), "the demo's CSMs and their coverage");
    const cadence = JSON.parse(await admin.inputValue("#cadence textarea"));
    cadence.tiers.high_touch.qbr = 120;
    await admin.fill("#cadence textarea", JSON.stringify(cadence, null, 2));
    await Promise.all([admin.waitForURL(/\/tasks\/coverage/), admin.click("#cadence button[type=submit]")]);
    assert.equal(JSON.parse(await admin.inputValue("#cadence textarea")).tiers.high_touch.qbr, 120);
    await shot(admin, "tasks-coverage-ja");
  });

  test("the rule editor previews which accounts a rule matches, without acting", async () => {
    await admin.goto(`${BASE}/automation?new=1`);
    await admin.click("#editor button[hx-post]");
    await admin.waitForSelector("#preview .flash.ok");
    assert.match(await admin.textContent("#preview"), /件中\s*[0-9,]+件のアカウント/);
    await shot(admin, "automation-rules-ja");
    // A condition with a typo is refused with its reason.
    const spec = await admin.inputValue("#editor textarea");
    await admin.fill("#editor textarea", spec.replace("adoption_index", "adoptoin_index"));
    await admin.click("#editor button[hx-post]");
    await admin.waitForSelector("#preview .flash.error");
    assert.match(await admin.textContent("#preview"), /unknown field `adoptoin_index`/);
    await admin.goto(`${BASE}/automation/email?template=renewal_notice`);
    await admin.selectOption("#editor select[name=preview_locale]", "en");
    await admin.click("#editor button[hx-post]");
    await admin.waitForSelector("#template-preview .mailpreview");
    assert.match(await admin.textContent("#template-preview"), /your renewal on/);
    await shot(admin, "automation-template-ja");
    for (const tab of ["playbooks", "email", "webhooks", "jobs"]) {
      await admin.goto(`${BASE}/automation/${tab}`);
      await shot(admin, `automation-${tab}-ja`);
    }
    assert.match(await admin.textContent("table.list"), /rules\.daily/);
  });

  test("an admin writes a new playbook in the editor", async () => {
    await admin.goto(`${BASE}/automation/playbooks?new=1`);
    await Promise.all([admin.waitForURL(/\/automation\/playbooks$/), admin.click("#editor button[type=submit]")]);
    assert.match(await admin.textContent("body"), /活用促進/);
  });

  test("an NPS survey is sent, answered once on a phone, and counted", async () => {
    await admin.goto(`${BASE}/automation/nps`);
    await admin.selectOption("select[name=lifecycle_stage]", "onboarding");
    await Promise.all([admin.waitForURL(/\/automation\/nps$/), admin.click("form.stack button[type=submit]")]);
    await admin.goto(`${BASE}/automation/email`);
    const body = await admin.locator("pre.mailbody", { hasText: "/s/" }).first().textContent();
    const link = body.match(/https?:\/\/\S+\/s\/\S+/)[0];
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: "ja-JP", isMobile: true });
    const p = await phone.newPage();
    await p.goto(link.replace(/^https?:\/\/[^/]+/, BASE));
    assert.ok(await p.isVisible("fieldset.scale"));
    await shot(p, "survey-phone");
    await p.click(".scale-option:has(input[value='3'])");
    await p.fill("textarea[name=comment]", "サポートの返信が遅い");
    await p.click("button[type=submit]");
    await p.waitForSelector(".flash.ok");
    await shot(p, "survey-thanks");
    await p.reload();
    assert.ok(await p.isVisible(".flash.ok"), "answered once: the form does not come back");
    await phone.close();
    await admin.goto(`${BASE}/automation/nps`);
    await admin.waitForSelector("[data-combo-chart] canvas");
    await shot(admin, "automation-nps-ja");
  });

  test("the insight pages draw their charts and open their definitions (Japanese)", async () => {
    await admin.goto(`${BASE}/insight`);
    assert.match(await admin.textContent("h1"), /ダッシュボード/);
    await admin.waitForSelector("#insight-trend-chart canvas");
    // A figure's definition is one click away.
    const def = admin.locator(".kpi details.def").first();
    await def.locator("summary").click();
    assert.ok(await def.locator("p").isVisible());
    await shot(admin, "insight-dashboard-ja");
    await admin.goto(`${BASE}/insight?by=csm`);
    assert.match(await admin.textContent("section.card:last-of-type thead"), /CSM/);
    // A standard period is one click away; a segment narrows every figure.
    await admin.click("nav.presets a:has-text('前四半期')");
    assert.match(await admin.textContent("nav.presets a.current"), /前四半期/);
    await admin.selectOption("form.filters select[name=segment]", "enterprise");
    await admin.click("form.filters button[type=submit]");
    assert.match(admin.url(), /segment=enterprise/);
    assert.equal(await admin.inputValue("form.filters select[name=segment]"), "enterprise");
    assert.match(await admin.textContent("nav.presets a.current"), /前四半期/, "the same period, now as dates");
    assert.ok((await admin.isVisible(".kpis")) || (await admin.isVisible(".empty")));
    await shot(admin, "insight-dashboard-segment-ja");
    await admin.goto(`${BASE}/insight/renewals`);
    await admin.waitForSelector("#renewal-chart canvas");
    assert.match(await admin.textContent("main"), /リスク加重 ARR/);
    await shot(admin, "insight-renewals-ja");
    await admin.goto(`${BASE}/insight/drivers`);
    await admin.waitForSelector("#drivers-chart canvas");
    assert.match(await admin.textContent("table.list tbody"), /イベント数|アダプション/);
    await shot(admin, "insight-drivers-ja");
    await admin.goto(`${BASE}/insight/prediction`);
    assert.ok((await admin.$("#calibration-chart")) || (await admin.$(".empty")), "a model's validation, or what to do without one");
    await shot(admin, "insight-prediction-ja");
  });

  test("the team page: every tab in Japanese, an assessment recorded, the radar and heat map redrawn", async () => {
    await admin.goto(`${BASE}/team`);
    assert.equal(await admin.textContent(".mainnav a.current"), "チーム");
    assert.match(await admin.textContent("h1"), /チーム/);
    await admin.waitForSelector("#team-workload-chart canvas");
    assert.match(await admin.textContent("#workload-table thead"), /期限切れタスク/);
    assert.match(await admin.textContent("#workload-table tbody"), /¥[0-9]{1,3}(,[0-9]{3})*/);
    await shot(admin, "team-workload-ja");

    await admin.click("nav.tabs a[href='/team/competency']");
    await admin.waitForSelector("#team-heatmap canvas");
    await admin.waitForSelector("#team-radar canvas");
    const skill = await admin.getAttribute("#assess-form select[name=skill_id] option:nth-child(2)", "value");
    const skillName = (await admin.textContent("#assess-form select[name=skill_id] option:nth-child(2)")).trim();
    await admin.selectOption("#assess-form select[name=skill_id]", skill);
    await admin.selectOption("#assess-form select[name=level]", "4");
    await admin.fill("#assess-form input[name=note]", "ブラウザテストの評価");
    await Promise.all([admin.waitForNavigation(), admin.click("#assess-form button[type=submit]")]);
    assert.match(await admin.textContent("#history tbody tr:first-child"), /ブラウザテストの評価/);
    const row = admin.locator("#standings tbody tr", { hasText: skillName });
    assert.match(await row.textContent(), /4 · 指導/);
    await admin.waitForSelector("#team-radar canvas");
    // The heat map's data now holds the new level for that member and skill.
    const heat = JSON.parse(await admin.textContent("#team-heatmap-data"));
    const radar = JSON.parse(await admin.textContent("#team-radar-data"));
    const col = heat.skills.indexOf(skillName);
    assert.ok(col >= 0, "the skill is a column of the heat map");
    assert.equal(radar.current[col], 4);
    assert.ok(heat.cells.some((c) => c[0] === col && c[2] === 4));
    await admin.evaluate(() => window.scrollTo(0, 0));
    await shot(admin, "team-competency-ja");

    await admin.click("nav.tabs a[href='/team/ladder']");
    assert.match(await admin.textContent("#ladder-members thead"), /準備度/);
    assert.match(await admin.textContent("#ladder-levels thead"), /シニアCSM/);
    await shot(admin, "team-ladder-ja");

    await admin.click("nav.tabs a[href='/team/incentives']");
    await admin.waitForSelector("#payout-table");
    assert.match(await admin.textContent("#formula"), /NPSがゲート以上/);
    assert.ok((await admin.locator("#payout-table tbody tr").count()) > 0, "one row per CSM");
    await shot(admin, "team-incentives-ja");
  });

  test("a report is built in Japanese, drawn as a table and a chart, saved, shared and downloaded as CSV", async () => {
    await admin.goto(`${BASE}/reports`);
    assert.equal(await admin.textContent(".mainnav a.current"), "レポート");
    assert.match(await admin.textContent("main"), /今後90日の更新/);
    await shot(admin, "reports-list-ja");
    await Promise.all([admin.waitForURL(/\/reports\/new/), admin.click("main a[href='/reports/new']")]);
    // Live accounts by segment and health band: ARR summed, accounts counted, drawn as bars.
    await admin.locator("select[name=f_field]").first().selectOption("lifecycle_stage");
    await admin.locator("select[name=f_op]").first().selectOption("ne");
    await admin.locator("input[name=f_value]").first().fill("churned");
    await admin.selectOption("select[name=g1]", "segment");
    await admin.selectOption("select[name=g2]", "health_band");
    await admin.check("input[name=agg][value='sum:arr']");
    await admin.check("input[name=agg][value=count]");
    await admin.selectOption("select[name=chart]", "bar");
    await Promise.all([admin.waitForURL(/g1=segment/), admin.click("#run-report")]);
    await admin.waitForSelector("#report-chart canvas");
    const head = await admin.textContent("#report-table thead");
    assert.match(head, /セグメント/);
    assert.match(head, /ARRの合計/);
    const rows = await admin.textContent("#report-table tbody");
    assert.match(rows, /エンタープライズ/);
    assert.match(rows, /¥[0-9]{1,3}(,[0-9]{3})+/);
    await shot(admin, "reports-builder-ja");
    // Saved and shared, it opens at its own address with the same result.
    await admin.fill("#save-report input[name=name]", "セグメント別ARR（ブラウザテスト）");
    await admin.check("#save-report input[name=shared]");
    await Promise.all([admin.waitForURL(/\/reports\/\d+$/), admin.click("#save-report button[type=submit]")]);
    assert.match(await admin.textContent("h1"), /セグメント別ARR（ブラウザテスト）/);
    await admin.waitForSelector("#report-chart canvas");
    assert.equal(await admin.textContent("#report-table tbody"), rows);
    // The CSV download: a byte-order mark, then the Japanese header.
    const [download] = await Promise.all([admin.waitForEvent("download"), admin.click("#report-csv")]);
    const csv = readFileSync(await download.path());
    assert.deepEqual([...csv.subarray(0, 3)], [0xef, 0xbb, 0xbf]);
    assert.match(csv.toString("utf8"), /^\ufeffセグメント,ヘルス帯,件数,ARRの合計,通貨\r\n/);
    assert.ok(csv.toString("utf8").split("\r\n").length > 3, "a row per group");
    await admin.goto(`${BASE}/reports`);
    assert.match(await admin.textContent("main"), /セグメント別ARR（ブラウザテスト）/);
  });

  test("switching the language to English changes every label and format", async () => {
    await admin.goto(`${BASE}/`);
    await useLanguage(admin, "en");
    assert.equal(await admin.textContent("h1"), "Portfolio");
    assert.equal(await admin.textContent(".mainnav a.current"), "My portfolio");
    await shot(admin, "portfolio-en");
    await admin.goto(`${BASE}/accounts?tier=high_touch&sort=-arr`);
    assert.match(await admin.textContent("table.accounts tbody"), /High touch/);
    assert.match(await admin.textContent("table.accounts tbody"), /[¥$][0-9]{1,3}(,[0-9]{3})*/);
    await shot(admin, "accounts-en");
    await admin.goto(`${BASE}${accountPath}`);
    await admin.waitForSelector("#usage-chart canvas");
    assert.match(await admin.textContent(".kpis"), /(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{1,2}, \d{4}|—/);
    await shot(admin, "account-en");
    await admin.goto(`${BASE}/insight`);
    await admin.waitForSelector("#insight-trend-chart canvas");
    assert.match(await admin.textContent(".kpis"), /Logo churn/);
    await shot(admin, "insight-dashboard-en");
    await admin.goto(`${BASE}/insight/drivers`);
    await admin.waitForSelector("#drivers-chart canvas");
    assert.match(await admin.textContent("table.list thead"), /Separation/);
    await shot(admin, "insight-drivers-en");
    for (const tab of ["users", "tokens", "features", "scorecards", "segments"]) {
      await admin.goto(`${BASE}/settings/${tab}`);
      await shot(admin, `settings-${tab}-en`);
    }
    await admin.goto(`${BASE}/tasks?scope=all`);
    assert.equal(await admin.textContent(".mainnav a.current"), "Tasks");
    await shot(admin, "tasks-en");
    for (const tab of ["", "/playbooks", "/email", "/jobs", "/nps"]) {
      await admin.goto(`${BASE}/automation${tab}`);
      await shot(admin, `automation${tab.replace("/", "-") || "-rules"}-en`);
    }
    await admin.goto(`${BASE}/team`);
    assert.equal(await admin.textContent(".mainnav a.current"), "Team");
    await admin.waitForSelector("#team-workload-chart canvas");
    assert.match(await admin.textContent("#workload-table thead"), /Overdue tasks/);
    await shot(admin, "team-workload-en");
    await admin.goto(`${BASE}/team/competency`);
    await admin.waitForSelector("#team-heatmap canvas");
    await admin.waitForSelector("#team-radar canvas");
    await shot(admin, "team-competency-en");
    await admin.goto(`${BASE}/team/ladder`);
    assert.match(await admin.textContent("#ladder-levels thead"), /Senior CSM/);
    await shot(admin, "team-ladder-en");
    await admin.goto(`${BASE}/team/incentives`);
    assert.match(await admin.textContent("#formula"), /at or above the gate/);
    await shot(admin, "team-incentives-en");
    await admin.goto(`${BASE}/reports/new?subject=touchpoints&g1=occurred_on&g1_bucket=month&g2=kind&agg=count&chart=line`);
    await admin.waitForSelector("#report-chart canvas");
    assert.match(await admin.textContent("#report-table thead"), /Date \(month\)/);
    await shot(admin, "reports-builder-en");
    await admin.goto(`${BASE}/reports`);
    assert.equal(await admin.textContent(".mainnav a.current"), "Reports");
    await shot(admin, "reports-list-en");
    await admin.goto(`${BASE}/no-such-page`);
    assert.match(await admin.textContent("h1"), /Page not found/);
    await shot(admin, "not-found-en");
    // Back to Japanese for whoever uses this admin next.
    await admin.goto(`${BASE}/settings`);
    await useLanguage(admin, "ja");
  });

  test("a viewer reads but cannot change anything", async () => {
    const ctx = await browser.newContext({ locale: "en-US", viewport: { width: 1360, height: 900 } });
    const viewer = await ctx.newPage();
    await signIn(viewer, VIEWER_EMAIL, VIEWER_PASSWORD);
    await viewer.goto(`${BASE}${accountPath}`);
    assert.equal(await viewer.$("#log form"), null, "no touchpoint form for a viewer");
    assert.match(await viewer.textContent(".flash.info"), /only/i);
    await shot(viewer, "account-viewer-en");
    // A hand-made request with a valid CSRF token is refused all the same.
    const status = await viewer.evaluate(async (path) => {
      const token = JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRF-Token"];
      const body = new URLSearchParams({ _csrf: token, kind: "note", subject: "should not be stored", date: "2026-01-01" });
      const resp = await fetch(`${path}/touchpoints`, { method: "POST", body });
      return resp.status;
    }, accountPath);
    assert.equal(status, 403);
    const resp = await viewer.goto(`${BASE}/settings/users`);
    assert.equal(resp.status(), 403);
    assert.match(await viewer.textContent("h1"), /Not allowed/);
    await shot(viewer, "forbidden-en");
    await ctx.close();
  });

  test("a demo CSM signs in with the printed log-in and edits only their own accounts", async () => {
    assert.ok(DEMO_CSM, "serve --demo printed a CSM to sign in as");
    const ctx = await browser.newContext({ locale: "ja-JP", viewport: { width: 1360, height: 900 } });
    const csm = await ctx.newPage();
    await signIn(csm, DEMO_CSM, ADMIN_PASSWORD);
    await useLanguage(csm, "ja");
    assert.equal(await csm.textContent("h1"), "マイポートフォリオ");
    await shot(csm, "portfolio-csm-ja");
    // An account from their own renewals list has the forms; the shared account may not.
    const own = await csm.getAttribute("section.card table.list tbody tr td a", "href");
    assert.ok(own, "the CSM has renewals in the demo");
    await csm.goto(`${BASE}${own}`);
    assert.ok(await csm.isVisible("#log form"), "a CSM logs touchpoints on their own account");
    const other = await csm.evaluate(async () => {
      // An account owned by someone else: the first of the table that is not the CSM's.
      const me = document.querySelector(".who").firstChild.textContent.trim();
      const resp = await fetch("/accounts?sort=-arr");
      const doc = new DOMParser().parseFromString(await resp.text(), "text/html");
      const row = [...doc.querySelectorAll("table.accounts tbody tr")].find((tr) => tr.children[7].textContent.trim() !== me);
      return row.querySelector("a").getAttribute("href");
    });
    await csm.goto(`${BASE}${other}`);
    assert.equal(await csm.$("#log form"), null, "no form on someone else's account");
    await ctx.close();
  });

  test("a form without the CSRF token is refused, and signing out ends the session", async () => {
    const status = await admin.evaluate(async (path) => {
      const body = new URLSearchParams({ kind: "note", subject: "forged", date: "2026-01-01" });
      const resp = await fetch(`${path}/touchpoints`, { method: "POST", body });
      return resp.status;
    }, accountPath);
    assert.equal(status, 403);
    await admin.goto(`${BASE}/`);
    await Promise.all([admin.waitForURL(/\/signin/), admin.click("header form[action='/signout'] button")]);
    await admin.goto(`${BASE}/accounts`);
    assert.match(admin.url(), /\/signin\?next=%2Faccounts|\/signin\?next=\/accounts/);
  });

  test("no page had a script error or a content-security-policy refusal", () => {
    assert.deepEqual(scriptErrors, []);
  });
});
