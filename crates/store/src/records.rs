//! The account's timeline records: support tickets, survey (NPS) answers and touchpoints.

use chrono::{DateTime, Utc};
use kizuna_domain::ids::{AccountId, ContactId, SurveyResponseId, TicketId, TouchpointId, UserId};
use kizuna_domain::page::Page;
use kizuna_domain::survey::{NewSurveyResponse, NpsScore, SurveyResponse, SurveyResponseDraft};
use kizuna_domain::ticket::{NewTicket, Ticket, TicketDraft};
use kizuna_domain::touchpoint::{NewTouchpoint, Touchpoint, TouchpointDraft};

use crate::audit::{audit, Actor};
use crate::contacts::require_account;
use crate::rows::{clamp_limit, parse, parse_opt};
use crate::{now, Result, Store, StoreError};

/// Refuses a contact that is not one of the account's people.
macro_rules! require_contact_of {
    ($tx:expr, $contact:expr, $account:expr) => {
        if let Some(contact) = $contact {
            let found: Option<i64> =
                sqlx::query_scalar("SELECT account_id FROM contacts WHERE id = $1")
                    .bind(contact.0)
                    .fetch_optional(&mut *$tx)
                    .await?;
            match found {
                None => {
                    return Err(StoreError::invalid(
                        "contact_id",
                        format!("no contact has id {contact}"),
                    ))
                }
                Some(a) if a != $account.0 => {
                    return Err(StoreError::invalid(
                        "contact_id",
                        format!("contact {contact} belongs to another account"),
                    ))
                }
                Some(_) => {}
            }
        }
    };
}

/// Lists one table's rows of an account, newest first, with the total.
macro_rules! list_of_account {
    ($store:expr, $row:ty, $columns:expr, $table:literal, $order:literal, $account:expr, $limit:expr, $offset:expr) => {{
        let limit = clamp_limit($limit);
        let offset = $offset.unwrap_or(0).max(0);
        let sql = format!(
            "SELECT {} FROM {} WHERE account_id = $1 ORDER BY {} DESC, id DESC LIMIT $2 OFFSET $3",
            $columns, $table, $order
        );
        let count = concat!("SELECT COUNT(*) FROM ", $table, " WHERE account_id = $1");
        let (total, rows): (i64, Vec<$row>) = on_pool!($store, |pool| {
            let total = sqlx::query_scalar(count).bind($account.0).fetch_one(pool).await?;
            let rows = sqlx::query_as(&sql).bind($account.0).bind(limit).bind(offset).fetch_all(pool).await?;
            (total, rows)
        });
        let items = rows.into_iter().map(TryInto::try_into).collect::<Result<Vec<_>>>()?;
        Ok(Page::new(items, total, limit, offset))
    }};
}

// ---------------------------------------------------------------------------------------------
// Tickets

const TICKET_COLUMNS: &str =
    "id, account_id, contact_id, external_id, subject, severity, status, category, opened_at, solved_at, created_at, updated_at";

#[derive(sqlx::FromRow)]
struct TicketRow {
    id: i64,
    account_id: i64,
    contact_id: Option<i64>,
    external_id: Option<String>,
    subject: String,
    severity: String,
    status: String,
    category: Option<String>,
    opened_at: DateTime<Utc>,
    solved_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<TicketRow> for Ticket {
    type Error = StoreError;
    fn try_from(r: TicketRow) -> Result<Self> {
        Ok(Ticket {
            id: TicketId(r.id),
            account_id: AccountId(r.account_id),
            contact_id: r.contact_id.map(ContactId),
            external_id: r.external_id,
            subject: r.subject,
            severity: parse(&r.severity, "severity")?,
            status: parse(&r.status, "status")?,
            category: r.category,
            opened_at: r.opened_at,
            solved_at: r.solved_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

impl Store {
    pub async fn list_tickets(
        &self,
        account: AccountId,
        limit: Option<i64>,
        offset: Option<i64>,
    ) -> Result<Page<Ticket>> {
        list_of_account!(
            self,
            TicketRow,
            TICKET_COLUMNS,
            "tickets",
            "opened_at",
            account,
            limit,
            offset
        )
    }

    pub async fn ticket(&self, id: TicketId) -> Result<Ticket> {
        let sql = format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE id = $1");
        let row: Option<TicketRow> = on_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(id.0)
            .fetch_optional(pool)
            .await?);
        row.ok_or_else(|| StoreError::not_found(format!("ticket {id}")))?
            .try_into()
    }

    pub async fn create_ticket(
        &self,
        account: Option<AccountId>,
        draft: TicketDraft,
        actor: &Actor,
    ) -> Result<Ticket> {
        let new = NewTicket::parse(draft, account, now())?;
        let ids = self.create_tickets(vec![new], actor).await?;
        let id = ids
            .first()
            .copied()
            .ok_or_else(|| StoreError::not_found("ticket"))?;
        self.ticket(TicketId(id)).await
    }

    /// Creates many in one transaction: all are stored, or none.
    pub async fn create_tickets(&self, rows: Vec<NewTicket>, actor: &Actor) -> Result<Vec<i64>> {
        Ok(in_tx!(self, |tx| {
            let mut ids = Vec::with_capacity(rows.len());
            for new in &rows {
                require_account!(tx, new.account_id);
                require_contact_of!(tx, new.contact_id, new.account_id);
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO tickets (account_id, contact_id, external_id, subject, severity, status, category, opened_at, \
                     solved_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
                )
                .bind(new.account_id.0)
                .bind(new.contact_id.map(|c| c.0))
                .bind(&new.external_id)
                .bind(&new.subject)
                .bind(new.severity.as_str())
                .bind(new.status.as_str())
                .bind(&new.category)
                .bind(new.opened_at)
                .bind(new.solved_at)
                .bind(now())
                .fetch_one(&mut *tx)
                .await?;
                ids.push(id);
            }
            audit!(
                tx,
                actor,
                "create",
                "ticket",
                ids.first().copied(),
                Some(format!("{} created", ids.len()))
            );
            ids
        }))
    }

    pub async fn update_ticket(
        &self,
        id: TicketId,
        patch: TicketDraft,
        actor: &Actor,
    ) -> Result<Ticket> {
        let current = self.ticket(id).await?;
        let new = NewTicket::parse(
            TicketDraft::from(&current).overlay(patch),
            None,
            current.opened_at,
        )?;
        in_tx!(self, |tx| {
            require_account!(tx, new.account_id);
            require_contact_of!(tx, new.contact_id, new.account_id);
            sqlx::query(
                "UPDATE tickets SET account_id = $1, contact_id = $2, external_id = $3, subject = $4, severity = $5, \
                 status = $6, category = $7, opened_at = $8, solved_at = $9, updated_at = $10 WHERE id = $11",
            )
            .bind(new.account_id.0)
            .bind(new.contact_id.map(|c| c.0))
            .bind(&new.external_id)
            .bind(&new.subject)
            .bind(new.severity.as_str())
            .bind(new.status.as_str())
            .bind(&new.category)
            .bind(new.opened_at)
            .bind(new.solved_at)
            .bind(now())
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
            audit!(tx, actor, "update", "ticket", Some(id.0), None::<String>);
        });
        self.ticket(id).await
    }
}

// ---------------------------------------------------------------------------------------------
// Survey responses

const SURVEY_COLUMNS: &str =
    "id, account_id, contact_id, external_id, survey, score, comment, responded_at, created_at";

#[derive(sqlx::FromRow)]
struct SurveyRow {
    id: i64,
    account_id: i64,
    contact_id: Option<i64>,
    external_id: Option<String>,
    survey: String,
    score: i64,
    comment: Option<String>,
    responded_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
}

impl TryFrom<SurveyRow> for SurveyResponse {
    type Error = StoreError;
    fn try_from(r: SurveyRow) -> Result<Self> {
        let score = NpsScore::parse(r.score).map_err(StoreError::Corrupt)?;
        Ok(SurveyResponse {
            id: SurveyResponseId(r.id),
            account_id: AccountId(r.account_id),
            contact_id: r.contact_id.map(ContactId),
            external_id: r.external_id,
            survey: r.survey,
            score,
            category: score.category(),
            comment: r.comment,
            responded_at: r.responded_at,
            created_at: r.created_at,
        })
    }
}

impl Store {
    pub async fn list_survey_responses(
        &self,
        account: AccountId,
        limit: Option<i64>,
        offset: Option<i64>,
    ) -> Result<Page<SurveyResponse>> {
        list_of_account!(
            self,
            SurveyRow,
            SURVEY_COLUMNS,
            "survey_responses",
            "responded_at",
            account,
            limit,
            offset
        )
    }

    pub async fn survey_response(&self, id: SurveyResponseId) -> Result<SurveyResponse> {
        let sql = format!("SELECT {SURVEY_COLUMNS} FROM survey_responses WHERE id = $1");
        let row: Option<SurveyRow> = on_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(id.0)
            .fetch_optional(pool)
            .await?);
        row.ok_or_else(|| StoreError::not_found(format!("survey response {id}")))?
            .try_into()
    }

    pub async fn create_survey_response(
        &self,
        account: Option<AccountId>,
        draft: SurveyResponseDraft,
        actor: &Actor,
    ) -> Result<SurveyResponse> {
        let new = NewSurveyResponse::parse(draft, account, now())?;
        let ids = self.create_survey_responses(vec![new], actor).await?;
        let id = ids
            .first()
            .copied()
            .ok_or_else(|| StoreError::not_found("survey_response"))?;
        self.survey_response(SurveyResponseId(id)).await
    }

    /// Creates many in one transaction: all are stored, or none.
    pub async fn create_survey_responses(
        &self,
        rows: Vec<NewSurveyResponse>,
        actor: &Actor,
    ) -> Result<Vec<i64>> {
        Ok(in_tx!(self, |tx| {
            let mut ids = Vec::with_capacity(rows.len());
            for new in &rows {
                require_account!(tx, new.account_id);
                require_contact_of!(tx, new.contact_id, new.account_id);
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO survey_responses (account_id, contact_id, external_id, survey, score, comment, responded_at, \
                     created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                )
                .bind(new.account_id.0)
                .bind(new.contact_id.map(|c| c.0))
                .bind(&new.external_id)
                .bind(&new.survey)
                .bind(i64::from(new.score))
                .bind(&new.comment)
                .bind(new.responded_at)
                .bind(now())
                .fetch_one(&mut *tx)
                .await?;
                ids.push(id);
            }
            audit!(
                tx,
                actor,
                "create",
                "survey_response",
                ids.first().copied(),
                Some(format!("{} created", ids.len()))
            );
            ids
        }))
    }

    pub async fn update_survey_response(
        &self,
        id: SurveyResponseId,
        patch: SurveyResponseDraft,
        actor: &Actor,
    ) -> Result<SurveyResponse> {
        let current = self.survey_response(id).await?;
        let new = NewSurveyResponse::parse(
            SurveyResponseDraft::from(&current).overlay(patch),
            None,
            current.responded_at,
        )?;
        in_tx!(self, |tx| {
            require_account!(tx, new.account_id);
            require_contact_of!(tx, new.contact_id, new.account_id);
            sqlx::query(
                "UPDATE survey_responses SET account_id = $1, contact_id = $2, external_id = $3, survey = $4, score = $5, \
                 comment = $6, responded_at = $7 WHERE id = $8",
            )
            .bind(new.account_id.0)
            .bind(new.contact_id.map(|c| c.0))
            .bind(&new.external_id)
            .bind(&new.survey)
            .bind(i64::from(new.score))
            .bind(&new.comment)
            .bind(new.responded_at)
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
            audit!(
                tx,
                actor,
                "update",
                "survey_response",
                Some(id.0),
                None::<String>
            );
        });
        self.survey_response(id).await
    }
}

// ---------------------------------------------------------------------------------------------
// Touchpoints

const TOUCHPOINT_COLUMNS: &str =
    "id, account_id, contact_id, author_id, external_id, kind, subject, notes, sentiment, \
    occurred_at, duration_minutes, created_at, updated_at";

#[derive(sqlx::FromRow)]
struct TouchpointRow {
    id: i64,
    account_id: i64,
    contact_id: Option<i64>,
    author_id: Option<i64>,
    external_id: Option<String>,
    kind: String,
    subject: String,
    notes: Option<String>,
    sentiment: Option<String>,
    occurred_at: DateTime<Utc>,
    duration_minutes: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<TouchpointRow> for Touchpoint {
    type Error = StoreError;
    fn try_from(r: TouchpointRow) -> Result<Self> {
        Ok(Touchpoint {
            id: TouchpointId(r.id),
            account_id: AccountId(r.account_id),
            contact_id: r.contact_id.map(ContactId),
            author_id: r.author_id.map(UserId),
            external_id: r.external_id,
            kind: parse(&r.kind, "kind")?,
            subject: r.subject,
            notes: r.notes,
            sentiment: parse_opt(r.sentiment.as_deref(), "sentiment")?,
            occurred_at: r.occurred_at,
            duration_minutes: r.duration_minutes,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

impl Store {
    pub async fn list_touchpoints(
        &self,
        account: AccountId,
        limit: Option<i64>,
        offset: Option<i64>,
    ) -> Result<Page<Touchpoint>> {
        list_of_account!(
            self,
            TouchpointRow,
            TOUCHPOINT_COLUMNS,
            "touchpoints",
            "occurred_at",
            account,
            limit,
            offset
        )
    }

    pub async fn touchpoint(&self, id: TouchpointId) -> Result<Touchpoint> {
        let sql = format!("SELECT {TOUCHPOINT_COLUMNS} FROM touchpoints WHERE id = $1");
        let row: Option<TouchpointRow> = on_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(id.0)
            .fetch_optional(pool)
            .await?);
        row.ok_or_else(|| StoreError::not_found(format!("touchpoint {id}")))?
            .try_into()
    }

    /// Records a touchpoint; a person's touchpoint is authored by them unless the draft says otherwise.
    pub async fn create_touchpoint(
        &self,
        account: Option<AccountId>,
        mut draft: TouchpointDraft,
        actor: &Actor,
    ) -> Result<Touchpoint> {
        if draft.author_id.is_none() {
            draft.author_id = actor.user_id().map(UserId);
        }
        let new = NewTouchpoint::parse(draft, account, now())?;
        let ids = self.create_touchpoints(vec![new], actor).await?;
        let id = ids
            .first()
            .copied()
            .ok_or_else(|| StoreError::not_found("touchpoint"))?;
        self.touchpoint(TouchpointId(id)).await
    }

    /// Creates many in one transaction: all are stored, or none.
    pub async fn create_touchpoints(
        &self,
        rows: Vec<NewTouchpoint>,
        actor: &Actor,
    ) -> Result<Vec<i64>> {
        Ok(in_tx!(self, |tx| {
            let mut ids = Vec::with_capacity(rows.len());
            for new in &rows {
                require_account!(tx, new.account_id);
                require_contact_of!(tx, new.contact_id, new.account_id);
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO touchpoints (account_id, contact_id, author_id, external_id, kind, subject, notes, sentiment, \
                     occurred_at, duration_minutes, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING id",
                )
                .bind(new.account_id.0)
                .bind(new.contact_id.map(|c| c.0))
                .bind(new.author_id.map(|u| u.0))
                .bind(&new.external_id)
                .bind(new.kind.as_str())
                .bind(&new.subject)
                .bind(&new.notes)
                .bind(new.sentiment.map(|s| s.as_str()))
                .bind(new.occurred_at)
                .bind(new.duration_minutes)
                .bind(now())
                .fetch_one(&mut *tx)
                .await?;
                ids.push(id);
            }
            audit!(
                tx,
                actor,
                "create",
                "touchpoint",
                ids.first().copied(),
                Some(format!("{} created", ids.len()))
            );
            ids
        }))
    }

    pub async fn update_touchpoint(
        &self,
        id: TouchpointId,
        patch: TouchpointDraft,
        actor: &Actor,
    ) -> Result<Touchpoint> {
        let current = self.touchpoint(id).await?;
        let new = NewTouchpoint::parse(
            TouchpointDraft::from(&current).overlay(patch),
            None,
            current.occurred_at,
        )?;
        in_tx!(self, |tx| {
            require_account!(tx, new.account_id);
            require_contact_of!(tx, new.contact_id, new.account_id);
            sqlx::query(
                "UPDATE touchpoints SET account_id = $1, contact_id = $2, author_id = $3, external_id = $4, kind = $5, \
                 subject = $6, notes = $7, sentiment = $8, occurred_at = $9, duration_minutes = $10, updated_at = $11 \
                 WHERE id = $12",
            )
            .bind(new.account_id.0)
            .bind(new.contact_id.map(|c| c.0))
            .bind(new.author_id.map(|u| u.0))
            .bind(&new.external_id)
            .bind(new.kind.as_str())
            .bind(&new.subject)
            .bind(&new.notes)
            .bind(new.sentiment.map(|s| s.as_str()))
            .bind(new.occurred_at)
            .bind(new.duration_minutes)
            .bind(now())
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
            audit!(
                tx,
                actor,
                "update",
                "touchpoint",
                Some(id.0),
                None::<String>
            );
        });
        self.touchpoint(id).await
    }
}
