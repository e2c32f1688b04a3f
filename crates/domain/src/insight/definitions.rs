//! What each insight figure means, in English and Japanese: the API returns these beside the
//! figures and the web UI shows them one click away.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Definition {
    pub key: &'static str,
    pub en: &'static str,
    pub ja: &'static str,
}

const fn def(key: &'static str, en: &'static str, ja: &'static str) -> Definition {
    Definition { key, en, ja }
}

pub const DEFINITIONS: &[Definition] = &[
    def(
        "health_mix",
        "Live accounts (MRR above zero at the end of the period) and their ARR by health band at the end of the period; accounts without a score are counted as unscored.",
        "期間末に MRR がある顧客の数と ARR を、期間末のヘルスバンド別に数えたもの。スコアのない顧客は「未評価」。",
    ),
    def(
        "portfolio_score",
        "ARR-weighted health: Σ(score × ARR) / Σ ARR over live accounts with a score.",
        "ARR で重み付けしたヘルススコア：スコアのある顧客について Σ(スコア × ARR) / Σ ARR。",
    ),
    def(
        "start_mrr",
        "MRR of the cohort: the accounts with MRR above zero the day before the period starts.",
        "期首コホート（期間開始の前日に MRR がある顧客）の MRR 合計。",
    ),
    def(
        "logo_churn",
        "Cohort accounts with no MRR at the end of the period / cohort accounts.",
        "期末に MRR がなくなった期首コホートの顧客数 / 期首コホートの顧客数。",
    ),
    def(
        "grr",
        "Gross revenue retention: (start MRR − contraction − churn) / start MRR. Expansion does not count; at most 100 %.",
        "グロス収益維持率（GRR）：(期首 MRR − 縮小 − 解約) / 期首 MRR。拡大は含めない（最大 100 %）。",
    ),
    def(
        "nrr",
        "Net revenue retention: (start MRR + expansion − contraction − churn) / start MRR, over the cohort only.",
        "ネット収益維持率（NRR）：(期首 MRR + 拡大 − 縮小 − 解約) / 期首 MRR。期首コホートのみ。",
    ),
    def(
        "net_new_mrr_existing",
        "Net new MRR from existing customers: expansion − contraction − churn of the cohort in the period.",
        "既存顧客からの純増 MRR：期間中の期首コホートの拡大 − 縮小 − 解約。",
    ),
    def(
        "expansion_mrr",
        "MRR added by cohort accounts in the period (upsells and returns after a lapse).",
        "期間中に期首コホートの顧客が増やした MRR（アップセル、解約後の復帰）。",
    ),
    def(
        "contraction_mrr",
        "MRR given up by cohort accounts that stayed customers (fewer seats, a cheaper plan).",
        "顧客のまま減った MRR（席数の削減、下位プランへの変更）。",
    ),
    def(
        "churned_mrr",
        "MRR lost when a cohort account's revenue went to zero in the period.",
        "期間中に期首コホートの顧客の MRR がゼロになって失われた MRR。",
    ),
    def(
        "new_mrr",
        "MRR of accounts outside the cohort that became (or came back as) customers in the period.",
        "期首コホート外で、期間中に新規契約（または復帰）した顧客の MRR。",
    ),
    def(
        "retention_cost",
        "CS team cost over the period (the monthly cost in settings × months) / retained ARR, where retained ARR = (start MRR − contraction − churn) × 12.",
        "維持コスト：期間中の CS チームのコスト（設定の月額 × 月数）/ 維持した ARR。維持 ARR = (期首 MRR − 縮小 − 解約) × 12。",
    ),
    def(
        "engagement_coverage",
        "Live accounts with at least one touchpoint in the period / live accounts.",
        "エンゲージメント率：期間中に 1 回以上タッチポイントがあった顧客 / 期末に MRR がある顧客。",
    ),
    def(
        "gross_renewal_rate",
        "Among renewals decided in the period: (ARR up for renewal − ARR churned − ARR contracted) / ARR up for renewal.",
        "期間中に決まった更新について：(更新対象 ARR − 解約 ARR − 縮小 ARR) / 更新対象 ARR。",
    ),
    def(
        "net_renewal_rate",
        "Among renewals decided in the period: ARR after renewal (expansions included) / ARR up for renewal.",
        "期間中に決まった更新について：更新後 ARR（拡大を含む）/ 更新対象 ARR。",
    ),
    def(
        "expected_arr",
        "Risk-weighted forecast: Σ ARR × (1 − risk). Risk is 1 for a renewal called lost, 0 for one called commit, else the churn model's probability, else the churn rate of the account's health band among past renewals; a renewal with none counts at full value.",
        "リスク加重予測：Σ ARR × (1 − リスク)。リスクは「失注」なら 1、「確約」なら 0、それ以外は解約予測モデルの確率、なければ過去の更新での同じヘルスバンドの解約率。どれもなければ満額で数える。",
    ),
    def(
        "auc",
        "AUC of an indicator: the probability that an account that churned had a higher value, a lead time before its renewal, than one that renewed (Mann–Whitney; ties count half). 0.5 tells nothing; the further from 0.5, the better it separates.",
        "指標の AUC：更新日のリードタイム前の時点で、解約した顧客の値が更新した顧客の値より高い確率（Mann–Whitney、同値は 1/2）。0.5 は判別力なし。0.5 から離れるほど判別力が高い。",
    ),
    def(
        "separation",
        "max(AUC, 1 − AUC): how well the indicator alone separates churned from renewed accounts, whichever way it points.",
        "max(AUC, 1 − AUC)：向きを問わず、その指標だけで解約と更新をどれだけ分けられるか。",
    ),
    def(
        "effect_size",
        "Cohen's d: (mean of churned − mean of renewed) / pooled standard deviation.",
        "効果量（Cohen の d）：(解約群の平均 − 更新群の平均) / プールした標準偏差。",
    ),
    def(
        "health_score_auc",
        "The probability that a renewed account had a higher health score than a churned one, a lead time before the renewal, under today's scorecard. 1 is a perfect score, 0.5 a coin toss.",
        "リードタイム前の時点で、更新した顧客のヘルススコア（現在のスコアカードで計算）が解約した顧客より高い確率。1 なら完全、0.5 なら偶然と同じ。",
    ),
    def(
        "precision_top_decile",
        "Among the tenth of validation renewals with the highest predicted risk, the share that churned; compare with the base rate.",
        "検証期間の更新のうち予測リスクが上位 10 % のものが実際に解約した割合。全体の解約率と比べる。",
    ),
    def(
        "calibration",
        "Validation renewals in bins of predicted risk: the mean predicted probability beside the churn rate observed.",
        "検証期間の更新を予測リスクで区分し、予測確率の平均と実際の解約率を並べたもの。",
    ),
];

pub fn get(key: &str) -> Option<&'static Definition> {
    DEFINITIONS.iter().find(|d| d.key == key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_definition_is_written_in_both_languages_once() {
        let mut keys = std::collections::HashSet::new();
        for d in DEFINITIONS {
            assert!(keys.insert(d.key), "{} twice", d.key);
            assert!(!d.en.is_empty() && !d.ja.is_empty(), "{}", d.key);
        }
        assert!(get("nrr").is_some());
    }
}
