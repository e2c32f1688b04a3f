//! Company and person names, Japanese and English, built from parts so that hundreds of accounts
//! read as plausible and distinct.

use rand::seq::SliceRandom;
use rand::Rng;

const JP_COMPANY_STEMS: &[(&str, &str)] = &[
    ("さくら", "sakura"),
    ("みらい", "mirai"),
    ("ひかり", "hikari"),
    ("あおば", "aoba"),
    ("つばさ", "tsubasa"),
    ("富士", "fuji"),
    ("東洋", "toyo"),
    ("日本", "nihon"),
    ("大和", "yamato"),
    ("北斗", "hokuto"),
    ("青葉", "aoba"),
    ("若葉", "wakaba"),
    ("朝日", "asahi"),
    ("瑞穂", "mizuho"),
    ("光陽", "koyo"),
    ("銀河", "ginga"),
    ("紅葉", "momiji"),
    ("白山", "hakusan"),
    ("葵", "aoi"),
    ("蒼空", "sora"),
    ("昭和", "showa"),
    ("中央", "chuo"),
    ("関東", "kanto"),
    ("関西", "kansai"),
    ("九州", "kyushu"),
    ("北陸", "hokuriku"),
    ("湘南", "shonan"),
    ("丸の内", "marunouchi"),
    ("新橋", "shimbashi"),
    ("栄", "sakae"),
];

const JP_COMPANY_KINDS: &[(&str, &str)] = &[
    ("精機", "seiki"),
    ("商事", "shoji"),
    ("物産", "bussan"),
    ("製作所", "ss"),
    ("システムズ", "systems"),
    ("テクノロジー", "tech"),
    ("ホールディングス", "hd"),
    ("ロジスティクス", "logi"),
    ("工業", "kogyo"),
    ("電機", "denki"),
    ("ソリューションズ", "solutions"),
    ("フーズ", "foods"),
    ("ネットワークス", "networks"),
    ("建設", "kensetsu"),
    ("証券", "shoken"),
    ("メディカル", "medical"),
    ("不動産", "fudosan"),
    ("教育", "kyoiku"),
];

const EN_COMPANY_STEMS: &[&str] = &[
    "Acme",
    "Northwind",
    "Bluebird",
    "Summit",
    "Harbor",
    "Cedar",
    "Pioneer",
    "Atlas",
    "Beacon",
    "Horizon",
    "Keystone",
    "Lumen",
    "Meridian",
    "Orchard",
    "Quartz",
    "Redwood",
    "Sterling",
    "Trident",
    "Vertex",
    "Willow",
    "Zephyr",
    "Granite",
    "Falcon",
    "Copper",
    "Evergreen",
];

const EN_COMPANY_KINDS: &[&str] = &[
    "Labs",
    "Logistics",
    "Analytics",
    "Health",
    "Retail",
    "Systems",
    "Partners",
    "Foods",
    "Networks",
    "Robotics",
    "Software",
    "Capital",
    "Media",
    "Energy",
    "Learning",
];

const JP_FAMILY: &[(&str, &str)] = &[
    ("佐藤", "sato"),
    ("鈴木", "suzuki"),
    ("高橋", "takahashi"),
    ("田中", "tanaka"),
    ("伊藤", "ito"),
    ("渡辺", "watanabe"),
    ("山本", "yamamoto"),
    ("中村", "nakamura"),
    ("小林", "kobayashi"),
    ("加藤", "kato"),
    ("吉田", "yoshida"),
    ("山田", "yamada"),
    ("佐々木", "sasaki"),
    ("山口", "yamaguchi"),
    ("松本", "matsumoto"),
    ("井上", "inoue"),
    ("木村", "kimura"),
    ("林", "hayashi"),
    ("清水", "shimizu"),
    ("森", "mori"),
];

const JP_GIVEN: &[(&str, &str)] = &[
    ("翔太", "shota"),
    ("陽菜", "hina"),
    ("蓮", "ren"),
    ("結衣", "yui"),
    ("大輝", "daiki"),
    ("美咲", "misaki"),
    ("健太", "kenta"),
    ("さくら", "sakura"),
    ("拓海", "takumi"),
    ("葵", "aoi"),
    ("直樹", "naoki"),
    ("花子", "hanako"),
    ("誠", "makoto"),
    ("真由美", "mayumi"),
    ("亮", "ryo"),
    ("千尋", "chihiro"),
    ("悠斗", "yuto"),
    ("彩", "aya"),
];

const EN_FIRST: &[&str] = &[
    "Emma", "Liam", "Olivia", "Noah", "Ava", "Ethan", "Sophia", "Mason", "Mia", "Lucas", "Grace",
    "Henry", "Chloe", "Daniel", "Zoe", "Samuel", "Ella", "Jack",
];

const EN_LAST: &[&str] = &[
    "Smith", "Johnson", "Brown", "Garcia", "Miller", "Davis", "Wilson", "Taylor", "Clark", "Lewis",
    "Walker", "Young", "King", "Wright", "Hill", "Green",
];

/// A company: display name and a slug for its domain.
pub fn company(rng: &mut impl Rng, japanese: bool) -> (String, String) {
    if japanese {
        let (stem, stem_r) = pick(rng, JP_COMPANY_STEMS);
        let (kind, kind_r) = pick(rng, JP_COMPANY_KINDS);
        let name = if rng.gen_bool(0.7) {
            format!("株式会社{stem}{kind}")
        } else {
            format!("{stem}{kind}株式会社")
        };
        (name, format!("{stem_r}-{kind_r}"))
    } else {
        let stem = EN_COMPANY_STEMS.choose(rng).copied().unwrap_or("Acme");
        let kind = EN_COMPANY_KINDS.choose(rng).copied().unwrap_or("Labs");
        let suffix = ["Inc.", "Ltd.", "Corp.", "LLC"]
            .choose(rng)
            .copied()
            .unwrap_or("Inc.");
        (
            format!("{stem} {kind} {suffix}"),
            format!("{}{}", stem.to_lowercase(), kind.to_lowercase()),
        )
    }
}

/// A person: display name and the local part of an e-mail address.
pub fn person(rng: &mut impl Rng, japanese: bool) -> (String, String) {
    if japanese {
        let (family, family_r) = pick(rng, JP_FAMILY);
        let (given, given_r) = pick(rng, JP_GIVEN);
        (format!("{family} {given}"), format!("{given_r}.{family_r}"))
    } else {
        let first = EN_FIRST.choose(rng).copied().unwrap_or("Alex");
        let last = EN_LAST.choose(rng).copied().unwrap_or("Smith");
        (
            format!("{first} {last}"),
            format!("{}.{}", first.to_lowercase(), last.to_lowercase()),
        )
    }
}

fn pick<'a>(rng: &mut impl Rng, list: &'a [(&'a str, &'a str)]) -> (&'a str, &'a str) {
    list.choose(rng).copied().unwrap_or(("", ""))
}

pub const INDUSTRIES: &[&str] = &[
    "Manufacturing",
    "Retail",
    "Financial Services",
    "IT & Software",
    "Healthcare",
    "Logistics",
    "Education",
    "Media",
    "Real Estate",
    "Professional Services",
    "Construction",
    "Food & Beverage",
];

pub const JP_TITLES: &[&str] = &[
    "部長",
    "課長",
    "マネージャー",
    "主任",
    "担当",
    "リーダー",
    "取締役",
    "エンジニア",
];
pub const EN_TITLES: &[&str] = &[
    "Director",
    "Manager",
    "Team Lead",
    "Analyst",
    "Engineer",
    "VP Operations",
    "Specialist",
];

pub const TICKET_SUBJECTS_JA: &[&str] = &[
    "CSV インポートでエラーが出る",
    "レポートが表示されない",
    "ログインできない",
    "権限設定について",
    "API の利用上限について",
    "データ連携が止まっている",
    "請求書の再発行依頼",
    "ダッシュボードの表示が遅い",
    "ユーザー追加の方法",
    "通知メールが届かない",
];
pub const TICKET_SUBJECTS_EN: &[&str] = &[
    "CSV import fails",
    "Report does not load",
    "Cannot sign in",
    "Question about permissions",
    "API rate limit",
    "Integration sync stopped",
    "Invoice copy request",
    "Dashboard is slow",
    "How to add users",
    "Notification e-mails not arriving",
];
pub const TICKET_CATEGORIES: &[&str] = &[
    "bug",
    "how_to",
    "billing",
    "integration",
    "performance",
    "account",
];
